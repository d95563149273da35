"""Who may read and who may send: viewer users and their ingest tokens, in the collector's SQLite.

Tokens are stored only as SHA-256 digests and checked against the table on every request, so
a change made by `baton-traces user ...` in another process (a re-key, a removal, a demotion)
counts from the next request on. Every change bumps `meta.auth_rev` (triggers below), which
lets the server notice changes cheaply and re-check its open live streams.

A viewer token reads the records of one user (`baton.user.id = pseudonymise_user(name)`), or
everything for an admin. An ingest token (several per user, one per device if wanted, each
with a label) lets a device send records, which are filed under that user whatever the device
claims.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from dataclasses import dataclass

from tracing.attributes import pseudonymise_user

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    admin INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS ingest_tokens (
    token_sha256 TEXT PRIMARY KEY,
    name TEXT NOT NULL,           -- the user (users.name) the records are filed under
    label TEXT NOT NULL,          -- which device or sender holds it
    created_ns INTEGER NOT NULL,
    UNIQUE (name, label)
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('auth_rev', 0);
"""
# One trigger per table and change: any edit of who may do what bumps auth_rev.
SCHEMA += "".join(
    f"CREATE TRIGGER IF NOT EXISTS {table}_{verb.lower()} AFTER {verb} ON {table} BEGIN "  # noqa: S608
    "UPDATE meta SET value = value + 1 WHERE key = 'auth_rev'; END;\n"
    for table in ("users", "ingest_tokens")
    for verb in ("INSERT", "UPDATE", "DELETE")
)


@dataclass(frozen=True)
class User:
    """A viewer user: `user_id` is the `baton.user.id` they may see; admins see every device."""

    name: str
    user_id: str
    admin: bool


@dataclass(frozen=True)
class Sender:
    """Who an ingest token belongs to: the user its records are filed under, and its label."""

    name: str
    user_id: str
    label: str


@dataclass(frozen=True)
class UserInfo:
    """One line of `baton-traces user list`."""

    name: str
    user_id: str
    admin: bool
    ingest_labels: tuple[str, ...]


class UnknownUserError(LookupError):
    """No viewer user has that name."""


def token_digest(token: str) -> str:
    """Return the stored form of a token (tokens themselves are never stored or logged)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """Return a fresh random token (256 bits, URL-safe, never starting with "-")."""
    # One in 64 URL-safe tokens would start with "-", which a command line then reads as an
    # option (`baton-receiver --trace-token -x...` is refused by argparse).
    while (token := secrets.token_urlsafe(32)).startswith("-"):
        pass
    return token


def add_user(db: sqlite3.Connection, name: str, admin: bool = False) -> str:
    """Create a user, or give an existing one a new token and this role; return the token."""
    token = new_token()
    db.execute(
        "INSERT INTO users (name, user_id, token_sha256, admin) VALUES (?,?,?,?) "
        "ON CONFLICT (name) DO UPDATE SET token_sha256 = excluded.token_sha256, "
        "admin = excluded.admin",
        (name, pseudonymise_user(name), token_digest(token), int(admin)),
    )
    return token


def rotate(db: sqlite3.Connection, name: str) -> str:
    """Give a user a new viewer token (the old one stops working); keep their role."""
    token = new_token()
    if (
        db.execute(
            "UPDATE users SET token_sha256 = ? WHERE name = ?", (token_digest(token), name)
        ).rowcount
        == 0
    ):
        raise UnknownUserError(name)
    return token


def set_admin(db: sqlite3.Connection, name: str, admin: bool) -> None:
    """Make a user an admin (sees every device) or not; their token stays."""
    if db.execute("UPDATE users SET admin = ? WHERE name = ?", (int(admin), name)).rowcount == 0:
        raise UnknownUserError(name)


def remove(db: sqlite3.Connection, name: str) -> None:
    """Remove a user and their ingest tokens; their stored records stay (admins see them)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        gone = db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount
        db.execute("DELETE FROM ingest_tokens WHERE name = ?", (name,))
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    if not gone:
        raise UnknownUserError(name)


def list_users(db: sqlite3.Connection) -> list[UserInfo]:
    """Return every user, by name, with the labels of their ingest tokens."""
    labels: dict[str, list[str]] = {}
    for name, label in db.execute("SELECT name, label FROM ingest_tokens ORDER BY name, label"):
        labels.setdefault(name, []).append(label)
    return [
        UserInfo(name, user_id, bool(admin), tuple(labels.get(name, ())))
        for name, user_id, admin in db.execute(
            "SELECT name, user_id, admin FROM users ORDER BY name"
        )
    ]


def add_ingest_token(db: sqlite3.Connection, name: str, label: str) -> str:
    """Return a new ingest token for *name* labelled *label* (replacing one of that label)."""
    if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone() is None:
        raise UnknownUserError(name)
    token = new_token()
    db.execute(
        "INSERT INTO ingest_tokens (token_sha256, name, label, created_ns) VALUES (?,?,?,?) "
        "ON CONFLICT (name, label) DO UPDATE SET token_sha256 = excluded.token_sha256, "
        "created_ns = excluded.created_ns",
        (token_digest(token), name, label, time.time_ns()),
    )
    return token


def remove_ingest_token(db: sqlite3.Connection, name: str, label: str) -> bool:
    """Revoke the ingest token *label* of user *name*; return whether there was one."""
    cursor = db.execute("DELETE FROM ingest_tokens WHERE name = ? AND label = ?", (name, label))
    return cursor.rowcount > 0


def user_for_token(db: sqlite3.Connection, token: str) -> User | None:
    """Return the viewer user a token belongs to, or None."""
    row = db.execute(
        "SELECT name, user_id, admin FROM users WHERE token_sha256 = ?", (token_digest(token),)
    ).fetchone()
    return None if row is None else User(row[0], row[1], bool(row[2]))


def sender_for_token(db: sqlite3.Connection, token: str) -> Sender | None:
    """Return who an ingest token belongs to, or None."""
    row = db.execute(
        "SELECT users.name, users.user_id, ingest_tokens.label FROM ingest_tokens "
        "JOIN users ON users.name = ingest_tokens.name WHERE ingest_tokens.token_sha256 = ?",
        (token_digest(token),),
    ).fetchone()
    return None if row is None else Sender(row[0], row[1], row[2])


def auth_rev(db: sqlite3.Connection) -> int:
    """Return a number that changes whenever a user or an ingest token changes."""
    row = db.execute("SELECT value FROM meta WHERE key = 'auth_rev'").fetchone()
    return 0 if row is None else int(row[0])


def registered_user_ids(db: sqlite3.Connection) -> set[str]:
    """Return the `baton.user.id`s some viewer user may see."""
    return {user_id for (user_id,) in db.execute("SELECT user_id FROM users")}
