"""The receiver's HTTP side refuses oversized heads and never logs the credential inside one."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from httpguard import MAX_HEADER_COUNT, MAX_LINE_BYTES
from tests.fakes import MemoryHost
from tests.unit.hardening.rawhttp import exchange, get

TOKEN = "0a1b2c3d.S3cr3t-t0ken-that-must-never-be-logged-aaaaaaaaaaaaa"


@pytest.fixture
async def receiver_port() -> AsyncIterator[int]:
    host = MemoryHost()
    port = await host.server.async_start(["127.0.0.1"], 0)
    yield port
    await host.server.async_close()


@pytest.mark.parametrize(
    "head",
    [
        get("/connect/v1/tokens", f"Authorization: Bearer {TOKEN}" + " " * MAX_LINE_BYTES),
        get(f"/connect/v1/info?token={TOKEN}&pad=" + "p" * MAX_LINE_BYTES),
        get("/connect/v1/info", *(f"X-{i}: {TOKEN}" for i in range(MAX_HEADER_COUNT + 1))),
    ],
    ids=["long-authorization", "long-url", "too-many-headers"],
)
async def test_an_oversized_head_is_refused_and_logged_without_its_bytes(
    receiver_port: int, caplog: pytest.LogCaptureFixture, head: str
) -> None:
    caplog.set_level(logging.DEBUG)
    response = await exchange(receiver_port, head)
    assert 400 <= response.status < 500
    logged = "\n".join(
        [r.getMessage() for r in caplog.records] + [r.exc_text or "" for r in caplog.records]
    )
    assert TOKEN[:12] not in logged
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # And the device keeps answering.
    assert (await exchange(receiver_port, get("/connect/v1/info"))).status == 200
