"""A long-lived task that is started again when it fails: backoff, one log line, a health record.

The loops a service lives on (saving the session, watching the network interfaces, watching
the token file) must not die of one error, such as running out of descriptors for a moment:
asyncio would log "Task exception was never retrieved" once and the service would go on
without them. A supervised task is started again after a delay that doubles with each failure
in a row (BACKOFF_FIRST_S .. BACKOFF_CAP_S). Its first failure is logged at error level with
its traceback; the same error again within LOG_AGAIN_S only at debug level, so a task failing
every few seconds for an hour writes one line a minute, not a thousand. Once it has run for
SETTLE_S without failing, it counts as running again (logged at info) and its backoff starts
over. `TaskHealth` says how each task is doing, for a status line or `--check`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

BACKOFF_FIRST_S = 0.5
BACKOFF_CAP_S = 30.0
SETTLE_S = 10.0
LOG_AGAIN_S = 60.0


@dataclass(frozen=True)
class TaskHealth:
    """How one supervised task is doing."""

    name: str  # "<owner> <what>", as the task is named
    failing: bool  # failed, and has not run SETTLE_S without failing since
    failures: int  # how many times it failed (and was started again), in all
    error: str  # the last failure ("OSError: [Errno 24] Too many open files"); "" if none
    failing_since: float | None  # loop time of the first failure of the current run of them


@dataclass(frozen=True)
class Backoff:
    """How long to wait before starting a failed task again."""

    first_s: float = BACKOFF_FIRST_S
    cap_s: float = BACKOFF_CAP_S
    settle_s: float = SETTLE_S

    def delay(self, failures_in_a_row: int) -> float:
        """Return the wait after the *failures_in_a_row*-th failure in a row (1, 2, ...)."""
        return min(self.cap_s, self.first_s * 2.0 ** max(0, failures_in_a_row - 1))


class Supervised:
    """One supervised task's loop and record (see the module docstring)."""

    def __init__(
        self,
        name: str,
        start: Callable[[], Coroutine[Any, Any, None]],
        log: logging.Logger,
        changed: Callable[[], None],
        backoff: Backoff,
    ) -> None:
        self.name = name
        self._start = start
        self._log = log
        self._changed = changed
        self._backoff = backoff
        self._failures = 0
        self._in_a_row = 0
        self._error = ""
        self._since: float | None = None
        self._logged: tuple[str, float] | None = None  # the error last logged at error level

    @property
    def health(self) -> TaskHealth:
        """How the task is doing now."""
        return TaskHealth(
            self.name, self._since is not None, self._failures, self._error, self._since
        )

    async def async_run(self) -> None:
        """Run the task, starting it again after each failure, until it returns or is cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            settle: asyncio.TimerHandle | None = None
            if self._since is not None:
                settle = loop.call_later(self._backoff.settle_s, self._settled)
            try:
                await self._start()
                return  # a task with an end did its work
            except Exception as exc:  # whatever kills it, it must come back
                delay = self._failed(exc, loop.time())
            finally:
                if settle is not None:
                    settle.cancel()
            await asyncio.sleep(delay)  # the backoff: a timer owned by this task

    def _failed(self, exc: Exception, now: float) -> float:
        error = f"{type(exc).__name__}: {exc}"
        self._failures += 1
        self._in_a_row += 1
        self._error = error
        if self._since is None:
            self._since = now
        delay = self._backoff.delay(self._in_a_row)
        logged = self._logged
        if logged is None or logged[0] != error or now - logged[1] >= LOG_AGAIN_S:
            self._logged = (error, now)
            self._log.error(
                "%s failed (%d in a row); starting it again in %.1f s",
                self.name, self._in_a_row, delay, exc_info=exc,
            )  # fmt: skip
        else:
            self._log.debug("%s failed again (%d in a row): %s", self.name, self._in_a_row, error)
        self._changed()
        return delay

    def _settled(self) -> None:
        self._log.info("%s runs again, after %d failures in a row", self.name, self._in_a_row)
        self._since = None
        self._in_a_row = 0
        self._logged = None
        self._changed()
