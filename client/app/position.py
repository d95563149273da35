"""The progress bar's position: extrapolated from the device's clock, never jumping back.

Each SessionView gives a position clock (device clock + the link's offset estimate). A new
snapshot or a better offset can put the extrapolated position a few ms behind what is shown;
showing that would make the bar twitch backwards, so small steps back are held until the clock
catches up. A real seek, a new item, a transfer or a step back larger than SEEK_MS is shown at
once.
"""

from __future__ import annotations

from client.app.views import SessionView
from connect.wire import messages as m

SEEK_MS = 1500  # a step back larger than this is a seek, not clock noise


class SmoothPosition:
    """Holds the last shown position and what it belongs to."""

    def __init__(self) -> None:
        self._session: SessionView | None = None
        self._shown = 0
        self._key: tuple[str, str] = ("", "")

    def follow(self, session: SessionView) -> None:
        """Follow a new snapshot of the session."""
        key = (session.device_id, session.state.current_uid)
        jump = key != self._key or session.reason is m.StateChangeReason.TRANSFER
        self._session = session
        self._key = key
        if jump:
            self._shown = session.position_ms()

    def position_ms(self, now_us: int | None = None) -> int:
        """Return the position to show now."""
        if self._session is None:
            return 0
        target = self._session.position_ms(now_us)
        item = self._session.state.current_item
        duration = item.duration_ms if item is not None else 0
        if duration:
            target = min(target, duration)
        if target >= self._shown or self._shown - target > SEEK_MS:
            self._shown = target
        return self._shown
