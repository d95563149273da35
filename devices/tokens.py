"""The receiver's paired controllers: `tokens.json` in the state directory, hashes only.

Both the running receiver and `baton-receiver tokens revoke` change the file, so every change
is a read-modify-write under an advisory lock (`tokens.json.lock`), starting from what is on
disk. Writes go to a temporary file (mode 0600) that is fsynced and renamed over the old one;
when a write fails (full disk, read-only directory) the error is typed and neither the file
nor the store in memory has changed. The receiver calls `reload_if_changed()` twice a second
(a stat; the file is read only when it changed) and ends the sessions of tokens that
disappeared: that is how a revocation made by the CLI reaches live sessions.
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

from connect import messages as m
from connect import pairing
from connect.atomic import write_atomically
from devices.errors import ReceiverError

_LOG = logging.getLogger(__name__)

TOKENS_FILE = "tokens.json"
_FORMAT_VERSION = 1
TOUCH_RESOLUTION_MS = 60_000
"""Last-used times are saved to the minute: fewer writes to an SD card."""

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


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class TokenStore:
    """The tokens of one state directory (see the module docstring)."""

    def __init__(self, state_dir: Path, *, wall_ms: WallClockMs = _wall_ms) -> None:
        self.path = state_dir / TOKENS_FILE
        self._lock_path = state_dir / f"{TOKENS_FILE}.lock"
        self._wall_ms = wall_ms
        self._records: dict[str, TokenRecord] = {}
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

    def has_owner(self, *, besides_client: str = "") -> bool:
        """Whether some token holds the owner role (not counting client *besides_client*)."""
        return any(
            r.role is m.Role.OWNER and r.client.id != besides_client for r in self._records.values()
        )

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

    def issue(self, client: m.ClientIdentity, role: m.Role) -> str:
        """Make a token for *client* with *role*, replacing its previous one; return the token."""
        issued = pairing.new_token()
        record = TokenRecord(issued.id, issued.sha256, role, client, self._wall_ms())

        def change(records: dict[str, TokenRecord]) -> None:
            for old in [r.id for r in records.values() if r.client.id == client.id]:
                del records[old]
            records[record.id] = record

        self._change(change)
        return issued.text

    def revoke(self, token_id: str) -> bool:
        """Remove the token *token_id*; return False if there was none."""
        found = False

        def change(records: dict[str, TokenRecord]) -> None:
            nonlocal found
            found = records.pop(token_id, None) is not None

        self._change(change)
        return found

    def touch(self, token_id: str) -> None:
        """Note that *token_id* was just used (a failure to save it is logged, not raised)."""
        now = self._wall_ms()
        known = self._records.get(token_id)
        if known is not None and 0 <= now - known.last_used_unix_ms < TOUCH_RESOLUTION_MS:
            return  # a controller reconnecting in a loop must not rewrite the file each time

        def change(records: dict[str, TokenRecord]) -> None:
            if token_id in records:
                records[token_id] = replace(records[token_id], last_used_unix_ms=now)

        try:
            self._change(change)
        except TokenStoreError as exc:
            _LOG.warning("could not record a token's use: %s", exc)

    # -------------------------------------------------------------------------- internals

    def _change(self, change: Callable[[dict[str, TokenRecord]], None]) -> None:
        with self._locked():
            self._read()  # start from the file: another process may have changed it
            records = dict(self._records)
            change(records)
            if records == self._records:
                return
            self._write(records)
            self._records = records
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
            self._records, self._seen = {}, None
            return
        except OSError as exc:
            raise TokenStoreError(f"cannot read {self.path}: {exc}") from exc
        try:
            self._records = _parse(json.loads(text))
        except (ValueError, TypeError, KeyError) as exc:
            raise CorruptTokenFileError(f"{self.path} is not a token file: {exc}") from exc
        self._seen = seen

    def _write(self, records: dict[str, TokenRecord]) -> None:
        data = json.dumps(_serialise(records), indent=2, sort_keys=True).encode() + b"\n"
        try:
            write_atomically(self.path, data, 0o600)
        except OSError as exc:
            raise TokenStoreError(f"cannot save {self.path}: {exc}") from exc


def _serialise(records: dict[str, TokenRecord]) -> dict[str, Any]:
    return {
        "version": _FORMAT_VERSION,
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


def _parse(document: Any) -> dict[str, TokenRecord]:
    if not isinstance(document, dict) or document.get("version") != _FORMAT_VERSION:
        raise ValueError(f"expected version {_FORMAT_VERSION}")
    records: dict[str, TokenRecord] = {}
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
    return records
