"""The libVLC thread: one thread, jobs in order, results and errors delivered, bounded close."""

from __future__ import annotations

import functools
import threading

import pytest

from devices._vlc_thread import VLCThread


async def test_jobs_run_in_order_on_one_thread() -> None:
    worker = VLCThread(name="test-libvlc")
    try:
        seen: list[tuple[int, int | None]] = []

        def record(i: int) -> None:
            seen.append((i, threading.get_ident()))

        futures = [worker.submit(functools.partial(record, i)) for i in range(5)]
        await worker.async_call(lambda: None)
        assert all(f.done() for f in futures)
        assert [i for i, _ in seen] == [0, 1, 2, 3, 4]
        assert {ident for _, ident in seen} == {worker.ident}
        assert worker.ident != threading.get_ident()
    finally:
        assert worker.close(timeout=2.0)


async def test_exceptions_reach_the_caller() -> None:
    worker = VLCThread()
    try:

        def boom() -> None:
            raise ValueError("from libVLC thread")

        with pytest.raises(ValueError, match="from libVLC thread"):
            await worker.async_call(boom)
        assert await worker.async_call(lambda: 42) == 42  # the thread survived
    finally:
        worker.close(timeout=2.0)


def test_close_is_idempotent_and_refuses_new_jobs() -> None:
    worker = VLCThread(name="test-libvlc-close")
    assert worker.close(timeout=2.0)
    assert worker.close(timeout=2.0)
    assert not any(t.name == "test-libvlc-close" for t in threading.enumerate())
    with pytest.raises(RuntimeError, match="closed"):
        worker.submit(lambda: None)


@pytest.mark.warning_logs(r"libVLC thread still busy")
def test_close_gives_up_on_a_hung_job_within_its_timeout() -> None:
    release = threading.Event()
    worker = VLCThread(name="test-libvlc-hung")
    worker.submit(release.wait)
    try:
        assert not worker.close(timeout=0.05)
    finally:
        release.set()  # let the daemon thread finish so no thread outlives the test
    assert worker.close(timeout=2.0)
