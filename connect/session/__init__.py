"""A Connect session, both ends: the device's server and the controller's connection.

Device side: `SessionServer` speaks the protocol for a `SessionHost` and gives it one
`ControllerLink` per connected controller; `playback` holds the session rules (commands in,
new state and player actions out). Controller side: `DeviceConnection` keeps one session to
a device found at an `Endpoint`, reconnecting, and tells its listeners `ConnectionEvent`s;
its WebSocket is aiohttp's, or the lean client's (`async_lean_dial`) where aiohttp's import costs.

The names are loaded on first use (PEP 562): a controller never loads the server and its
aiohttp.web (~20 ms of every `baton` command's start-up), nor a device the controller's side.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connect.session._socket import Dial, async_lean_dial
    from connect.session.connection import (
        AccessDenied,
        Connected,
        ConnectionEvent,
        DeviceConnection,
        Disconnected,
        Endpoint,
        StateChanged,
    )
    from connect.session.server import ControllerLink, SessionHost, SessionServer, TransferPhases

__all__ = [
    "AccessDenied",
    "Connected",
    "ConnectionEvent",
    "ControllerLink",
    "DeviceConnection",
    "Dial",
    "Disconnected",
    "Endpoint",
    "SessionHost",
    "SessionServer",
    "StateChanged",
    "TransferPhases",
    "async_lean_dial",
]

_HOMES = {
    **dict.fromkeys(("ControllerLink", "SessionHost", "SessionServer", "TransferPhases"), "server"),
    **dict.fromkeys(("Dial", "async_lean_dial"), "_socket"),
}


def __getattr__(name: str) -> object:
    """Load a public name from the module that defines it, on first use."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = _HOMES.get(name, "connection")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
