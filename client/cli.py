"""`baton`: the listener's command — the app, the demo, and a headless controller CLI."""

from __future__ import annotations

import argparse
import sys

from client.commands import add_commands, run_command
from connect.cli_common import add_version_flag


def build_parser() -> argparse.ArgumentParser:
    """Return the `baton` argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="baton",
        description="Baton moves music between devices on your local network: "
        "same track, same position, same queue, no gap.",
    )
    add_version_flag(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="show what Baton can do on this machine, on loopback only")
    demo.add_argument("--headless", action="store_true", help="no window: print each step")
    demo.add_argument(
        "--audio",
        default="afile",
        metavar="OUT",
        help="receivers' audio output: afile (record to WAV files, the default), none, or "
        "default (this machine's sound card: you hear the music move)",
    )
    add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `baton` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        from client.demo import run_demo

        return run_demo(headless=args.headless, audio=args.audio)
    if hasattr(args, "run"):
        return run_command(args)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
