"""What a device gives its session server: its description, its state, and what it does.

The server (connect/session/server.py) speaks the protocol; a `SessionHost` (the receiver,
devices/receiver.py, or a test's fake) decides what commands and transfers do, and calls the
server's `broadcast()` after each change of its state. A host that plays in groups is also a
`GroupHost`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from connect.session.link import ControllerLink
from connect.wire import messages as m

__all__ = ["GroupHost", "SessionHost", "TransferPhases", "TransferQueues"]

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


@runtime_checkable
class GroupHost(Protocol):
    """A host that plays in groups (protocol 1.2): the server hands it the group steps.

    A host without this hook (a bridge, a test's fake) has every group step refused
    UNSUPPORTED, changing nothing; a host with it speaks 1.2 in its DeviceInfo.
    """

    async def async_handle_group(
        self,
        body: m.GroupLead | m.GroupJoin | m.GroupLeave | m.GroupTimeline | m.GroupVolume,
        link: ControllerLink,
    ) -> None:
        """Carry out a group step from the controller of *link* (its answers go back on it)."""
        ...
