"""`baton-receiver`: run a Baton receiver (speaker, car, TV) on this machine."""

from __future__ import annotations

import argparse
import sys

from connect.cli_common import add_version_flag


def build_parser() -> argparse.ArgumentParser:
    """Return the `baton-receiver` argument parser."""
    parser = argparse.ArgumentParser(
        prog="baton-receiver",
        description="Run a Baton receiver: it advertises itself on the local network and "
        "plays what a Baton controller sends it.",
    )
    add_version_flag(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `baton-receiver` console script."""
    build_parser().parse_args(argv)
    print("baton-receiver: the receiver daemon is not built yet (see the README).", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
