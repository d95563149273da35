"""Suite-wide settings: Qt runs offscreen, every test is isolated from real networks, and a test
fails on what would otherwise scroll past: a WARNING (or worse) log line it did not expect, a
Qt warning (pytest-qt's `qt_log_level_fail`, pyproject.toml), and an asyncio callback that
holds its event loop for 100 ms of work or a second of blocking (every loop runs in
debug mode)."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.scheduling import longest_first, mark_alone

# pytest-qt aborts without a platform plugin; set before anything imports Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The user's own config (credentials, the CLI's last-reached addresses, the app's settings) is
# never read or written by a test: each test process, and what it starts, gets its own.
_CONFIG_HOME = tempfile.mkdtemp(prefix="baton-test-config-")
os.environ["XDG_CONFIG_HOME"] = _CONFIG_HOME
os.environ.pop("BATON_CONFIG_DIR", None)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the timing proofs `alone` and put the longest modules first (tests/scheduling.py)."""
    mark_alone(items)
    longest_first(items)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the test process's private config folder."""
    shutil.rmtree(_CONFIG_HOME, ignore_errors=True)


SLOW_CALLBACK_S = float(os.environ.get("BATON_SLOW_CALLBACK_S", "0.1"))
"""A callback or task step that computes longer blocks every other peer on its loop: asyncio's
debug mode logs it at WARNING ("Executing <Handle ...> took 0.123 seconds"), which fails the
test like any other unexpected warning. What is counted is the CPU time the loop's thread
spent in the callback, less the garbage collector's share (see _SlowCallbacksOnly); a wall
clock is not, because on a CI runner whose CPU quota throttles the container it runs on
while the callback is not running at all. BATON_SLOW_CALLBACK_S changes the bound."""

BLOCKED_S = max(1.0, SLOW_CALLBACK_S)
"""A callback that holds its loop this long without computing (a blocking read, a sleep, a
sync DNS lookup) fails too: wall time less the waits for a CPU and the collector's pauses.
A second, not less: a loop thread waiting for the interpreter lock while another thread
holds it (an executor's Python work, descheduled on a loaded machine) is not waiting for a
CPU in the kernel's eyes, and a CI runner's CPU quota stops the clock in neither figure;
0.56 s of such waiting was seen with 1 ms of work at load 12."""


class _ThreadClocks(threading.local):
    """What this thread spent off its own work during a callback: waiting for a CPU (Linux
    schedstat, in seconds) and in the garbage collector; and its CPU time.

    asyncio measures a callback in wall-clock time. On a machine shared with busy processes
    the kernel may keep the loop's thread off the CPU for longer than the callback ran; and a
    full collection of the test process's heap (thousands of tests' objects) lands in whatever
    callback allocates at that moment. Neither is the callback's doing.
    """

    def __init__(self) -> None:
        try:
            self._fd: int | None = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
        except OSError:
            self._fd = None  # not Linux: no run-queue figure
        self.gc_s = 0.0
        self._gc_started = 0.0
        self.at_start = (0.0, 0.0, 0.0)  # (run-queue wait, gc, CPU) when the callback began

    def waited_s(self) -> float:
        if self._fd is None:
            return 0.0
        return int(os.pread(self._fd, 64, 0).split()[1]) / 1e9

    def now(self) -> tuple[float, float, float]:
        return self.waited_s(), self.gc_s, time.thread_time()

    def on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif self._gc_started:
            self.gc_s += time.perf_counter() - self._gc_started
            self._gc_started = 0.0


_CLOCKS = _ThreadClocks()
gc.callbacks.append(lambda phase, info: _CLOCKS.on_gc(phase, info))
_handle_run = asyncio.events.Handle._run


def _run_noting_the_clocks(self: asyncio.Handle) -> None:
    _CLOCKS.at_start = _CLOCKS.now()
    _handle_run(self)  # type: ignore[attr-defined]


asyncio.events.Handle._run = _run_noting_the_clocks  # type: ignore[attr-defined,method-assign]


