"""`baton-traces`: the trace collector and live viewer for Connect interactions.

baton-traces serve [--host H] [--port N] [--db PATH] [--forward URL] [--open-ingest]
baton-traces export --db PATH --format otlp-json|otlp-json-logs|chrome|mermaid [--trace-id ID]
                    [--output F]
baton-traces user add|list|remove|rotate|role ...   (viewer users; a token is the last line)
baton-traces ingest add|remove NAME [--label L]      (devices' ingest tokens; ditto)

Once listening, `serve` prints exactly one line on stdout, `baton-traces: collecting on
http://HOST:PORT/`, so a script that passes `--port 0` can read the port (client/demo.py does);
logs go to stderr. SIGINT or SIGTERM stops it cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from tracing import _cli_users, _export, _guard, _views
from tracing._query import EVERYTHING, Filters
from tracing._server import CollectorConfig, async_run_forever
from tracing._store import Store

DEFAULT_DB = "baton-traces.sqlite3"
_LOG = logging.getLogger(__name__)


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
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the collector and the web viewer")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    serve.add_argument("--port", type=int, default=4318, help="port (default: 4318, OTLP/HTTP)")
    serve.add_argument("--db", default=DEFAULT_DB, help=f"SQLite file (default: {DEFAULT_DB})")
    serve.add_argument(
        "--forward",
        default="",
        metavar="URL",
        help="also send every OTLP request on to this OTLP/HTTP receiver, e.g. an "
        "OpenTelemetry Collector at http://otel:4318",
    )
    serve.add_argument(
        "--retention-days", type=float, default=7.0, help="delete records older than this"
    )
    serve.add_argument(
        "--retention-mb", type=float, default=1024.0, help="keep the stored data under this size"
    )
    serve.add_argument(
        "--open-ingest",
        action="store_true",
        help="accept traces without an ingest token, filed under the user their devices name "
        "(a laptop's own collector; said at start)",
    )
    serve.add_argument("-v", "--verbose", action="store_true", help="log at debug level")

    export = commands.add_parser("export", help="write stored traces in another format")
    export.add_argument("--db", default=DEFAULT_DB)
    export.add_argument(
        "--format",
        required=True,
        choices=_export.FORMATS,
        help="otlp-json: the spans, one request POST /v1/traces accepts; otlp-json-logs: the "
        "events, one request POST /v1/logs accepts; chrome: Perfetto/chrome://tracing; "
        "mermaid: a sequence diagram",
    )
    export.add_argument("--trace-id", default="", help="only this trace (32 hex digits)")
    export.add_argument("--output", "-o", default="-", help="file to write (default: stdout)")

    _cli_users.add_parsers(commands, DEFAULT_DB)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `baton-traces` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.INFO,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        config = CollectorConfig(
            db=Path(args.db),
            host=args.host,
            port=args.port,
            forward=args.forward,
            retention_age_s=args.retention_days * 86400,
            retention_bytes=int(args.retention_mb * 1024 * 1024),
            open_ingest=args.open_ingest,
        )
        warning = exposure_warning(args.host, open_ingest=args.open_ingest)
        if warning:
            _LOG.warning("%s", warning)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(async_run_forever(config))
        return 0
    if args.command == "export":
        return _run_export(args)
    return _cli_users.run(args)


def exposure_warning(host: str, open_ingest: bool = False) -> str:
    """Return a warning if binding *host* exposes the collector beyond this machine, else ""."""
    if _guard.is_loopback_host(host):
        return ""
    if open_ingest:
        return (
            f"listening on {host} with --open-ingest: anyone who can reach it may send traces "
            "as any user; viewer tokens cross the network in clear unless a TLS proxy is in front"
        )
    return (
        f"listening on {host}: viewer and ingest tokens cross the network in clear unless a "
        "TLS proxy is in front"
    )


def _run_export(args: argparse.Namespace) -> int:
    if not Path(args.db).exists():
        print(f"baton-traces: no database at {args.db}", file=sys.stderr)
        return 1
    store = Store(args.db)
    try:
        rows = store.latest(EVERYTHING, Filters(trace=args.trace_id), 1_000_000)
        names = _views.device_names(store.connection, EVERYTHING)
    finally:
        store.close()
    text = _export.render(args.format, rows, names)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
