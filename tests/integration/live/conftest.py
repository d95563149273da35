"""Fixtures for the live-stream tests: the station, and its programme encoded once."""

from __future__ import annotations

from tests.live_station import programme, station  # noqa: F401  (fixtures, used by name)
