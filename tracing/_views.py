"""The queries behind the viewer's transfers list, a transfer's view and a session's view.

Each takes the reader's connection and returns decoded rows; `tracing._transfers` and
`tracing._sessions` make them into what the API returns. Every value is a query parameter;
the f-strings (marked `noqa: S608`) splice in fixed SQL and `Scope`'s placeholder clause.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from tracing._query import Scope
from tracing._store import COLUMNS, FROM, decoded_row

Row = dict[str, Any]
MAX_PER_TRANSFER = 500  # records read for one transfer of the list (its messages are ~20)
MAX_RECORDS = 5000  # records read for one transfer's or session's view


def recent_transfers(db: sqlite3.Connection, scope: Scope, limit: int) -> dict[str, list[Row]]:
    """Return the records of the *limit* most recently active transfers, by transfer id."""
    where, params = scope.clause("records.user_id")
    ids = [
        tid
        for (tid,) in db.execute(
            f"SELECT transfer_id FROM records WHERE transfer_id != '' AND {where} "  # noqa: S608
            "GROUP BY transfer_id ORDER BY MAX(seq) DESC LIMIT ?",
            [*params, limit],
        )
    ]
    out: dict[str, list[Row]] = {}
    for tid in ids:
        rows = db.execute(
            f"SELECT {COLUMNS} FROM {FROM} WHERE transfer_id = ? AND {where} "  # noqa: S608
            "ORDER BY seq LIMIT ?",
            [tid, *params, MAX_PER_TRANSFER],
        ).fetchall()
        out[tid] = [decoded_row(r) for r in rows]
    return out


def transfer_records(db: sqlite3.Connection, scope: Scope, transfer_id: str) -> list[Row]:
    """Return a transfer's records and the rest of its traces (the events its devices noted
    while handling its messages carry no transfer id), oldest first."""
    where, params = scope.clause("records.user_id")
    rows = db.execute(
        f"SELECT {COLUMNS} FROM {FROM} WHERE {where} AND (transfer_id = ? OR "  # noqa: S608
        # tk: what the (tk, sk) index finds the traces by; trace_id: what they are.
        "(tk, trace_id) IN (SELECT tk, trace_id FROM records "
        "WHERE transfer_id = ? AND trace_id != '')) ORDER BY seq LIMIT ?",
        [*params, transfer_id, transfer_id, MAX_RECORDS],
    ).fetchall()
    return [decoded_row(r) for r in rows]


def session_records(db: sqlite3.Connection, scope: Scope, session_id: str) -> list[Row]:
    """Return the newest `MAX_RECORDS` records of a session, oldest first."""
    where, params = scope.clause("records.user_id")
    rows = db.execute(
        f"SELECT {COLUMNS} FROM {FROM} WHERE session_id = ? AND {where} "  # noqa: S608
        "ORDER BY seq DESC LIMIT ?",
        [session_id, *params, MAX_RECORDS],
    ).fetchall()
    return [decoded_row(r) for r in reversed(rows)]


def device_names(db: sqlite3.Connection, scope: Scope) -> dict[str, str]:
    """Return the name of every device this scope may see, by id (empty names left out)."""
    where, params = scope.clause()
    query = f"SELECT device_id, name FROM devices WHERE name != '' AND {where} "  # noqa: S608
    return dict(db.execute(query + "ORDER BY last_seen_ns", params).fetchall())


GROUP_KINDS = ("GroupLead", "GroupJoin", "GroupLeave", "GroupVolume", "GroupDone", "GroupRefused")
MAX_GROUP_RECORDS = 2000  # the newest group steps and skew reports read for the groups view
GROUP_WINDOW = 200_000  # ...among this many newest records: the query never scans the store


def group_records(db: sqlite3.Connection, scope: Scope, event: str) -> list[Row]:
    """Return the newest group steps and *event* records (skew reports), oldest first."""
    where, params = scope.clause("records.user_id")
    marks = ", ".join("?" for _ in GROUP_KINDS)
    rows = db.execute(
        f"SELECT {COLUMNS} FROM {FROM} WHERE seq > (SELECT IFNULL(MAX(seq), 0) FROM records) - ? "  # noqa: S608
        f"AND (message_kind IN ({marks}) OR (kind = 'log' AND name = ?)) AND {where} "
        "ORDER BY seq DESC LIMIT ?",
        [GROUP_WINDOW, *GROUP_KINDS, event, *params, MAX_GROUP_RECORDS],
    ).fetchall()
    return [decoded_row(r) for r in reversed(rows)]
