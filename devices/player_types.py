"""The player's public values: its states, its position clock and the events it reports."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from devices.errors import ReceiverError


class PlayerState(enum.Enum):
    """Where the player is; READY means pre-rolled: paused at the position, audio buffered."""

    IDLE = "idle"
    LOADING = "loading"
    READY = "ready"
    PLAYING = "playing"
    PAUSED = "paused"
    ENDED = "ended"
    STOPPED = "stopped"
    FAILED = "failed"
    CLOSED = "closed"


@dataclass(frozen=True)
class PlayerClock:
    """Content position `position_ms` holds at `as_of_us` (monotonic µs); advances if playing."""

    position_ms: int
    as_of_us: int
    playing: bool

    def position_at(self, at_us: int) -> int:
        """Return the content position this clock predicts at *at_us*."""
        if not self.playing:
            return self.position_ms
        # To the nearest ms: a floor would put a stop-first target's start, taken from here,
        # half a millisecond back on average (content heard twice).
        return self.position_ms + (at_us - self.as_of_us + 500) // 1000


@dataclass(frozen=True)
class StateChanged:
    """The player moved to `state`; `clock` is the position as of that moment."""

    state: PlayerState
    clock: PlayerClock
    url: str


@dataclass(frozen=True)
class TrackEnded:
    """The media played to its end (never a silent stop)."""

    url: str
    position_ms: int


@dataclass(frozen=True)
class TrackChanged:
    """Gapless: the next track's first sample followed the previous one's last at `at_us`."""

    previous_url: str
    url: str
    at_us: int


@dataclass(frozen=True)
class LengthKnown:
    """libVLC has parsed the media at `url` and found it `length_ms` long."""

    url: str
    length_ms: int


@dataclass(frozen=True)
class PlaybackFailed:
    """Playback stopped because of `error`, after the load had succeeded."""

    url: str
    error: ReceiverError


@dataclass(frozen=True)
class OutputStarted:
    """A play stretch's first sample was presented at `at_us` (device clock, monotonic µs).

    `exact`: `at_us` is the sample's presentation instant (capture output); otherwise it is the
    resume call's return plus an assumed output latency. `position_ms` is the content position
    then, from the player's clock (to ~10 ms).
    """

    at_us: int
    position_ms: int
    exact: bool


@dataclass(frozen=True)
class OutputStopped:
    """A play stretch's last sample was presented at `at_us` (pause, stop, end, fade-out end).

    `exact` as for OutputStarted; otherwise `at_us` is when the pause, stop or end was seen.
    """

    at_us: int
    position_ms: int
    exact: bool


@dataclass(frozen=True)
class StreamInfo:
    """What libVLC knows of the media at `url`: whether it seeks, its time, what it says is on.

    `now_playing` is the stream's own title (ICY StreamTitle), `title` libVLC's title (the
    station's `icy-name` for a radio, else the file's name); "" when not said.
    """

    url: str
    seekable: bool
    time_ms: int
    now_playing: str
    title: str


PlayerEvent = (
    StateChanged
    | TrackEnded
    | TrackChanged
    | LengthKnown
    | PlaybackFailed
    | OutputStarted
    | OutputStopped
)
