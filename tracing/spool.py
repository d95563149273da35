"""The offline spool: encoded OTLP requests kept in one bounded SQLite file until they are sent.

A device that cannot reach its collector (a car out of Wi-Fi) appends each export request
here; when the collector answers again the requests are replayed oldest first. The collector
de-duplicates by trace id + span id (tracing/collector.py), so a request replayed twice, or
stored after a send whose answer was lost, is harmless: every record is stored once.

Bounded by the total size of the stored bodies: appending past `max_bytes` drops the oldest
requests first and counts them in `dropped`, a number kept in the file across restarts.
No network here: `tracing.setup`'s shipper decides when to send. One instance is used by one
thread at a time (the shipper's); several processes may share a file (SQLite locks it).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path

_LOG = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
"""About 100 000 spans, gzip-compressed: hours of a busy device's events."""

MEMORY = ":memory:"
"""A spool that lives only as long as the process (tests, tools that must not write files)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    signal TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

_NOT_A_SPOOL = (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT)
"""What SQLite says of a file that holds other bytes (not what it says of a locked one)."""


@dataclass(frozen=True, slots=True)
class SpooledBatch:
    """One stored request: its signal ("traces" or "logs") and gzip-compressed OTLP body."""

    id: int
    signal: str
    body: bytes


class Spool:
    """A bounded, ordered store of OTLP request bodies (see the module docstring)."""

    def __init__(self, path: Path | str, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if str(path) != MEMORY:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = str(path)
        self.max_bytes = max_bytes
        # The shipper's thread opens nothing itself: it is handed this connection.
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as exc:
            if self.path == MEMORY or exc.sqlite_errorcode not in _NOT_A_SPOOL:
                raise  # a locked or unwritable file is not garbage: nothing is moved
            # Unsent telemetry is not worth refusing to start over: keep it aside, say where.
            kept = Path(self.path).with_suffix(".unreadable")
            Path(self.path).replace(kept)
            _LOG.warning(
                "trace spool %s is not a spool (%s); kept as %s (delete it once looked at), "
                "starting an empty one",
                self.path,
                exc,
                kept,
            )
            self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=5.0, check_same_thread=False)
        try:
            with db:
                db.executescript(_SCHEMA)
        except BaseException:
            db.close()
            raise
        return db

    def append(self, signal: str, body: bytes) -> int:
        """Store one request after the others; return how many old ones were dropped for room."""
        if len(body) > self.max_bytes:
            _LOG.warning("trace spool: a %d-byte batch exceeds the spool; dropped", len(body))
            self._count_dropped(1)
            return 1
        dropped = 0
        with self._db:
            self._db.execute("INSERT INTO batches (signal, body) VALUES (?, ?)", (signal, body))
            while self.size_bytes() > self.max_bytes:
                oldest = self._db.execute("SELECT MIN(id) FROM batches").fetchone()[0]
                self._db.execute("DELETE FROM batches WHERE id = ?", (oldest,))
                dropped += 1
        if dropped:
            _LOG.warning("trace spool full: dropped the %d oldest batch(es)", dropped)
            self._count_dropped(dropped)
        return dropped

    def oldest(self) -> SpooledBatch | None:
        """Return the oldest stored request, or None when the spool is empty."""
        row = self._db.execute(
            "SELECT id, signal, body FROM batches ORDER BY id LIMIT 1"
        ).fetchone()
        return None if row is None else SpooledBatch(row[0], row[1], bytes(row[2]))

    def remove(self, batch_id: int) -> None:
        """Forget a request once it is delivered (or refused for good)."""
        with self._db:
            self._db.execute("DELETE FROM batches WHERE id = ?", (batch_id,))

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM batches").fetchone()[0])

    def size_bytes(self) -> int:
        """Return the total size of the stored bodies."""
        return int(
            self._db.execute("SELECT COALESCE(SUM(LENGTH(body)), 0) FROM batches").fetchone()[0]
        )

    @property
    def dropped(self) -> int:
        """Return how many requests were ever dropped to stay within `max_bytes`."""
        row = self._db.execute("SELECT value FROM counters WHERE name = 'dropped'").fetchone()
        return 0 if row is None else int(row[0])

    def close(self) -> None:
        """Close the file (idempotent)."""
        with contextlib.suppress(sqlite3.ProgrammingError):
            self._db.close()

    def _count_dropped(self, n: int) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO counters (name, value) VALUES ('dropped', ?) "
                "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                (n,),
            )
