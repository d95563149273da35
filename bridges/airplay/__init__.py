"""AirPlay (RAOP) speakers as Baton devices: the player adapter and its pure rules."""

from bridges.airplay._status import DEFAULT_PORT, airplay_device_id, parse_address
from bridges.airplay.player import AirPlayPlayer

__all__ = ["DEFAULT_PORT", "AirPlayPlayer", "airplay_device_id", "parse_address"]
