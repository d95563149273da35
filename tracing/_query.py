"""What a query may see (`Scope`, from the user's token) and asks for (`Filters`), as SQL
conditions with parameters and as a predicate on just-stored records; the two must agree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tracing._otlp import Record


_KEY_DIGITS = 15  # 60 bits: an SQLite integer, never negative


def id_key(hex_id: str) -> int:
    """Return the integer the records index keeps of a trace or span id: its last 15 hex
    digits (60 of the random bits a W3C id ends with), -1 for an empty or non-hex id.

    De-duplication is by (trace key, span key): 120 bits of the two ids rather than all 192.
    Two different spans alike in both would have to share a span id and 60 bits of trace id.
    """
    try:
        return int(hex_id[-_KEY_DIGITS:], 16)
    except ValueError:
        return -1


@dataclass(frozen=True)
class Scope:
    """Which records a request may see: one user id, or everything (admin, local CLI)."""

    user_id: str | None

    def clause(self, column: str = "user_id") -> tuple[str, list[Any]]:
        """Return an SQL condition and its parameters restricting rows to this scope."""
        if self.user_id is None:
            return "1", []
        return f"{column} = ?", [self.user_id]


EVERYTHING = Scope(None)


@dataclass(frozen=True)
class Filters:
    """The stream and search filters; empty strings match everything."""

    device: str = ""
    kind: str = ""  # a message kind, or "span"/"log"
    session: str = ""
    transfer: str = ""
    trace: str = ""
    text: str = ""

    def clause(self) -> tuple[str, list[Any]]:
        """Return an SQL condition and its parameters for these filters."""
        parts: list[str] = []
        params: list[Any] = []
        if self.device:
            parts.append("(device_id = ? OR peer_device_id = ?)")
            params += [self.device, self.device]
        if self.kind in ("span", "log"):
            parts.append("kind = ?")
            params.append(self.kind)
        elif self.kind:
            parts.append("message_kind = ?")
            params.append(self.kind)
        for column, value in (("session_id", self.session), ("transfer_id", self.transfer)):
            if value:
                parts.append(f"{column} = ?")
                params.append(value)
        if self.trace:  # through the (tk, sk) index
            parts.append("tk = ? AND trace_id = ?")
            params += [id_key(self.trace), self.trace]
        if self.text:
            parts.append("(name LIKE ? ESCAPE '\\' OR data LIKE ? ESCAPE '\\')")
            like = "%" + self.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params += [like + "%", like + "%"]
        return (" AND ".join(parts) or "1"), params

    @property
    def empty(self) -> bool:
        """Whether these filters let everything through."""
        return not (
            self.device or self.kind or self.session or self.transfer or self.trace or self.text
        )

    def matches(self, r: Record) -> bool:
        """Whether a just-stored record passes these filters (as `clause` would say)."""
        if self.device and self.device not in (r.device_id, r.peer_device_id):
            return False
        if self.kind in ("span", "log"):
            if r.kind != self.kind:
                return False
        elif self.kind and r.message_kind != self.kind:
            return False
        if self.session and r.session_id != self.session:
            return False
        if self.transfer and r.transfer_id != self.transfer:
            return False
        if self.trace and r.trace_id != self.trace:
            return False
        if self.text:
            # The SQL looks in the name and the stored data: so does this.
            needle = self.text.casefold()
            return needle in r.name.casefold() or needle in r.data.casefold()
        return True
