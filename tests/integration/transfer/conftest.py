"""Fixtures for transfer tests between real receivers."""

from __future__ import annotations

from tests.media_server import media_server  # noqa: F401  (a fixture, used by name)
