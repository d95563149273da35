"""Fixtures for the interoperability tests: a media server for the receiver to play."""

from __future__ import annotations

from tests.media_server import media_server  # noqa: F401  (a fixture, used by name)
