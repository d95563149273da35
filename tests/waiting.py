"""Waiting on a condition with a deadline, for tests whose subject offers no event to await."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

POLL_S = 0.005


async def until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Return once *condition()* is true; fail with *what* after *timeout* seconds. An error the
    condition raises goes up as it is, a TimeoutError of its own (a socket's) too: it is not
    this deadline passing, and saying so would hide what happened."""
    deadline = asyncio.timeout(timeout)
    try:
        async with deadline:
            while not condition():  # noqa: ASYNC110 - the condition has no event of its own
                await asyncio.sleep(POLL_S)
    except TimeoutError:
        if not deadline.expired():
            raise
        raise AssertionError(f"not true within {timeout:g} s: {what or condition}") from None
