"""What both layouts (desktop and TV) need about the music playing: its album, and the
command a remote's media key means now."""

from __future__ import annotations

from typing import TYPE_CHECKING

from client.app.playability import TargetDevice, offer, skipped_notice
from client.navigation import MediaAction
from connect.media_capability import library_path_of
from connect.wire import messages as m

if TYPE_CHECKING:
    from client.app import views as v
    from client.app.bridge import Bridge
    from client.app.library import Album, Library, Track

VOLUME_STEP = 5


class AlbumIndex:
    """Finds the album of a queue item from its URL (the media server's path in the folder)."""

    def __init__(self) -> None:
        self._by_path: dict[str, Album] = {}

    def load(self, library: Library) -> None:
        """Index *library*'s tracks by their path inside the music folder."""
        self._by_path = library.albums_by_path()  # string work: no syscall per track

    def album_of(self, item: m.QueueItem | None) -> Album | None:
        """Return the album *item* comes from, or None (not from this folder, or no item)."""
        if item is None:
            return None
        return self._by_path.get(library_path_of(item.url))


def media_action(key: MediaAction, state: m.PlaybackState | None) -> m.Action | None:
    """Return the command *key* means for the session in *state* (None: nothing to do)."""
    playing = bool(state and state.clock.playing)
    volume = state.volume if state else 50
    actions: dict[MediaAction, m.Action] = {
        MediaAction.PLAY_PAUSE: m.Pause() if playing else m.Resume(),
        MediaAction.PLAY: m.Resume(),
        MediaAction.PAUSE: m.Pause(),
        MediaAction.NEXT: m.SkipNext(),
        MediaAction.PREVIOUS: m.SkipPrevious(),
        MediaAction.VOLUME_UP: m.SetVolume(min(100, volume + VOLUME_STEP)),
        MediaAction.VOLUME_DOWN: m.SetVolume(max(0, volume - VOLUME_STEP)),
        MediaAction.STOP: m.Pause(),
    }
    return actions.get(key)


def title_and_credit(state: m.PlaybackState) -> tuple[str, str]:
    """Return what both layouts show for the current item: its title, and the line under it
    (artist · album; for a radio, what the station says is on and "station · Live")."""
    item = state.current_item
    if item is None:
        return "Nothing playing", ""
    title = item.title or item.url.rsplit("/", 1)[-1]
    credit = " · ".join(x for x in (item.artist, item.album) if x)
    on = state.now_playing if state.live else None
    if state.live:
        station = on.station if on else ""
        title = (on.title or on.station or title) if on else title
        credit = " · ".join(x for x in (station, "Live") if x)
    return title, credit


def play_playable(
    bridge: Bridge,
    tracks: tuple[Track, ...],
    start: int,
    device: TargetDevice | None,
    *,
    shuffle: bool = False,
) -> tuple[bool, v.Notice | None]:
    """Send the tracks of *tracks* that *device* can play, from *start* or shuffled; return
    whether any were sent and what to say of those left out."""
    chosen = offer(tracks, start, device)
    if chosen.tracks and shuffle:
        bridge.shuffle_all(chosen.tracks)
    elif chosen.tracks:
        bridge.play(chosen.tracks, chosen.start)
    return bool(chosen.tracks), skipped_notice(chosen)
