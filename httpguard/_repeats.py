"""A repeating log line written once, then counted: never a flood.

What a hostile client can make a server say over and over (a refused connection, a parser
error, asyncio's "socket.accept() out of system resource", which CPython 3.11 logs for every
pending connection on every turn of the loop while descriptors are exhausted: about 100 MB a
minute in Baton issue 13) goes through `OncePerWindow`: the first occurrence is written, the
next ones within the window are only counted, and the first one after the window is written
with the count of those left out.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

WINDOW_S = 60.0
_MAX_KEYS = 256  # distinct repeating lines remembered; the least recent is forgotten first


class OncePerWindow:
    """Decides which occurrences of a repeating event are written (see the module docstring)."""

    def __init__(
        self, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.window_s = window_s
        self._clock = clock
        self._seen: OrderedDict[Hashable, tuple[float, int]] = OrderedDict()  # written at, left

    def note(self, key: Hashable) -> int | None:
        """Record one occurrence of *key*; return None to leave it out, else how many were."""
        now = self._clock()
        seen = self._seen.get(key)
        if seen is not None and now - seen[0] < self.window_s:
            self._seen[key] = (seen[0], seen[1] + 1)
            return None
        self._seen[key] = (now, 0)
        self._seen.move_to_end(key)
        while len(self._seen) > _MAX_KEYS:
            self._seen.popitem(last=False)
        return 0 if seen is None else seen[1]


class RepeatedRecordFilter(logging.Filter):
    """Lets a log record through once per window per kind; counts the ones it holds back.

    A record's kind is its logger, level, message template (its first line) and exception
    type, so a line that names a different peer each time is still one kind. The record let
    through after a quiet spell says how many were left out since the last one written.
    """

    def __init__(
        self, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self._window = OncePerWindow(window_s, clock)

    def filter(self, record: logging.LogRecord) -> bool:
        """Return False for a record of a kind already written in this window."""
        error = record.exc_info[1] if record.exc_info else None
        # The first line only: asyncio's handler appends its context (the socket, the handle
        # and, in debug mode, where it was made), which differs from one occurrence to the next.
        headline = str(record.msg).split("\n", 1)[0]
        key = (record.name, record.levelno, headline, type(error).__name__)
        left_out = self._window.note(key)
        if left_out is None:
            return False
        if left_out:
            record.msg = f"{record.msg} (and {left_out} more like this since the last one logged)"
        return True
