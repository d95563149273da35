"""The one thread that makes every libVLC call, and how its results reach asyncio."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

_LOGGER = logging.getLogger(__name__)

T = TypeVar("T")

_Job = tuple[Callable[[], Any], concurrent.futures.Future[Any]]

# A timed call: the loop sleeps until this long before the instant (asyncio's timers are good to
# a millisecond or so, and the loop may be busy), then the job sleeps the rest on the thread
# with time.sleep and makes the call at once; the thread is held that long only.
THREAD_LEAD_US = 20_000


def _monotonic_us() -> int:
    return time.monotonic_ns() // 1000


class VLCThread:
    """A daemon thread running submitted callables one at a time, in order."""

    # libVLC is not re-entrant and python-vlc asks for all calls from one thread; a single
    # thread also gives a total order to load/play/pause/seek without any lock.
    # Daemon on purpose: a libVLC call that hangs (seen on Pis) must not keep the process alive
    # after close() gave up on it.

    def __init__(self, name: str = "libvlc") -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._closing = False
        self._thread.start()

    @property
    def ident(self) -> int | None:
        """Return the worker thread's identifier (to assert where code runs)."""
        return self._thread.ident

    def submit(self, fn: Callable[[], T]) -> concurrent.futures.Future[T]:
        """Queue *fn* for the worker thread; the future holds its result or exception."""
        if self._closing:
            raise RuntimeError("the libVLC thread is closed")
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._jobs.put((fn, future))
        return future

    async def async_call(self, fn: Callable[[], T]) -> T:
        """Run *fn* on the worker thread and return its result to the awaiting task."""
        return await asyncio.wrap_future(self.submit(fn))

    @staticmethod
    async def async_until_lead(at_us: int) -> None:
        """Sleep on the loop until THREAD_LEAD_US before monotonic *at_us*."""
        await asyncio.sleep(max(0, at_us - THREAD_LEAD_US - _monotonic_us()) / 1_000_000)

    async def async_call_at(self, at_us: int, fn: Callable[[], T]) -> T:
        """Run *fn* on the worker thread as soon after monotonic *at_us* as it can."""
        await self.async_until_lead(at_us)

        def timed() -> T:
            delay = at_us - _monotonic_us()
            if delay > 0:
                time.sleep(delay / 1_000_000)
            return fn()

        return await self.async_call(timed)

    def close(self, timeout: float) -> bool:
        """Finish queued jobs and stop, waiting at most *timeout* s; return whether it stopped."""
        if not self._closing:
            self._closing = True
            self._jobs.put(None)
        if threading.current_thread() is self._thread:
            return False  # called from a job: the thread stops after it returns
        self._thread.join(timeout)
        stopped = not self._thread.is_alive()
        if not stopped:
            _LOGGER.warning("libVLC thread still busy after %.1f s; abandoning it", timeout)
        return stopped

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn()
            except BaseException as exc:  # delivered to the awaiting caller, not lost here
                future.set_exception(exc)
            else:
                future.set_result(result)
