"""TaskOwner: named tasks, a failure logged once, an idempotent close bounded in time."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest

from taskowner import TaskOwner

LOG = logging.getLogger("tests.taskowner")


async def _forever() -> None:
    await asyncio.Event().wait()


async def _fail() -> None:
    raise ValueError("boom")


async def test_a_task_is_named_after_its_owner_and_tracked_until_it_ends() -> None:
    owner = TaskOwner("registry", LOG)
    release = asyncio.Event()
    task = owner.async_spawn(release.wait(), "resolve kitchen")
    assert task.get_name() == "registry resolve kitchen"
    assert owner.running() == (task,)
    release.set()
    assert await task is True
    assert owner.running() == ()


async def test_an_unexpected_failure_is_logged_once_at_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    owner = TaskOwner("receiver", LOG)
    with caplog.at_level(logging.ERROR, logger=LOG.name):
        task = owner.async_spawn(_fail(), "save loop")
        await asyncio.wait([task])
        del task
        gc.collect()  # asyncio would report an unretrieved exception here
    failures = [r for r in caplog.records if r.name == LOG.name]
    assert [r.getMessage() for r in failures] == ["receiver save loop failed"]
    assert failures[0].exc_info is not None
    assert isinstance(failures[0].exc_info[1], ValueError)
    assert not [r for r in caplog.records if r.name == "asyncio"]


async def test_an_awaited_task_leaves_its_failure_to_the_caller(
    caplog: pytest.LogCaptureFixture,
) -> None:
    owner = TaskOwner("advertise", LOG)
    with caplog.at_level(logging.DEBUG):
        task = owner.async_spawn(_fail(), "prepare", awaited=True)
        with pytest.raises(ValueError, match="boom"):
            await task
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_close_cancels_every_task_and_is_idempotent() -> None:
    owner = TaskOwner("server", LOG)
    tasks = [owner.async_spawn(_forever(), f"link {n}") for n in range(3)]
    await asyncio.gather(owner.async_close(1.0), owner.async_close(1.0))
    assert all(task.cancelled() for task in tasks)
    assert owner.closed
    assert owner.running() == ()
    await owner.async_close(1.0)  # a third time: nothing left to do, returns at once


async def test_a_task_spawned_after_close_never_runs() -> None:
    owner = TaskOwner("player", LOG)
    await owner.async_close(1.0)
    ran = []

    async def body() -> None:
        ran.append(True)

    task = owner.async_spawn(body(), "stop quietly")
    await asyncio.wait([task])
    assert task.cancelled()
    assert ran == []


async def test_close_is_bounded_by_its_timeout_and_names_a_task_that_will_not_stop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    owner = TaskOwner("collector", LOG)
    stop = asyncio.Event()

    async def stubborn() -> None:
        while not stop.is_set():
            try:
                await stop.wait()
            except asyncio.CancelledError:
                continue  # swallows cancellation on purpose

    task = owner.async_spawn(stubborn(), "retention")
    await asyncio.sleep(0)  # let it reach its first await
    loop = asyncio.get_running_loop()
    with caplog.at_level(logging.WARNING, logger=LOG.name):
        started = loop.time()
        await owner.async_close(0.05)
        took = loop.time() - started
    assert took < 1.0
    assert not task.done()
    assert [r.getMessage() for r in caplog.records] == [
        "collector: collector retention did not stop within 0.05 s"
    ]
    stop.set()
    await task


async def test_cancelling_a_caller_of_close_does_not_stop_the_close() -> None:
    owner = TaskOwner("advertise", LOG)
    ended = asyncio.Event()

    async def slow_to_stop() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0.01)
            ended.set()

    owner.async_spawn(slow_to_stop(), "announce")
    await asyncio.sleep(0)
    closer = asyncio.create_task(owner.async_close(1.0))
    await asyncio.sleep(0)
    closer.cancel()
    await asyncio.wait_for(ended.wait(), 1.0)
    await owner.async_close(1.0)
    assert owner.running() == ()
