"""The values a controller's `DeviceConnection` works with: where a device is, what it reports.

The events are what a connection tells its listeners; a `TokenKeeper` is where it finds the
token to present; a `Resolver` finds a device's `Endpoint` (connect.endpoint) again before each
attempt. connect.session.connection re-exports them all: import them from there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from connect.endpoint import Endpoint
from connect.wire import messages as m

Resolver = Callable[[], Awaitable[Endpoint]]


# ------------------------------------------------------------------------------ events


@dataclass(frozen=True, slots=True)
class Connected:
    """The session is up."""

    device_id: str
    welcome: m.Welcome


@dataclass(frozen=True, slots=True)
class StateChanged:
    """The device pushed a new state."""

    device_id: str
    snapshot: m.StateSnapshot


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The session ended; `reason` says why in plain words; `goodbye`: the device ended it on
    purpose (a Goodbye: shutting down, ...), not a lost link."""

    device_id: str
    reason: str
    goodbye: bool = False


@dataclass(frozen=True, slots=True)
class TransferReply:
    """A transfer message from the device (Ready, Rejected, Done, Aborted)."""

    device_id: str
    body: m.TransferReady | m.TransferRejected | m.TransferDone | m.TransferAborted
    traceparent: str


@dataclass(frozen=True, slots=True)
class GroupMessage:
    """A group message from the device (protocol 1.2): GroupDone, GroupRefused, GroupTimeline."""

    device_id: str
    body: m.GroupDone | m.GroupRefused | m.GroupTimeline


@dataclass(frozen=True, slots=True)
class AccessDenied:
    """The device refused us for good (not paired, or our token revoked); no more retries."""

    device_id: str
    revoked: bool  # True: the token was revoked (and forgotten); False: pairing is needed
    message: str


ConnectionEvent = (
    Connected | StateChanged | Disconnected | TransferReply | GroupMessage | AccessDenied
)


class TokenKeeper(Protocol):
    """Where a connection finds the token to present, and forgets one the device revoked."""

    def token_for(self, device_id: str) -> str:
        """Return the token for *device_id*, or "" when there is none."""
        ...

    def forget_token(self, device_id: str, token: str) -> None:
        """Drop *device_id*'s credential if it still holds *token*."""
        ...
