"""`baton-receiver`: run a Baton receiver (speaker, car, TV) on this machine."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connect.cli_common import add_version_flag
from connect.errors import ConnectError
from devices import _access_cli
from devices.check import run_check_command
from devices.config import (
    DEVICE_TYPES,
    PAIRING_MODES,
    ConfigError,
    ReceiverConfig,
    build_config,
    read_config_file,
)
from devices.errors import LibVLCUnavailableError, ReceiverError
from devices.receiver import Receiver
from devices.service import async_serve
from httpguard import raise_descriptor_limit

if TYPE_CHECKING:
    from tracing.setup import Tracing

_LOG = logging.getLogger("baton-receiver")

EXAMPLE = """\
examples:
  baton-receiver --name "Living Room" --interface eth0
  baton-receiver --name Car --type car --audio-output alsa:hw:0 --max-volume 80
  baton-receiver --name Test --interface lo --audio-output afile:/tmp/played.wav
  baton-receiver --config /etc/baton/receiver.toml
  baton-receiver tokens list --state-dir /var/lib/baton
  baton-receiver tokens revoke 0a1b2c3d
  baton-receiver pairing-code

Every flag can also be set in the TOML file given with --config (same names, with - or _);
flags win. By default (--pairing pin) a controller pairs with the 6-digit code the receiver
logs and writes to STATE_DIR/pairing-code, and talks to it over TLS; --pairing open lets
anyone on the network control it, over plain HTTP.
"""


def build_parser() -> argparse.ArgumentParser:
    """Return the `baton-receiver` argument parser."""
    parser = argparse.ArgumentParser(
        prog="baton-receiver",
        description="Run a Baton receiver: it advertises itself on the local network and "
        "plays what Baton controllers send it.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_version_flag(parser)
    parser.add_argument("--config", type=Path, metavar="FILE", help="TOML settings file")
    parser.add_argument("--name", help='name shown to listeners (default "Baton Receiver")')
    parser.add_argument("--type", choices=DEVICE_TYPES, help="device type (default speaker)")
    parser.add_argument("--port", type=int, help="TCP port; 0 picks a free one (default 0)")
    parser.add_argument(
        "--interface",
        action="append",
        dest="interfaces",
        metavar="IFACE",
        help="interface name or address to listen and advertise on (repeatable); default: "
        "every interface except loopback, container bridges and link-local addresses",
    )
    parser.add_argument(
        "--audio-output",
        metavar="OUT",
        help="default | alsa:DEVICE | none | afile:PATH (libVLC writes what it plays to a "
        "WAV) | capture:PATH (Baton writes each sample to a WAV with its presentation "
        "instant in PATH.timeline: for measuring transfers)",
    )
    parser.add_argument(
        "--simulated-drift",
        type=float,
        metavar="PPM",
        help="capture output only: its converter's clock runs PPM millionths fast (+) or slow "
        "(-), as a real sound card's does (for tests and benchmarks of drift correction)",
    )
    parser.add_argument(
        "--drift-correction",
        choices=("on", "off"),
        help="correct the output's clock drift by inserting or dropping single frames at zero "
        "crossings (default on; capture output for now)",
    )
    parser.add_argument(
        "--state-dir", type=Path, metavar="DIR", help="where the session is saved (/var/lib/baton)"
    )
    parser.add_argument("--initial-volume", type=int, metavar="N", help="0-100 (default 50)")
    parser.add_argument("--max-volume", type=int, metavar="N", help="volume cap 0-100 (100)")
    parser.add_argument(
        "--pairing",
        choices=PAIRING_MODES,
        help="pin (default): only paired controllers, over TLS; open: anyone on the network",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="report whether libVLC, the config, the audio output, the state directory and "
        "the network are ready, then exit (0: ready)",
    )
    parser.add_argument(
        "--trace-endpoint",
        metavar="URL",
        help="send traces to this collector (`baton-traces serve`), e.g. http://192.168.1.5:4318; "
        "unreachable, they wait in a bounded spool in the state directory (default: the "
        "config file's trace-endpoint, else $OTEL_EXPORTER_OTLP_ENDPOINT, else no tracing)",
    )
    parser.add_argument(
        "--user",
        metavar="NAME",
        help="the trace viewer user whose devices include this one (sent pseudonymised; "
        "config key trace-user)",
    )
    parser.add_argument(
        "--trace-token",
        metavar="TOKEN",
        help="the collector's ingest token (`baton-traces ingest add USER`; config key "
        "trace-token; default: $OTEL_EXPORTER_OTLP_HEADERS)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `baton-receiver` console script."""
    words = sys.argv[1:] if argv is None else argv
    if words and words[0] in _access_cli.COMMANDS:
        return _access_cli.main(words)
    args = parser_args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    flags: dict[str, Any] = {
        key: getattr(parser_args, key)
        for key in (
            "name",
            "type",
            "port",
            "interfaces",
            "audio_output",
            "simulated_drift",
            "drift_correction",
            "state_dir",
            "initial_volume",
            "max_volume",
            "pairing",
            "trace_endpoint",
            "trace_token",
        )
    }
    flags["trace_user"] = parser_args.user
    if args.check:
        return run_check_command(args.config, flags)
    try:
        file_settings = read_config_file(args.config) if args.config else {}
        config = build_config(with_environment(file_settings, os.environ), flags)
    except ConfigError as exc:
        print(f"baton-receiver: {exc}", file=sys.stderr)
        return 2
    # Every connection costs a descriptor: leave the soft limit (1 024 under systemd) behind.
    raise_descriptor_limit()
    tracing: Tracing | None = None
    try:
        tracing = _start_tracing(config)
        return asyncio.run(_serve(Receiver(config)))
    except LibVLCUnavailableError as exc:
        print(f"baton-receiver: {exc}", file=sys.stderr)
        return 3
    except (ReceiverError, ConnectError, OSError, ValueError) as exc:
        print(f"baton-receiver: cannot start: {exc}", file=sys.stderr)
        return 1
    finally:
        if tracing is not None:
            tracing.shutdown()  # sends what is pending, or spools it for the next start


def with_environment(file_settings: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Return *file_settings* under the standard OTel endpoint variable (file, then flags, win)."""
    endpoint = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")
    return {"trace_endpoint": endpoint, **file_settings} if endpoint else file_settings


def _start_tracing(config: ReceiverConfig) -> Tracing | None:
    """Configure the OpenTelemetry SDK when asked (imported only then: nothing costs otherwise)."""
    if not config.trace_endpoint:
        return None
    from devices.resume import ResumableStore
    from tracing import attributes
    from tracing.setup import TraceSettings, setup

    store = ResumableStore(config.state_dir)
    store.prepare()  # the device id lives there; the receiver reads the same one
    settings = TraceSettings(
        config.trace_endpoint,
        device_id=store.device_id(),
        device_name=config.name,
        device_type=config.type if config.type in attributes.DEVICE_TYPES else "receiver",
        user=config.trace_user,
        token=config.trace_token,
        service_name="baton-receiver",
        spool=config.state_dir / "trace-spool.sqlite3",
    )
    return setup(settings)


async def _serve(receiver: Receiver) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    # Waits for a network address, then starts, tells systemd, and closes in the end.
    return await async_serve(receiver, stop)


if __name__ == "__main__":
    sys.exit(main())
