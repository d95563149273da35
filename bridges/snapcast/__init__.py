"""A Snapcast server's groups as Baton devices: the player adapter, its feed, its pure rules."""

from bridges.snapcast._status import (
    DEFAULT_BUFFER_MS,
    DEFAULT_PORT,
    SourceClaims,
    parse_address,
    snapcast_device_id,
)
from bridges.snapcast.player import SnapcastPlayer, snapcast_groups

__all__ = [
    "DEFAULT_BUFFER_MS",
    "DEFAULT_PORT",
    "SnapcastPlayer",
    "SourceClaims",
    "parse_address",
    "snapcast_device_id",
    "snapcast_groups",
]
