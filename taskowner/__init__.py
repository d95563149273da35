"""The background tasks of one long-lived object: started by name, failures logged once, and
cancelled in an idempotent close bounded by a timeout.

A leaf package: it imports nothing of Baton, so connect, devices and the trace collector
(which may not import connect) share one owner instead of each copying a `_spawn` and a task
set. Every method runs on the event-loop thread only (the `async_` prefix).

Supervision: `async_supervise` takes a coroutine *function* and runs it as an owned task that
is started again, with backoff, whenever it fails; `health()` says which of those are failing
(taskowner/_supervision.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from taskowner._supervision import Backoff, Supervised, TaskHealth

__all__ = ["Backoff", "TaskHealth", "TaskOwner"]

_T = TypeVar("_T")


class TaskOwner:
    """Owns the tasks an object starts: each named, tracked until done, cancelled on close."""

    def __init__(self, owner: str, logger: logging.Logger) -> None:
        self._owner = owner  # the object's name in task names and log lines ("registry", ...)
        self._log = logger  # the owning object's logger: its failures read as its own
        self._tasks: dict[asyncio.Task[Any], bool] = {}  # task -> log its failure here
        self._closing: asyncio.Task[None] | None = None
        self._supervised: list[Supervised] = []
        self._health_listeners: list[Callable[[], None]] = []

    @property
    def closed(self) -> bool:
        """Whether `async_close` has been called (the owner starts nothing after it)."""
        return self._closing is not None

    def running(self) -> tuple[asyncio.Task[Any], ...]:
        """Return the tasks not finished yet."""
        return tuple(self._tasks)

    def async_spawn(
        self, coro: Coroutine[Any, Any, _T], what: str, *, awaited: bool = False
    ) -> asyncio.Task[_T]:
        """Start *coro* as a task named "<owner> <what>" and own it until it ends.

        An exception it raises is logged once, at error level, unless *awaited*: then a caller
        awaits the task and handles the exception itself. After close, the task returned is
        already cancelled, so *coro* never runs.
        """
        task = asyncio.get_running_loop().create_task(coro, name=f"{self._owner} {what}")
        if self._closing is not None:
            self._log.debug("%s closed: not starting %s", self._owner, what)
            task.cancel()  # cancelled before its first step: the body never runs
        self._tasks[task] = not awaited
        task.add_done_callback(self._finished)
        return task

    def async_supervise(
        self,
        start: Callable[[], Coroutine[Any, Any, None]],
        what: str,
        *,
        backoff: Backoff | None = None,
    ) -> asyncio.Task[None]:
        """Run `start()` as a task named like async_spawn's, started again whenever it fails.

        For the loops a service lives on: a failure is logged once (not at every restart), the
        task waits a backoff and runs `start()` afresh, and `health()` reports it as failing
        until it has run a while without failing (taskowner/_supervision.py).
        """
        supervised = Supervised(
            f"{self._owner} {what}", start, self._log, self._health_changed, backoff or Backoff()
        )
        self._supervised.append(supervised)
        return self.async_spawn(supervised.async_run(), what)

    def health(self) -> tuple[TaskHealth, ...]:
        """Return how each supervised task is doing."""
        return tuple(supervised.health for supervised in self._supervised)

    def watch_health(self, listener: Callable[[], None]) -> None:
        """Call *listener* whenever a supervised task fails or runs again."""
        self._health_listeners.append(listener)

    async def async_close(self, timeout: float) -> None:
        """Cancel every task and wait up to *timeout* s for them to end; idempotent.

        A task still running after *timeout* (one that swallows cancellation) is named in a
        warning and left behind. Cancelling a caller of this method does not stop the close.
        """
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(
                self._close(timeout), name=f"{self._owner} close"
            )
        await asyncio.shield(self._closing)

    async def _close(self, timeout: float) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        if pending:
            names = ", ".join(sorted(task.get_name() for task in pending))
            self._log.warning("%s: %s did not stop within %g s", self._owner, names, timeout)

    def _health_changed(self) -> None:
        for listener in list(self._health_listeners):
            listener()

    def _finished(self, task: asyncio.Task[Any]) -> None:
        if not self._tasks.pop(task, False) or task.cancelled():
            return  # an awaited task's exception is its caller's (asyncio reports it if lost)
        error = task.exception()  # retrieved here, so asyncio never reports it a second time
        if error is not None:
            self._log.error("%s failed", task.get_name(), exc_info=error)
