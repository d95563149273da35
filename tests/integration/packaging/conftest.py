"""Fixtures for the packaging and device-maker tests."""

from __future__ import annotations

from tests.media_server import media_server  # noqa: F401  (a fixture, used by name)
