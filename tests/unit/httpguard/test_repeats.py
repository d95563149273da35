"""A repeating log line is written once, then counted, and written again with its count."""

from __future__ import annotations

import logging

import pytest

from httpguard import OncePerWindow, RepeatedRecordFilter

# What these tests provoke on purpose, and what a passing run therefore logs.
pytestmark = pytest.mark.warning_logs(
    r"out of system resource",
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_once_per_window_counts_what_it_leaves_out() -> None:
    clock = FakeClock()
    once = OncePerWindow(60.0, clock)
    assert once.note("accept") == 0  # the first is written
    assert [once.note("accept") for _ in range(1000)] == [None] * 1000
    assert once.note("refused") == 0  # another kind has its own window
    clock.now = 60.0
    assert once.note("accept") == 1000  # written again, saying how many were left out
    assert once.note("accept") is None


def _record(msg: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, None) if exc else None
    return logging.LogRecord("asyncio", logging.ERROR, __file__, 1, msg, args, exc_info)


def test_the_filter_groups_records_by_template_and_exception_not_by_their_arguments() -> None:
    repeats = RepeatedRecordFilter()
    emfile = OSError(24, "Too many open files")
    assert repeats.filter(_record("socket.accept() out of system resource", exc=emfile))
    assert not repeats.filter(_record("socket.accept() out of system resource", exc=emfile))
    assert repeats.filter(_record("refused a connection from %s", "10.0.0.1"))
    assert not repeats.filter(_record("refused a connection from %s", "10.0.0.2"))
    assert repeats.filter(_record("socket.accept() out of system resource", exc=ValueError()))


def test_a_flood_through_a_logger_becomes_one_line() -> None:
    logger = logging.getLogger("tests.httpguard.flood")
    clock = FakeClock()
    repeats = RepeatedRecordFilter(60.0, clock)
    logger.addFilter(repeats)
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        for _ in range(10_000):
            logger.error("socket.accept() out of system resource")
        clock.now = 61.0
        logger.error("socket.accept() out of system resource")
    finally:
        logger.removeHandler(handler)
        logger.removeFilter(repeats)
    assert len(seen) == 2
    assert seen[1].getMessage().endswith("(and 9999 more like this since the last one logged)")
