"""What a device gives its session server: its description, its state, and what it does.

The server (connect/session/server.py) speaks the protocol; a `SessionHost` (the receiver,
devices/receiver.py, or a test's fake) decides what commands and transfers do, and calls the
server's `broadcast()` after each change of its state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from connect.session.link import ControllerLink
from connect.wire import messages as m

__all__ = ["SessionHost", "TransferPhases", "TransferQueues"]

TransferPhases = Callable[[str], m.TransferPhase]
"""Tells a transfer's phase on this device by its id (the status endpoint asks it)."""
TransferQueues = Callable[[str, m.QueueRequest], m.QueuePage | None]
"""Gives a page of the queue this device had when it committed a transfer as its source (by
transfer id; None: not one it serves), for the target that fetches the rest of a long queue."""


class SessionHost(Protocol):
    """What a device provides to its session server."""

    def device_info(self) -> m.DeviceInfo:
        """Return the device's current description."""
        ...

    def current_state(self) -> m.PlaybackState:
        """Return the device's current state."""
        ...

    async def async_handle_command(self, command: m.Command, role: m.Role) -> m.CommandResult:
        """Apply a command from a controller with *role*; return its result."""
        ...

    async def async_handle_transfer(self, body: m.Body, link: ControllerLink) -> None:
        """Handle a transfer message (offer, commit, abort) from a controller."""
        ...
