"""A receiver's transfer ledger on disk, saved with its session (connect/transfer/ledger.py).

The ledger goes to `transfers.json` in the state directory, written atomically *before* the
session file in the same save: after a power cut the device either has the new ledger and the
new session, or the new ledger and the old session, or both old. The middle case answers a
transfer STARTED while it resumes its old session, which leaves the source holding the music
paused (nobody plays it); the other order could leave the target resuming the session while it
answers UNKNOWN, and the source resuming it too: two players. A ledger that cannot be written
stops the session's write too (the saver logs it), for the same reason.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

from connect.atomic import write_atomically
from connect.transfer.ledger import Ledger, LedgerRecord
from devices.persistence import StateDirError

_LOG = logging.getLogger("devices.receiver")

TRANSFERS_FILE = "transfers.json"


def load_ledger(state_dir: Path) -> Ledger:
    """Return the saved ledger, or an empty one if there is none or it cannot be read (logged)."""
    path = state_dir / TRANSFERS_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Ledger()
    except (OSError, ValueError) as exc:
        _LOG.warning("saved transfers %s are unreadable (%s); starting without them", path, exc)
        return Ledger()
    if not isinstance(record, dict):
        _LOG.warning("saved transfers %s hold no record; starting without them", path)
        return Ledger()
    return Ledger.from_record(record)


def ledger_writer(state_dir: Path, record: LedgerRecord) -> Callable[[], None]:
    """Return a function that writes *record* (from any thread); it raises StateDirError."""
    path = state_dir / TRANSFERS_FILE
    data = json.dumps(record, separators=(",", ":")).encode()

    def write() -> None:
        try:
            write_atomically(path, data)
        except OSError as exc:
            raise StateDirError(f"cannot save {path}: {exc}") from exc

    return write
