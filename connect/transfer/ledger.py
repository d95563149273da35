"""What a device remembers about transfers, kept with its saved session across restarts.

The phase of its last MAX_PHASES transfers as a target (what `GET /connect/v1/transfers/{id}`
answers a source left without a verdict); the aborts that came before the offer or commit they
call off; and for each session it has held or handed on, the newest ownership epoch it has seen
and the device holding it then, so it can refuse an older copy and name the holder. A device
saves its ledger with its session (devices/_transfer_saving.py): a target that took the session
and then restarted still answers STARTED, so the source lets go instead of resuming beside it.
A pre-roll does not survive a restart: PREROLLED comes back as ABORTED (no commit can start it
now, and the source may take the music back).

Pure: a plain record in and out (`to_record`, `from_record`), no file access here.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

from connect.wire import messages as m

__all__ = ["MAX_ABORTS", "MAX_PHASES", "MAX_SESSIONS", "Ledger", "LedgerRecord"]

MAX_PHASES = 64  # transfers whose phase a target remembers; a source asks within seconds
MAX_ABORTS = 64  # aborts kept for an offer or commit they overtook
MAX_SESSIONS = 64  # sessions whose newest epoch a device remembers

LedgerRecord = dict[str, object]


class Ledger:
    """A device's memory of transfers: phases as a target, aborts waiting for their transfer."""

    def __init__(self) -> None:
        self._phases: OrderedDict[str, m.TransferPhase] = OrderedDict()
        self._aborted: OrderedDict[str, None] = OrderedDict()
        self._committed: OrderedDict[str, None] = OrderedDict()  # commits seen as a source
        # session id -> (the newest ownership epoch seen, the device holding it then)
        self._sessions: OrderedDict[str, tuple[int, str]] = OrderedDict()
        self.changed = False  # set by every change; the saver clears it

    def phase(self, transfer_id: str) -> m.TransferPhase:
        """Return the phase noted for *transfer_id* (UNKNOWN if none)."""
        return self._phases.get(transfer_id, m.TransferPhase.UNKNOWN)

    def note(self, transfer_id: str, phase: m.TransferPhase) -> None:
        """Note how far *transfer_id* got here; the oldest of more than MAX_PHASES goes."""
        self._phases[transfer_id] = phase
        self._phases.move_to_end(transfer_id)
        while len(self._phases) > MAX_PHASES:
            self._phases.popitem(last=False)
        self.changed = True

    def abort_early(self, transfer_id: str) -> None:
        """Remember an abort whose offer or commit has not come (yet)."""
        self._aborted[transfer_id] = None
        while len(self._aborted) > MAX_ABORTS:
            self._aborted.popitem(last=False)

    def take_abort(self, transfer_id: str) -> bool:
        """Return whether an abort came before *transfer_id*'s offer or commit (and forget it)."""
        if transfer_id not in self._aborted:
            return False
        del self._aborted[transfer_id]
        return True

    def first_commit(self, transfer_id: str) -> bool:
        """Return True the first time a source's commit of *transfer_id* is seen, then False."""
        if transfer_id in self._committed:
            return False
        self._committed[transfer_id] = None
        while len(self._committed) > MAX_PHASES:
            self._committed.popitem(last=False)
        return True

    def saw(self, session_id: str, epoch: int, holder: str) -> None:
        """Note that *holder* holds *session_id* at *epoch* (kept unless an older epoch)."""
        known = self._sessions.get(session_id)
        if known is not None and known[0] > epoch:
            return
        self._sessions[session_id] = (epoch, holder)
        self._sessions.move_to_end(session_id)
        while len(self._sessions) > MAX_SESSIONS:
            self._sessions.popitem(last=False)
        self.changed = True

    def newest(self, session_id: str) -> tuple[int, str] | None:
        """Return the newest epoch seen of *session_id* and who held it then (None: never seen)."""
        return self._sessions.get(session_id)

    def to_record(self) -> LedgerRecord:
        """Return what survives a restart, as plain data (JSON-able)."""
        return {
            "phases": [[tid, phase.name] for tid, phase in self._phases.items()],
            "sessions": [[sid, epoch, holder] for sid, (epoch, holder) in self._sessions.items()],
        }

    @classmethod
    def from_record(cls, record: Mapping[str, object]) -> Ledger:
        """Return the ledger a restarted device continues with; unreadable entries are skipped."""
        ledger = cls()
        phases = record.get("phases", [])
        for entry in phases if isinstance(phases, list) else []:
            if not (isinstance(entry, list) and len(entry) == 2):
                continue
            tid, name = entry
            if (
                isinstance(tid, str)
                and isinstance(name, str)
                and name in m.TransferPhase.__members__
            ):
                phase = m.TransferPhase[name]
                # A pre-roll is gone with the process that held it: it will never start.
                ledger.note(
                    tid, m.TransferPhase.ABORTED if phase is m.TransferPhase.PREROLLED else phase
                )
        sessions = record.get("sessions", [])
        for entry in sessions if isinstance(sessions, list) else []:
            if isinstance(entry, list) and len(entry) == 3:
                sid, epoch, holder = entry
                if isinstance(sid, str) and isinstance(epoch, int) and isinstance(holder, str):
                    ledger.saw(sid, epoch, holder)
        ledger.changed = False
        return ledger
