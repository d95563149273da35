"""Pieces shared by Baton's three console scripts: version string and argparse conventions."""

from __future__ import annotations

import argparse
from importlib.metadata import PackageNotFoundError, version


def baton_version() -> str:
    """Return the installed distribution's version, or the source tree's when not installed."""
    try:
        return version("baton")
    except PackageNotFoundError:
        from connect import __version__

        return __version__


def add_version_flag(parser: argparse.ArgumentParser) -> None:
    """Give *parser* a `--version` flag that prints `PROG VERSION` and exits."""
    parser.add_argument("--version", action="version", version=f"%(prog)s {baton_version()}")
