"""AirPlay (RAOP) speakers as Baton devices: the player adapter (`bridges.airplay.player`,
imported where used: pyatv takes 0.4 s to import) and its pure rules."""

from bridges.airplay._status import DEFAULT_PORT, airplay_device_id, parse_address

__all__ = ["DEFAULT_PORT", "airplay_device_id", "parse_address"]
