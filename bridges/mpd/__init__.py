"""Music Player Daemon as a Baton device: the player adapter and its pure rules."""

from bridges.mpd._status import DEFAULT_PORT, mpd_device_id, parse_address
from bridges.mpd.player import MpdPlayer

__all__ = ["DEFAULT_PORT", "MpdPlayer", "mpd_device_id", "parse_address"]
