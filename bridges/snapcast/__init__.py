"""A Snapcast server's groups as Baton devices: the player adapter, its feed, its pure rules."""

from bridges.snapcast._status import (
    DEFAULT_BUFFER_MS,
    DEFAULT_PORT,
    SourceClaims,
    parse_address,
    snapcast_device_id,
)
from bridges.snapcast.groups import GroupWatch
from bridges.snapcast.player import SnapcastPlayer

__all__ = [
    "DEFAULT_BUFFER_MS",
    "DEFAULT_PORT",
    "GroupWatch",
    "SnapcastPlayer",
    "SourceClaims",
    "parse_address",
    "snapcast_device_id",
]
