"""A model of devices.player.Player for command tests: libVLC's answers, without libVLC.

It knows each URL's real length (which a controller often leaves out of the queue) and refuses
what the real player refuses: a start at or past the end (PositionOutOfRangeError, after the
load has replaced what was loaded), a URL that is not http(s) (MediaSchemeError, before
anything), a missing file (MediaNotFoundError). Positions do not move by themselves: the
test's clock stands still.
"""

from __future__ import annotations

from connect.media_urls import is_media_url
from devices.errors import (
    MediaNotFoundError,
    MediaSchemeError,
    NothingLoadedError,
    PositionOutOfRangeError,
)
from devices.player_types import PlayerClock, PlayerState

LENGTH_MS = 6_000  # every track is 6 s long, as in the report
NOW_US = 50_000_000
_HOLDING = (PlayerState.READY, PlayerState.PAUSED, PlayerState.PLAYING)


class ModelPlayer:
    """Holds one media (url, length, position) in one PlayerState, like the real player."""

    def __init__(self, url: str = "", state: PlayerState = PlayerState.IDLE, position: int = 0):
        self.url = url
        self.state = state
        self.length_ms: int | None = LENGTH_MS if url else None
        self.position = position
        self.volume = 100
        self.loads: list[tuple[str, int, bool]] = []

    def clock(self) -> PlayerClock:
        return PlayerClock(self.position, NOW_US, self.state is PlayerState.PLAYING)

    async def async_load(self, url: str, position_ms: int = 0, *, play: bool) -> None:
        if not is_media_url(url):
            raise MediaSchemeError("a receiver plays only http and https URLs", url=url)
        self.loads.append((url, position_ms, play))
        self.url, self.length_ms, self.state = url, None, PlayerState.LOADING
        if "missing" in url:
            self.state = PlayerState.FAILED
            raise MediaNotFoundError(f"{url} answered 404", url=url)
        self.length_ms = LENGTH_MS
        if position_ms >= LENGTH_MS:
            self.state = PlayerState.FAILED
            raise PositionOutOfRangeError(
                f"{url} is {LENGTH_MS} ms long; cannot start at {position_ms} ms", url=url
            )
        self.position = position_ms
        self.state = PlayerState.PLAYING if play else PlayerState.READY

    async def async_pause(self) -> None:
        if self.state is PlayerState.PLAYING:
            self.state = PlayerState.PAUSED

    async def async_play(self) -> None:
        if self.state in (PlayerState.READY, PlayerState.PAUSED):
            self.state = PlayerState.PLAYING
        elif self.state is not PlayerState.PLAYING:
            await self.async_load(self._loaded(), 0, play=True)

    async def async_seek(self, position_ms: int) -> None:
        if self.state in _HOLDING:
            self.position = min(position_ms, LENGTH_MS)
            return
        await self.async_load(self._loaded(), position_ms, play=False)

    async def async_stop(self) -> None:
        self.position = 0
        if self.state is not PlayerState.IDLE:
            self.state = PlayerState.STOPPED

    async def async_set_volume(self, volume: int) -> None:
        self.volume = volume

    def _loaded(self) -> str:
        if not self.url:
            raise NothingLoadedError("nothing is loaded")
        return self.url
