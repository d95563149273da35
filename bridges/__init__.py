"""Devices people already own (MPD, and more kinds to come), as Baton devices.

A bridge process (`baton-bridge`, bridges/cli.py) finds the devices and presents each as a
Baton device on the wire: a `BridgedDevice` (its own session server and mDNS record, with
capabilities that say what it cannot do) around the `BridgedPlayer` of its kind (MPD:
bridges/mpd/). Controllers use it exactly as a Baton receiver. It imports `connect`,
`tracing`, `taskowner` and `httpguard` only (docs/architecture.md).
"""

from bridges.device import BridgedDevice, Listening
from bridges.errors import BridgeError, DeviceUnreachableError, PlayerError
from bridges.player import BridgedPlayer, PlayerDescription, PlayerState, PlayerStatus

__all__ = [
    "BridgeError",
    "BridgedDevice",
    "BridgedPlayer",
    "DeviceUnreachableError",
    "Listening",
    "PlayerDescription",
    "PlayerError",
    "PlayerState",
    "PlayerStatus",
]
