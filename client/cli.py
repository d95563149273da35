"""`baton`: the listener's command — the app, the demo, and a headless controller CLI."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from connect.cli_common import add_version_flag

if TYPE_CHECKING:
    from tracing.setup import Tracing


def build_parser(*, subcommands: bool = True) -> argparse.ArgumentParser:
    """Return the `baton` argument parser (with every subcommand unless told otherwise)."""
    parser = argparse.ArgumentParser(
        prog="baton",
        description="Baton moves music between devices on your local network: "
        "same track, same position, same queue, no gap.",
    )
    add_version_flag(parser)
    parser.add_argument("--tv", action="store_true", help="open the full-screen TV layout")
    parser.add_argument(
        "--music-folder", type=Path, metavar="DIR", help="the music to offer (default: ~/Music)"
    )
    parser.add_argument("--name", metavar="NAME", help="this computer's device name")
    parser.add_argument(
        "--interface",
        dest="app_interfaces",
        action="append",
        metavar="IFACE",
        help="where the app looks for devices (repeatable; default: all suitable interfaces)",
    )
    parser.add_argument(
        "--audio",
        dest="app_audio",
        default="default",
        metavar="OUT",
        help="where 'This computer' plays: default (the sound card), afile:PATH, none",
    )
    parser.add_argument(
        "--trace-endpoint",
        metavar="URL",
        default=os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", ""),
        help="send traces to this collector (`baton-traces serve`), e.g. http://127.0.0.1:4318 "
        "(default: $OTEL_EXPORTER_OTLP_ENDPOINT, else no tracing)",
    )
    parser.add_argument(
        "--user",
        metavar="NAME",
        default="",
        help="the trace viewer user whose devices include this one (sent pseudonymised)",
    )
    parser.add_argument(
        "--exit-after-first-frame", action="store_true", help=argparse.SUPPRESS
    )  # the start-up benchmark
    if not subcommands:
        return parser
    from client.commands import add_commands

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
    demo.add_argument(
        "--keep-viewer",
        action="store_true",
        help="after the headless tour, keep its trace viewer running until Ctrl-C",
    )
    add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `baton` console script."""
    # Opening the window is the common case and start-up time counts there (<= 1.5 s to the
    # first frame): the controller commands' imports (aiohttp, zeroconf) are left to the app's
    # core thread unless a subcommand (or --help) is asked for.
    words = list(sys.argv[1:] if argv is None else argv)
    if not {"-h", "--help"} & set(words):
        app_only, rest = build_parser(subcommands=False).parse_known_args(words)
        if not rest:
            return _open_app(app_only)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        from client.demo import run_demo

        return run_demo(headless=args.headless, audio=args.audio, keep_viewer=args.keep_viewer)
    if hasattr(args, "run"):
        from client.commands import run_command
        from connect.errors import ConnectError

        try:
            tracing = _start_tracing(args)
        except (ValueError, ConnectError) as exc:  # ConnectError: a damaged credentials file
            print(f"baton: {exc}", file=sys.stderr)
            return 2
        try:
            return run_command(args)
        finally:
            if tracing is not None:
                tracing.shutdown()  # sends what is pending, or spools it for the next run
    return _open_app(args)


def _start_tracing(args: argparse.Namespace) -> Tracing | None:
    """Configure the OpenTelemetry SDK for a controller command when asked (else import nothing)."""
    if not args.trace_endpoint:
        return None
    from client.commands import controller_identity
    from connect.credentials import CredentialStore
    from tracing.setup import TraceSettings, cache_spool_path, setup

    # The id the command's sessions present (stored once this controller has paired).
    args.identity = controller_identity(CredentialStore(), create=args.command == "pair")
    settings = TraceSettings(
        args.trace_endpoint,
        device_id=args.identity.id,
        device_name=f"baton {args.command}",
        device_type="controller",
        user=args.user,
        spool=cache_spool_path(),
    )
    return setup(settings)


def _open_app(args: argparse.Namespace) -> int:
    """Open the window (`baton`, `baton --tv`); say so plainly when there is no display."""
    from client.app.display import has_display

    if not has_display() and not args.exit_after_first_frame:
        print(
            "baton: no display (DISPLAY/WAYLAND_DISPLAY unset or QT_QPA_PLATFORM=offscreen); "
            "try `baton demo --headless` or the controller commands (`baton --help`)",
            file=sys.stderr,
        )
        return 2
    from client.app.main import LaunchOptions, run_app

    return run_app(
        LaunchOptions(
            tv=True if args.tv else None,
            music_folder=args.music_folder,
            device_name=args.name,
            interfaces=tuple(args.app_interfaces) if args.app_interfaces else None,
            local_audio=args.app_audio,
            exit_after_first_frame=args.exit_after_first_frame,
            trace_collector=args.trace_endpoint or None,
            trace_user=args.user or None,
        )
    )


if __name__ == "__main__":
    sys.exit(main())
