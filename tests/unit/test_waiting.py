"""tests/waiting.py's `until`: its own deadline is an AssertionError naming what was awaited;
an error the condition raises, a socket's TimeoutError included, goes up as it is."""

from __future__ import annotations

import pytest

from tests.waiting import until


async def test_a_condition_never_true_fails_naming_it() -> None:
    with pytest.raises(AssertionError, match=r"not true within 0.05 s: the peer listens"):
        await until(lambda: False, 0.05, "the peer listens")


async def test_a_socket_timeout_in_the_condition_is_not_taken_for_the_deadline() -> None:
    def condition() -> bool:
        raise TimeoutError("timed out")  # a socket.timeout, as from a slow peer

    with pytest.raises(TimeoutError, match="timed out"):
        await until(condition, 10.0, "the peer listens")


async def test_a_condition_that_becomes_true_returns() -> None:
    calls = iter([False, False, True])
    await until(lambda: next(calls), 1.0)
