"""Runs a fuzzing target under hypothesis: a short smoke (pytest) or for a time budget.

A target checks one input at a time and raises AssertionError (or anything else) when the
code under test misbehaves. Around every input the engine also fails on records logged at
ERROR (an aiohttp handler that crashed logs one and answers 500) and on hangs: a watchdog
thread saves the input and ends the process if one input runs longer than HANG_S.
"""

from __future__ import annotations

import asyncio
import faulthandler
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz import seeds

HANG_S = 30.0  # far beyond any input's normal handling; targets time out their own I/O sooner
ROUND_S = 10.0  # a budgeted run reports progress about this often

Check = Callable[[Any], None]


@dataclass(frozen=True)
class Target:
    """One fuzzing target: what it is fed, how an input is checked, how to keep a failing one."""

    name: str
    inputs: st.SearchStrategy[Any]
    open: Callable[[], AbstractContextManager[Check]]  # sets the target up, yields its check
    seeds_of: Callable[[Any], list[tuple[str, bytes]]]  # (kind, bytes) worth keeping as seeds
    smoke_examples: int  # examples under plain pytest, sized to keep the fuzz dir under ~30 s
    corpus: str = ""  # the corpus folder its seeds come from, if not its name
    # Records logged at ERROR that are not failures (say why at each target's definition).
    tolerated: Callable[[logging.LogRecord], bool] = lambda record: False


@dataclass
class Run:
    """What one target's run did: examples tried, time spent, and the failure if any."""

    target: str
    examples: int = 0
    seconds: float = 0.0
    failure: BaseException | None = None
    found: list[Path] = field(default_factory=list)
    last: Any = None  # the input checked last: after a failure, hypothesis's shrunk example
    started_at: float = 0.0  # monotonic start of the input being checked now, 0 between inputs

    @property
    def rate(self) -> float:
        """Examples per second."""
        return self.examples / self.seconds if self.seconds else 0.0


def smoke(target: Target) -> Run:
    """Check *target*'s smoke count of inputs, the same ones on every run; raise on a failure."""
    run = Run(target.name)
    with target.open() as check, _Watchdog(run, target):
        _property(target, check, run, target.smoke_examples, derandomize=True)()
    return run


def fuzz_for(
    target: Target, seconds: float, progress: Callable[[Run], None] = lambda run: None
) -> Run:
    """Fuzz *target* with fresh random inputs for about *seconds*; never raise, report in Run.

    Hypothesis has no time limit, so the budget is spent in rounds, each a complete hypothesis
    run sized to last about ROUND_S at the rate measured so far.
    """
    run = Run(target.name)
    started = time.monotonic()
    stop_at = started + seconds
    batch = 100
    with target.open() as check, _Watchdog(run, target):
        while True:
            try:
                _property(target, check, run, batch, derandomize=False)()
            except Exception as exc:  # the failure is the result: report it, do not raise
                run.failure = exc
                run.found = _save_found(target, run.last)
            run.seconds = time.monotonic() - started
            progress(run)
            left = stop_at - time.monotonic()
            if run.failure is not None or left <= 0:
                return run
            batch = max(50, int(run.rate * min(ROUND_S, left)))


def check_each(target: Target, values: Iterable[Any]) -> Run:
    """Check each of *values* (seeds, regressions) as the fuzzer would; raise on a failure."""
    run = Run(target.name)
    with target.open() as check, _Watchdog(run, target):
        for value in values:
            _check_one(target, check, run, value)
    return run


@contextmanager
def event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A private event loop for a target's servers; on exit, leftover tasks are cancelled.

    A target's check runs one input to completion with `loop.run_until_complete`, so the
    hypothesis property stays synchronous and the servers live across inputs.
    """
    loop = asyncio.new_event_loop()
    # Without asyncio's debug mode, under pytest (whose loops all have it, tests/conftest.py)
    # as under `./dev fuzz`: it records where every callback, future and task was made, which
    # is two thirds of what an input to a receiver costs. A hang is the watchdog's to catch.
    loop.set_debug(False)
    try:
        yield loop
    finally:
        # Connections a server was still reading (a raw request cut short) leave handler
        # tasks behind; end them here rather than let the closed loop complain about them.
        loop.run_until_complete(_cancel_other_tasks())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def _property(target: Target, check: Check, run: Run, examples: int, *, derandomize: bool):
    """Return *check* as a hypothesis property over *target*'s inputs, counting into *run*."""

    @settings(
        max_examples=examples,
        derandomize=derandomize,
        database=None,  # regressions live in the corpus, not in .hypothesis/
        deadline=None,  # no timing assertion: hangs are the watchdog's job
        print_blob=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
    @given(target.inputs)
    def fuzzed_input_is_handled(value: Any) -> None:
        _check_one(target, check, run, value)

    return fuzzed_input_is_handled


def _check_one(target: Target, check: Check, run: Run, value: Any) -> None:
    """Check one input; fail also on what was logged at ERROR meanwhile, unless tolerated."""
    run.last = value
    run.examples += 1
    run.started_at = time.monotonic()
    try:
        with _errors_logged() as errors:
            check(value)
    finally:
        run.started_at = 0.0
    failures = [_describe(r) for r in errors if not target.tolerated(r)]
    assert not failures, "logged at ERROR while handling the input:\n" + "\n".join(failures)


def _save_found(target: Target, value: Any) -> list[Path]:
    folder = target.corpus or target.name
    return [seeds.save_found(folder, kind, data) for kind, data in target.seeds_of(value)]


async def _cancel_other_tasks() -> None:
    others = asyncio.all_tasks() - {asyncio.current_task()}
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)


def _describe(record: logging.LogRecord) -> str:
    return f"{record.name}: {logging.Formatter().format(record)}"


@contextmanager
def _errors_logged() -> Iterator[list[logging.LogRecord]]:
    """Collect what anything logs at ERROR or above while the block runs."""
    found: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            found.append(record)

    handler = Collect(logging.ERROR)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield found
    finally:
        root.removeHandler(handler)


class _Watchdog:
    """Ends the process, keeping the input, if one input runs longer than HANG_S.

    An exception cannot stop code stuck in C (protobuf, zlib), and a hung event loop never
    reaches its own timeouts, so a thread watches and exits hard, after saying what hung.
    """

    def __init__(self, run: Run, target: Target) -> None:
        self._run = run
        self._target = target
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="fuzz-watchdog", daemon=True)

    def __enter__(self) -> _Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            started = self._run.started_at
            if started and time.monotonic() - started > HANG_S:
                self._report_hang()

    def _report_hang(self) -> None:
        run = self._run
        print(f"\n{run.target}: one input ran over {HANG_S:.0f} s: a hang", file=sys.stderr)
        print(f"input: {run.last!r}"[:4000], file=sys.stderr)
        for path in _save_found(self._target, run.last):
            print(f"saved: {path}", file=sys.stderr)
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        sys.stderr.flush()
        os._exit(3)
