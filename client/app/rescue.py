"""When the playing device goes away: what was playing, and how to start it on another device.

Pure functions (no Qt, no sockets): the core calls them with the session it last saw and
the clock estimate of the link that just died, and with a way to remake a track's URL for
the device that takes over (the app's media server answers on an address per network).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from client.app import views as v
from connect.clock import ClockEstimate
from connect.wire import messages as m

UrlFor = Callable[[m.QueueItem], str]


def playback_lost(
    device_id: str,
    device_name: str,
    reason: str,
    state: m.PlaybackState | None,
    estimate: ClockEstimate | None,
    now_us: int,
) -> v.PlaybackLost | None:
    """Return what stopped with a device that left, or None if it held no music."""
    if state is None or state.current_item is None:
        return None
    device_now = estimate.to_device(now_us) if estimate is not None else state.clock.as_of_us
    position = state.clock.position_at(device_now)
    duration = state.current_item.duration_ms
    if duration:
        position = min(position, duration)
    stopped = replace(
        state,
        clock=m.PlaybackClock(position, state.clock.as_of_us, state.clock.rate, playing=False),
        status=m.PlaybackStatus.STOPPED,
    )
    return v.PlaybackLost(device_id, device_name, reason, stopped, position)


def why_words(reason: str) -> str:
    """Return why a device went away in a listener's words (the session's reason is for logs)."""
    if "goodbye" in reason:
        return "it was switched off or restarted"
    if "heartbeat" in reason or "answer" in reason or "timed out" in reason:
        return "it stopped answering: is it still on, and on the network?"
    return "its connection closed: it may have lost power or crashed"


def resume_elsewhere(lost: v.PlaybackLost, url_for: UrlFor) -> m.SetQueue:
    """Return the command that starts the lost queue on another device, where it stopped."""
    items = tuple(replace(item, url=url_for(item)) for item in lost.state.queue)
    return m.SetQueue(
        items, start_uid=lost.state.current_uid, start_position_ms=lost.position_ms, play=True
    )