class _SlowCallbacksOnly(logging.Filter):
    """Keeps asyncio's "Executing ... took N seconds" only if the callback itself held the
    loop: SLOW_CALLBACK_S of its own CPU time, or BLOCKED_S of wall time, each less the
    collector's pauses (and the wall time less the waits for a CPU)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != "Executing %s took %.3f seconds" or not isinstance(record.args, tuple):
            return True
        if _is_test_code(record.args[0]):
            return False
        (waited_0, gc_0, cpu_0), (waited_1, gc_1, cpu_1) = _CLOCKS.at_start, _CLOCKS.now()
        waited, collected = waited_1 - waited_0, gc_1 - gc_0
        computed = cpu_1 - cpu_0 - collected
        held = float(record.args[1]) - waited - collected
        if computed < SLOW_CALLBACK_S and held < BLOCKED_S:
            return False
        record.msg = (
            "Executing %s took %.3f seconds (%.3f s of it computing, %.3f s waiting for a CPU,"
            " %.3f s in the garbage collector)"
        )
        record.args = (*record.args, computed, waited, collected)
        return True


_TESTS_DIR = Path(__file__).resolve().parent
_FIXTURE_RUNNER = Path(pytest_asyncio.__file__).resolve().parent


# A nested coroutine's name holds "<locals>": the name may hold ">", the path may not.
_TASK_CORO = re.compile(r"coro=<.*?\(\) (?:running|done, defined) at ([^:>]+):\d+>")


def _is_test_code(handle: object) -> bool:
    """Say whether *handle* (asyncio's text for it) is a step of a task whose coroutine the
    test suite wrote (a test body, an async fixture, a test helper run as a task): what the
    check is for is Baton's own tasks and callbacks, which share a loop with peers in
    production; a test's own steps (starting processes, reading audio) serve no peer."""
    found = _TASK_CORO.search(str(handle))
    if found is None:
        return False
    # pytest-asyncio runs an async fixture's setup as a coroutine of its own plugin's: the
    # fixture's body, test code (seen failing a loaded run: a pairing fixture's keys, 0.10 s).
    defined = Path(found[1]).resolve()
    return defined.is_relative_to(_TESTS_DIR) or defined.is_relative_to(_FIXTURE_RUNNER)


logging.getLogger("asyncio").addFilter(_SlowCallbacksOnly())


class _DebugLoopPolicy(asyncio.DefaultEventLoopPolicy):
    """Every new event loop in the test process runs in debug mode: pytest-asyncio's, those of
    `asyncio.run`, and the app's core thread's."""

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        loop = super().new_event_loop()
        loop.set_debug(True)
        loop.slow_callback_duration = SLOW_CALLBACK_S
        return loop


asyncio.set_event_loop_policy(_DebugLoopPolicy())


class _WarningRecords(logging.Handler):
    """Keeps every record at WARNING or above that reaches the root logger, from any thread."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def _fail_on_unexpected_warning_logs(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test if anything logged a WARNING or worse that the test did not expect.

    A test expects warnings by taking `caplog` (then it checks them itself) or by the
    `warning_logs` marker, which names the lines it allows.
    """
    records = _WarningRecords()
    root = logging.getLogger()
    root.addHandler(records)
    try:
        yield
    finally:
        root.removeHandler(records)
    if "caplog" in request.fixturenames:
        return
    markers = list(request.node.iter_markers("warning_logs"))  # the test's, its module's ...
    if any(not marker.args for marker in markers):
        return
    allowed = [re.compile(pattern) for marker in markers for pattern in marker.args]
    unexpected = [
        record
        for record in records.records
        if not any(pattern.search(record.getMessage()) for pattern in allowed)
    ]
    if unexpected:
        lines = "\n".join(_one_line(r) for r in unexpected[:20])
        pytest.fail(
            f"{len(unexpected)} unexpected log line(s) at WARNING or above:\n{lines}\n"
            "(fix the cause, or mark the test with @pytest.mark.warning_logs(PATTERN))",
            pytrace=False,
        )


def _one_line(record: logging.LogRecord) -> str:
    """Say what *record* logged, with its exception's type and text when it carries one (a
    CI log shows only this report, so "Error handling request" alone would name no cause)."""
    line = f"  {record.levelname} {record.name}: {record.getMessage()}"
    if record.exc_info and record.exc_info[1] is not None:
        error = record.exc_info[1]
        where = error.__traceback__
        while where is not None and where.tb_next is not None:
            where = where.tb_next
        place = f" at {where.tb_frame.f_code.co_filename}:{where.tb_lineno}" if where else ""
        line += f"\n    {type(error).__name__}: {error}{place}"
    return line
