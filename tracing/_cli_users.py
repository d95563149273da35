"""`baton-traces user ...` and `baton-traces ingest ...`: who may read, and who may send.

Each command opens the database, changes it and exits; a running collector sees the change at
its next request (tokens are looked up every time), and closes the live streams it affects.
Tokens are printed once, as the last line, and stored only as digests.
"""

from __future__ import annotations

import argparse
import sys

from tracing import _users
from tracing._store import Store
from tracing.attributes import pseudonymise_user


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser], db: str) -> None:
    """Add the `user` and `ingest` command groups to the `baton-traces` parser."""
    user = commands.add_parser("user", help="manage viewer users (who may read)")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    add = user_commands.add_parser("add", help="add a user (or give them a new token and role)")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true", help="may see every user's devices")
    listing = user_commands.add_parser("list", help="list users, their role and ingest tokens")
    remove = user_commands.add_parser(
        "remove", help="remove a user and their ingest tokens (their records stay)"
    )
    remove.add_argument("name")
    rotate = user_commands.add_parser(
        "rotate", help="give a user a new viewer token; the old one stops working at once"
    )
    rotate.add_argument("name")
    role = user_commands.add_parser("role", help="make a user an admin, or a viewer again")
    role.add_argument("name")
    role.add_argument("role", choices=("admin", "viewer"))

    ingest = commands.add_parser("ingest", help="manage ingest tokens (who may send traces)")
    ingest_commands = ingest.add_subparsers(dest="ingest_command", required=True)
    give = ingest_commands.add_parser(
        "add", help="give a user's device an ingest token (replaces one of the same label)"
    )
    give.add_argument("name", help="the user whose records the device sends")
    give.add_argument("--label", default="default", help="which device holds it (default: default)")
    take = ingest_commands.add_parser("remove", help="revoke a user's ingest token")
    take.add_argument("name")
    take.add_argument("--label", default="default")
    for parser in (add, listing, remove, rotate, role, give, take):
        parser.add_argument("--db", default=db, help=f"SQLite file (default: {db})")


def run(args: argparse.Namespace) -> int:
    """Run a `user` or `ingest` command; return the exit status."""
    store = Store(args.db)
    try:
        return _run(store, args)
    except _users.UnknownUserError as exc:
        print(f"baton-traces: no user named {exc.args[0]!r}", file=sys.stderr)
        return 1
    finally:
        store.close()


def _run(store: Store, args: argparse.Namespace) -> int:
    db = store.connection
    command = args.user_command if args.command == "user" else "ingest-" + args.ingest_command
    if command == "add":
        token = _users.add_user(db, args.name, admin=args.admin)
        print(
            f"user {args.name!r} sees devices whose baton.user.id is {pseudonymise_user(args.name)}"
        )
        print("token (give it to the viewer; it is shown only once):")
        print(token)
    elif command == "list":
        for info in _users.list_users(db):
            role = "admin" if info.admin else "viewer"
            labels = ", ".join(info.ingest_labels) or "-"
            print(f"{info.name}\t{role}\t{info.user_id}\tingest tokens: {labels}")
    elif command == "remove":
        _users.remove(db, args.name)
        print(f"removed {args.name!r}: their tokens no longer work")
    elif command == "rotate":
        token = _users.rotate(db, args.name)
        print(f"new viewer token for {args.name!r} (the old one no longer works):")
        print(token)
    elif command == "role":
        _users.set_admin(db, args.name, args.role == "admin")
        print(f"{args.name!r} is now {'an admin' if args.role == 'admin' else 'a viewer'}")
    elif command == "ingest-add":
        token = _users.add_ingest_token(db, args.name, args.label)
        print(f"ingest token {args.label!r} for {args.name!r}: a device sends it as")
        print("`Authorization: Bearer TOKEN` (trace-token in a receiver's config, --trace-token,")
        print("or OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20TOKEN); shown only once:")
        print(token)
    elif command == "ingest-remove":
        if not _users.remove_ingest_token(db, args.name, args.label):
            print(
                f"baton-traces: {args.name!r} has no ingest token {args.label!r}", file=sys.stderr
            )
            return 1
        print(f"revoked ingest token {args.label!r} of {args.name!r}")
    return 0
