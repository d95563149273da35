"""`baton-receiver tokens list|revoke ID` and `baton-receiver pairing-code`, on a state directory.

They work on the files a receiver keeps (tokens.json, pairing-code), so they run on the
receiver's machine, beside a running receiver or not; a running one notices a revocation
within a second (devices/receiver.py) and ends that controller's sessions.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

from connect.atomic import not_text
from devices.access import PAIRING_CODE_FILE
from devices.config import ConfigError, ReceiverConfig, read_config_file
from devices.tokens import TokenRecord, TokenStore, TokenStoreError

COMMANDS = ("tokens", "pairing-code")


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of the access subcommands."""
    parser = argparse.ArgumentParser(
        prog="baton-receiver",
        description="Manage who may control this receiver (its state directory's tokens).",
    )
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--config", type=Path, metavar="FILE", help="TOML settings file")
    where.add_argument(
        "--state-dir", type=Path, metavar="DIR", help="the receiver's state directory"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    tokens = commands.add_parser("tokens", help="list or revoke paired controllers' tokens")
    actions = tokens.add_subparsers(dest="action", required=True)
    actions.add_parser("list", parents=[where], help="list the paired controllers")
    revoke = actions.add_parser("revoke", parents=[where], help="revoke a token by its ID")
    revoke.add_argument("token_id", metavar="ID", help="the 8-hex-digit ID from `tokens list`")
    commands.add_parser("pairing-code", parents=[where], help="print the current pairing code")
    return parser


def main(argv: list[str]) -> int:
    """Run an access subcommand; return the exit code (0 ok, 1 refused, 2 bad settings)."""
    args = build_parser().parse_args(argv)
    try:
        state_dir = _state_dir(args.config, args.state_dir)
    except ConfigError as exc:
        print(f"baton-receiver: {exc}", file=sys.stderr)
        return 2
    if args.command == "pairing-code":
        return _print_code(state_dir)
    store = TokenStore(state_dir)
    try:
        store.load()
        if args.action == "list":
            _print_tokens(store.records())
            return 0
        if not store.revoke(args.token_id):
            print(f"baton-receiver: no token {args.token_id!r} in {store.path}", file=sys.stderr)
            return 1
    except TokenStoreError as exc:
        print(f"baton-receiver: {exc}", file=sys.stderr)
        return 1
    print(f"revoked {args.token_id}; a running receiver ends its sessions within a second")
    return 0


def _state_dir(config: Path | None, state_dir: Path | None) -> Path:
    if state_dir is not None:
        return state_dir
    settings = read_config_file(config) if config else {}
    return Path(settings.get("state_dir", ReceiverConfig.state_dir))


def _print_code(state_dir: Path) -> int:
    path = state_dir / PAIRING_CODE_FILE
    try:
        code = path.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError as exc:
        print(
            f"baton-receiver: {path} {not_text(exc)}, so not a pairing code; the receiver "
            "writes a new one when it starts, and after every pairing",
            file=sys.stderr,
        )
        return 1
    except OSError as exc:
        print(
            f"baton-receiver: no pairing code in {state_dir} ({exc.strerror}); is a receiver "
            "running there in pin mode?",
            file=sys.stderr,
        )
        return 1
    print(code)
    return 0


def _print_tokens(records: tuple[TokenRecord, ...]) -> None:
    if not records:
        print("no paired controllers")
        return
    print(f"{'ID':8}  {'ROLE':10}  {'PAIRED':16}  {'LAST USED':16}  CONTROLLER")
    for r in records:
        who = f"{r.client.name or '?'} ({r.client.id})"
        paired, used = _when(r.created_unix_ms), _when(r.last_used_unix_ms)
        print(f"{r.id:8}  {r.role.name.lower():10}  {paired:16}  {used:16}  {who}")


def _when(unix_ms: int) -> str:
    if not unix_ms:
        return "never"
    moment = datetime.datetime.fromtimestamp(unix_ms / 1000)
    return moment.strftime("%Y-%m-%d %H:%M")
