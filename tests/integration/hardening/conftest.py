"""Fixtures for the browser hardening tests: the viewer tests' collector and chromium."""

from __future__ import annotations

# Imported, not copied, so both suites drive the same browser the same way.
from tests.e2e.viewer.conftest import browser, collector

__all__ = ["browser", "collector"]
