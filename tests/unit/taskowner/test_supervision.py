"""Supervised tasks: started again with backoff after a failure, logged once, and reported."""

from __future__ import annotations

import asyncio
import logging

import pytest

from taskowner import Backoff, TaskOwner

# What these tests provoke on purpose, and what a passing run therefore logs.
pytestmark = pytest.mark.warning_logs(
    r"failed \(\d+ in a row\)",
    r"did not stop within",
)

LOG = logging.getLogger("tests.taskowner.supervision")
QUICK = Backoff(first_s=0.01, cap_s=0.04, settle_s=0.2)


class Flaky:
    """A loop that fails its first *failures* runs with EMFILE, then runs until cancelled."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.runs = 0
        self.running = asyncio.Event()

    async def run(self) -> None:
        self.runs += 1
        if self.runs <= self.failures:
            raise OSError(24, "Too many open files")
        self.running.set()
        await asyncio.Event().wait()


async def test_a_failed_loop_is_started_again_and_its_failure_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    owner = TaskOwner("receiver", LOG)
    flaky = Flaky(failures=5)
    changes: list[bool] = []
    owner.watch_health(lambda: changes.append(owner.health()[0].failing))
    with caplog.at_level(logging.DEBUG, logger=LOG.name):
        task = owner.async_supervise(flaky.run, "session saving", backoff=QUICK)
        await asyncio.wait_for(flaky.running.wait(), 5)
    assert task.get_name() == "receiver session saving"
    assert flaky.runs == 6
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1  # five failures, one line with the traceback
    assert "receiver session saving failed" in errors[0].getMessage()
    assert errors[0].exc_info is not None
    health = owner.health()[0]
    assert health.failing
    assert health.failures == 5
    assert health.error == "OSError: [Errno 24] Too many open files"
    await owner.async_close(1)


async def test_a_loop_that_keeps_running_counts_as_healthy_again() -> None:
    owner = TaskOwner("advertiser", LOG)
    flaky = Flaky(failures=2)
    recovered = asyncio.Event()
    owner.watch_health(lambda: None if owner.health()[0].failing else recovered.set())
    owner.async_supervise(flaky.run, "interfaces", backoff=QUICK)
    await asyncio.wait_for(recovered.wait(), 5)  # after settle_s without a failure
    health = owner.health()[0]
    assert not health.failing
    assert health.failing_since is None
    assert health.failures == 2  # the history stays
    await owner.async_close(1)


async def test_the_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(first_s=0.5, cap_s=30.0)
    assert [backoff.delay(n) for n in (1, 2, 3, 7, 8, 50)] == [0.5, 1, 2, 30, 30, 30]


async def test_closing_the_owner_stops_a_supervised_task_even_during_its_backoff() -> None:
    owner = TaskOwner("receiver", LOG)
    flaky = Flaky(failures=1_000_000)
    task = owner.async_supervise(flaky.run, "token watch", backoff=Backoff(first_s=60))
    while flaky.runs == 0:  # noqa: ASYNC110 - the first run happens on the next loop turn
        await asyncio.sleep(0)
    await owner.async_close(1)
    assert task.cancelled()
    assert flaky.runs == 1


async def test_a_supervised_task_that_returns_is_done_and_not_started_again() -> None:
    owner = TaskOwner("receiver", LOG)
    runs: list[int] = []

    async def once() -> None:
        runs.append(1)

    await owner.async_supervise(once, "checkpoints")
    assert runs == [1]
    assert not owner.health()[0].failing
    await owner.async_close(1)
