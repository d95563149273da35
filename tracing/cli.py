"""`baton-traces`: the trace collector and live viewer for Connect interactions."""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import PackageNotFoundError, version


def _version() -> str:
    # tracing imports none of Baton's other packages (DESIGN.md), so no shared helper here.
    try:
        return version("baton")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """Return the `baton-traces` argument parser."""
    parser = argparse.ArgumentParser(
        prog="baton-traces",
        description="Collect OpenTelemetry traces from Baton devices and watch them live "
        "as a sequence diagram in a web viewer.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `baton-traces` console script."""
    build_parser().parse_args(argv)
    print("baton-traces: the collector is not built yet (see the README).", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
