"""Fixtures shared by the player's unit tests."""

from tests.unit.devices.test_player_logic import rig  # noqa: F401  (a fixture, used by name)
