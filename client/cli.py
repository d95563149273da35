"""`baton`: the listener's command — the app, the demo, and a headless controller CLI."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from connect.cli_common import add_version_flag

if TYPE_CHECKING:
    from tracing.setup import Tracing


_EXAMPLES = """\
examples:
  baton devices                          list the devices on the network
  baton pair 'Living Room'               pair with a device (it shows a 6-digit code)
  baton play 'Living Room' URL...        play http(s) URLs there
  baton status 'Living Room'             what it plays, where, how loud
  baton transfer 'Living Room' Car       move the music, same track and position
  baton COMMAND --help                   the options of one command

A device is named by its name or its id (`baton devices` lists both). A command tries the
address the device was last reached at first, and looks for it on the network (mDNS) when
it is not there; --connect HOST:PORT reaches one directly.
"""


def build_parser(*, subcommands: bool = True) -> argparse.ArgumentParser:
    """Return the `baton` argument parser (with every subcommand unless told otherwise)."""
    parser = argparse.ArgumentParser(
        prog="baton",
        description="Baton moves music between devices on your local network: "
        "same track, same position, same queue, no gap. Without a COMMAND it opens the app.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
        help="network interface name or address to look for devices on, for the app and every "
        "command (repeatable; default: all suitable interfaces, loopback left out)",
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
        "--trace-token",
        metavar="TOKEN",
        default=None,
        help="the collector's ingest token (baton-traces ingest add USER); default: "
        "$OTEL_EXPORTER_OTLP_HEADERS (the app: its Settings)",
    )
    parser.add_argument(
        "--exit-after-first-frame", action="store_true", help=argparse.SUPPRESS
    )  # the start-up benchmark
    parser.add_argument(
        "--exit-after-library", action="store_true", help=argparse.SUPPRESS
    )  # the 10 000-track benchmark: say when the library shows, quit once it is scanned
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
    # A command lives for a fraction of a second, and the cyclic collector's passes over the
    # modules it imports, and its last pass at exit, cost it ~40 ms of CPU (bench/README.md,
    # cli) to free nothing worth it: reference counting frees the rest. The demo and the app,
    # which live long, collect as usual; a caller's own setting (tests call main) is restored.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _command_line(argv, collecting)
    finally:
        if argv is None:  # the console script: the process ends now
            gc.freeze()
        elif collecting:
            gc.enable()


def _command_line(argv: list[str] | None, collecting: bool) -> int:
    """Run `baton` with a subcommand (or --help); see main()."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if collecting and (args.command == "demo" or not hasattr(args, "run")):
        gc.enable()
    if args.command == "demo":
        from client.demo import run_demo

        return run_demo(headless=args.headless, audio=args.audio, keep_viewer=args.keep_viewer)
    if hasattr(args, "run"):
        from client.commands import run_command
        from connect.errors import ConnectError

        # `baton --interface lo devices` means what `baton devices --interface lo` does.
        if hasattr(args, "interface"):
            args.interface = [*(args.app_interfaces or ()), *args.interface]

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
    from client.lifeline import controller_lifeline
    from client.targets import controller_identity
    from connect.access import CredentialStore
    from tracing.setup import TraceSettings, cache_spool_path, setup

    # The id the command's sessions present (stored once this controller has paired).
    args.identity = controller_identity(CredentialStore(), create=args.command == "pair")
    # Traced as the CLI of this host, not as that id: the app presents it too (client/lifeline.py).
    device_id, name = controller_lifeline("cli")
    settings = TraceSettings(
        args.trace_endpoint,
        device_id=device_id,
        device_name=name,
        device_type="controller",
        user=args.user,
        token=args.trace_token or "",
        spool=cache_spool_path(),
    )
    return setup(settings)


def _open_app(args: argparse.Namespace) -> int:
    """Open the window (`baton`, `baton --tv`); say so plainly when there is no display."""
    from client.app.display import has_display

    if not has_display() and not (args.exit_after_first_frame or args.exit_after_library):
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
            exit_after_library=args.exit_after_library,
            trace_collector=args.trace_endpoint or None,
            trace_user=args.user or None,
            trace_token=args.trace_token,
        )
    )


if __name__ == "__main__":
    sys.exit(main())
