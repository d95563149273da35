"""Fixtures for transfer tests between real receivers."""

from __future__ import annotations

from tests.corpus import corpus  # noqa: F401  (a fixture, used by name)
from tests.media_server import media_server  # noqa: F401  (a fixture, used by name)
