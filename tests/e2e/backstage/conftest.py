"""The browser fixture of the viewer's tests: Debian's chromium under Playwright."""

from tests.e2e.viewer.conftest import browser

__all__ = ["browser"]
