"""The receiver's paired controllers: `tokens.json` in the state directory, hashes only.

Both the running receiver and `baton-receiver tokens revoke` change the file, so every change
is a read-modify-write under an advisory lock (`tokens.json.lock`), starting from what is on
disk. Writes go to a temporary file (mode 0600) that is fsynced and renamed over the old one;
when a write fails (full disk, read-only directory) the error is typed and neither the file
nor the store in memory has changed. The receiver calls `reload_if_changed()` twice a second
(a stat; the file is read only when it changed) and ends the sessions of tokens that
disappeared: that is how a revocation made by the CLI reaches live sessions.

A revoked token (revoked by an owner, or replaced by its holder pairing again) leaves its id
and hash behind, the newest MAX_REVOKED of them, so that its holder is told "revoked" rather
than "needs pairing" however long it was away (docs/security.md, "Tokens").
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from connect.access import pairing
from connect.atomic import not_text, write_atomically
from connect.wire import messages as m
from devices.errors import ReceiverError

_LOG = logging.getLogger(__name__)

TOKENS_FILE = "tokens.json"
_FORMAT_VERSION = 1
TOUCH_RESOLUTION_MS = 60_000
"""Last-used times are saved to the minute: fewer writes to an SD card."""
MAX_REVOKED = 256
"""Revoked tokens remembered, the newest; an older one is then merely unknown."""

WallClockMs = Callable[[], int]


class TokenStoreError(ReceiverError, OSError):
    """`tokens.json` cannot be read or written; nothing was changed."""


class CorruptTokenFileError(TokenStoreError, ValueError):
    """`tokens.json` exists but is not a token file this version can read."""


@dataclass(frozen=True)
class TokenRecord:
    """What the receiver keeps of one token: never the token, only its hash."""

    id: str
    sha256: str
    role: m.Role
    client: m.ClientIdentity
    created_unix_ms: int
    last_used_unix_ms: int = 0

    def info(self) -> m.TokenInfo:
        """Return the record as the protocol lists it."""
        return m.TokenInfo(
            self.id, self.client, self.role, self.created_unix_ms, self.last_used_unix_ms
        )


@dataclass(frozen=True)
class RevokedToken:
    """What the receiver keeps of a revoked token: enough to recognise it, never the token."""

    id: str
    sha256: str
    revoked_unix_ms: int


Records = dict[str, TokenRecord]
Revoked = dict[str, RevokedToken]


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class TokenStore:
    """The tokens of one state directory (see the module docstring)."""

    def __init__(self, state_dir: Path, *, wall_ms: WallClockMs = _wall_ms) -> None:
        self.path = state_dir / TOKENS_FILE
        self._lock_path = state_dir / f"{TOKENS_FILE}.lock"
        self._wall_ms = wall_ms
        self._records: Records = {}
        self._revoked: Revoked = {}
        self._seen: tuple[int, int, int] | None = None  # (inode, mtime_ns, size) last read
        self._thread_lock = threading.Lock()

    # -------------------------------------------------------------------------- reading

    def load(self) -> None:
        """Read the file (a missing file is an empty store); raise TokenStoreError on failure."""
        with self._locked():
            self._read()

    def records(self) -> tuple[TokenRecord, ...]:
        """Return every token, oldest first."""
        return tuple(sorted(self._records.values(), key=lambda r: (r.created_unix_ms, r.id)))

    def has_owner(self) -> bool:
        """Whether some token holds the owner role."""
        return any(r.role is m.Role.OWNER for r in self._records.values())

    def get(self, token_id: str) -> TokenRecord | None:
        """Return the record of the token *token_id*, or None if there is none."""
        return self._records.get(token_id)

    def find(self, token: str) -> TokenRecord | None:
        """Return the record of *token*, or None if it is malformed, unknown or revoked."""
        try:
            token_id = pairing.token_id_of(token)
        except pairing.MalformedTokenError:
            return None
        record = self._records.get(token_id)
        if record is None or not pairing.tokens_match(token, record.sha256):
            return None
        return record

    def is_revoked(self, token: str) -> bool:
        """Whether *token* is one this store revoked (a guess at its id alone is not)."""
        try:
            token_id = pairing.token_id_of(token)
        except pairing.MalformedTokenError:
            return False
        revoked = self._revoked.get(token_id)
        return revoked is not None and pairing.tokens_match(token, revoked.sha256)

    def reload_if_changed(self) -> tuple[str, ...]:
        """Re-read the file if another process changed it; return the ids that disappeared."""
        if self._stat() == self._seen:
            return ()
        before = set(self._records)
        try:
            with self._locked():
                self._read()
        except TokenStoreError as exc:
            # Keep the tokens known so far; a half-edited file must not lock everyone out.
            _LOG.error("%s", exc)
            return ()
        return tuple(sorted(before - set(self._records)))

    # -------------------------------------------------------------------------- changing

    def issue(self, client: m.ClientIdentity, role: m.Role, *, replaces: str = "") -> str:
        """Make a token for *client* with *role*; return the token.

        Only the token *replaces* (an id) is revoked, in the same write: never a token merely
        because it was issued to the same client id, which is a label anyone can claim.
        """
        issued = pairing.new_token()
        now = self._wall_ms()
        record = TokenRecord(issued.id, issued.sha256, role, client, now)

        def change(records: Records, revoked: Revoked) -> None:
            _retire(records, revoked, replaces, now)
            records[record.id] = record

        self._change(change)
        return issued.text

    def revoke(self, token_id: str) -> bool:
        """Revoke the token *token_id* for good; return False if there was none."""
        found = False
        now = self._wall_ms()

        def change(records: Records, revoked: Revoked) -> None:
            nonlocal found
            found = _retire(records, revoked, token_id, now)

        self._change(change)
        return found

    def touch(self, token_id: str) -> None:
        """Note that *token_id* was just used (a failure to save it is logged, not raised)."""
        now = self._wall_ms()
        known = self._records.get(token_id)
        if known is not None and 0 <= now - known.last_used_unix_ms < TOUCH_RESOLUTION_MS:
            return  # a controller reconnecting in a loop must not rewrite the file each time

        def change(records: Records, revoked: Revoked) -> None:
            if token_id in records:
                records[token_id] = replace(records[token_id], last_used_unix_ms=now)

        try:
            self._change(change)
        except TokenStoreError as exc:
            _LOG.warning("could not record a token's use: %s", exc)

    # -------------------------------------------------------------------------- internals

    def _change(self, change: Callable[[Records, Revoked], None]) -> None:
        with self._locked():
            self._read()  # start from the file: another process may have changed it
            records, revoked = dict(self._records), dict(self._revoked)
            change(records, revoked)
            if (records, revoked) == (self._records, self._revoked):
                return
            self._write(records, revoked)
            self._records, self._revoked = records, revoked
            self._seen = self._stat()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock:
            try:
                fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                raise TokenStoreError(f"cannot lock {self.path}: {exc}") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the lock

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _read(self) -> None:
        seen = self._stat()
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self._records, self._revoked, self._seen = {}, {}, None
            return
        except UnicodeDecodeError as exc:
            raise CorruptTokenFileError(self._damaged(not_text(exc))) from exc
        except OSError as exc:
            raise TokenStoreError(f"cannot read {self.path}: {exc}") from exc
        try:
            self._records, self._revoked = _parse(json.loads(text))
        except (ValueError, TypeError, KeyError) as exc:
            raise CorruptTokenFileError(self._damaged(f"is not a token file ({exc})")) from exc
        self._seen = seen

    def _damaged(self, why: str) -> str:
        # Never replaced on our own: it may be fixable, and it is who may control the device.
        return (
            f"{self.path} {why}: fix it, or move it away and pair the controllers again "
            "(the receiver then starts with none paired); Baton leaves it as it is"
        )

    def _write(self, records: Records, revoked: Revoked) -> None:
        document = _serialise(records, revoked)
        data = json.dumps(document, indent=2, sort_keys=True).encode() + b"\n"
        try:
            write_atomically(self.path, data, 0o600)
        except OSError as exc:
            raise TokenStoreError(f"cannot save {self.path}: {exc}") from exc


def _retire(records: Records, revoked: Revoked, token_id: str, now: int) -> bool:
    """Move *token_id* from *records* to *revoked* (the newest MAX_REVOKED); False if absent."""
    record = records.pop(token_id, None)
    if record is None:
        return False
    revoked[token_id] = RevokedToken(token_id, record.sha256, now)
    if len(revoked) > MAX_REVOKED:
        oldest = sorted(revoked.values(), key=lambda r: (r.revoked_unix_ms, r.id))
        for gone in oldest[: len(revoked) - MAX_REVOKED]:
            del revoked[gone.id]
    return True


def _serialise(records: Records, revoked: Revoked) -> dict[str, Any]:
    return {
        "version": _FORMAT_VERSION,
        # Older receivers ignore this key (and drop it when they write): a revoked token is
        # then merely unknown to them, never valid again.
        "revoked": [
            {"id": r.id, "sha256": r.sha256, "revoked_unix_ms": r.revoked_unix_ms}
            for r in sorted(revoked.values(), key=lambda r: r.id)
        ],
        "tokens": [
            {
                "id": r.id,
                "sha256": r.sha256,
                "role": r.role.name.lower(),
                "client": {
                    "id": r.client.id,
                    "name": r.client.name,
                    "type": r.client.type.name.lower(),
                    "software": r.client.software,
                },
                "created_unix_ms": r.created_unix_ms,
                "last_used_unix_ms": r.last_used_unix_ms,
            }
            for r in sorted(records.values(), key=lambda r: r.id)
        ],
    }


def _parse(document: Any) -> tuple[Records, Revoked]:
    if not isinstance(document, dict) or document.get("version") != _FORMAT_VERSION:
        raise ValueError(f"expected version {_FORMAT_VERSION}")
    revoked: Revoked = {}
    for entry in document.get("revoked", []):
        gone = RevokedToken(str(entry["id"]), str(entry["sha256"]), int(entry["revoked_unix_ms"]))
        revoked[gone.id] = gone
    records: Records = {}
    for entry in document["tokens"]:
        client = entry["client"]
        record = TokenRecord(
            id=str(entry["id"]),
            sha256=str(entry["sha256"]),
            role=m.Role[str(entry["role"]).upper()],
            client=m.ClientIdentity(
                str(client["id"]),
                str(client["name"]),
                m.DeviceType[str(client["type"]).upper()],
                str(client["software"]),
            ),
            created_unix_ms=int(entry["created_unix_ms"]),
            last_used_unix_ms=int(entry["last_used_unix_ms"]),
        )
        records[record.id] = record
    return records, revoked
