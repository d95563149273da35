"""Pieces shared by Baton's three console scripts: version string, argparse conventions, and
the `baton` command lines that messages suggest."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Sequence
from typing import Any


def baton_version() -> str:
    """Return Baton's version (the distribution's: pyproject.toml takes it from here)."""
    # Not importlib.metadata: scanning the installed distributions costs 20-50 ms of every
    # command's start-up, and the distribution's version is this one by construction.
    from connect import __version__

    return __version__


def add_version_flag(parser: argparse.ArgumentParser) -> None:
    """Give *parser* a `--version` flag that prints `PROG VERSION` and exits."""
    parser.add_argument("--version", action=_VersionAction)


def baton_command(*words: str) -> str:
    """Return a `baton` command line for a message, in backquotes, quoted as a shell needs.

    `baton_command("pair", "Living Room")` is "`baton pair 'Living Room'`": a user can paste it.
    """
    return f"`{shlex.join(['baton', *words])}`"


class _VersionAction(argparse.Action):
    """argparse's "version" action, with the version looked up only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("help", "show the version and exit")
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        print(f"{parser.prog} {baton_version()}")
        parser.exit()
