"""SessionSender: a clock sample whose request could not be sent leaves no waiter behind."""

from __future__ import annotations

import gc
import logging

import pytest

from connect.errors import ConnectionLostError
from connect.session._sender import SessionSender


async def test_a_sample_that_could_not_be_sent_leaves_no_orphan_waiter(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sender = SessionSender("dev-1", lambda: 0, lambda: "")
    with pytest.raises(ConnectionLostError):
        await sender.async_sync_clock(samples=1)  # no session: the TimeRequest cannot go out
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        sender.fail_waiting("the session ended")  # later, the connection notices the loss
        gc.collect()  # an orphan failed waiter would be reported as never retrieved here
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []
