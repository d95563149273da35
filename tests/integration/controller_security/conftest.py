"""Fixtures for the controller against real receivers in pin mode."""

from __future__ import annotations

from tests.media_server import media_server  # noqa: F401  (a fixture, used by name)
