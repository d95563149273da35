"""The longest event-loop steps of Baton's code in a test run, for finding what the slow-callback
check (tests/conftest.py) would catch on a slower machine: `-p tests.loop_steps`.

The check fails a step over 100 ms of CPU; a step of 20 ms on an idle machine is a flake on a
loaded CI runner. This plugin times every callback and task step the way the check counts
(the thread's CPU time, less the garbage collector's), leaves out the suite's own coroutines
as the check does, and prints the longest per task or callback when the run ends, e.g.

    PYTHONPATH=$PWD .venv/bin/python -m pytest -p tests.loop_steps tests/integration/queues
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import defaultdict
from pathlib import Path

import pytest

SHOWN = 12
_MIN_S = 0.0005  # shorter steps are not kept: a run has hundreds of thousands of them
_TESTS = Path(__file__).resolve().parent
_steps: defaultdict[str, list[float]] = defaultdict(list)
_gc_s = [0.0, 0.0]  # the collector's CPU time so far, and when its pass began


def _on_gc(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _gc_s[1] = time.thread_time()
    else:
        _gc_s[0] += time.thread_time() - _gc_s[1]


def _name(handle: asyncio.Handle) -> str | None:
    """Return what *handle* runs (a task's coroutine or a callback), None for the suite's own."""
    callback = handle._callback  # type: ignore[attr-defined]
    task = getattr(callback, "__self__", None)
    target = task.get_coro() if isinstance(task, asyncio.Task) else callback
    code = getattr(target, "cr_code", None) or getattr(target, "__code__", None)
    if code is not None and Path(code.co_filename).resolve().is_relative_to(_TESTS):
        return None
    if code is not None and "pytest_asyncio" in code.co_filename:
        return None  # an async fixture's body, run by the plugin
    return str(getattr(target, "__qualname__", None) or type(target).__qualname__)


def pytest_configure(config: pytest.Config) -> None:
    """Time every loop step from now on (wrapping what tests/conftest.py already wraps)."""
    run = asyncio.events.Handle._run  # type: ignore[attr-defined]

    def timed(handle: asyncio.Handle) -> None:
        cpu, collected = time.thread_time(), _gc_s[0]
        run(handle)
        spent = time.thread_time() - cpu - (_gc_s[0] - collected)
        if spent >= _MIN_S and (name := _name(handle)) is not None:
            _steps[name].append(spent)

    asyncio.events.Handle._run = timed  # type: ignore[attr-defined,method-assign]
    gc.callbacks.append(_on_gc)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the longest step of each task or callback, the longest first."""
    terminalreporter.section("longest event-loop steps (CPU less GC, Baton's code)")
    rows = sorted(_steps.items(), key=lambda row: -max(row[1]))[:SHOWN]
    for name, spent in rows:
        spent.sort()
        terminalreporter.write_line(
            f"{max(spent) * 1000:7.1f} ms  (median {spent[len(spent) // 2] * 1000:5.1f} ms of"
            f" {len(spent):5d} steps over {_MIN_S * 1000:g} ms)  {name}"
        )
