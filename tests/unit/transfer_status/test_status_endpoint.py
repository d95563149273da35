"""`GET /connect/v1/transfers/{id}` on a real loopback server, and the source's question to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from connect.access import tls
from connect.errors import ConnectError, ConnectionLostError
from connect.session import SessionServer, TransferPhases
from connect.transfer import async_ask_transfer_phase
from connect.wire import codec
from connect.wire import messages as m
from tests.fakes import MemoryHost

KNOWN = {"t-started": m.TransferPhase.STARTED, "t-pre": m.TransferPhase.PREROLLED}


def known_phase(transfer_id: str) -> m.TransferPhase:
    return KNOWN.get(transfer_id, m.TransferPhase.UNKNOWN)


@asynccontextmanager
async def serving(
    phases: TransferPhases | None = known_phase, identity: tls.TlsIdentity | None = None
) -> AsyncIterator[str]:
    """Yield the base URL of a device serving the status endpoint (https with *identity*)."""
    context = tls.server_context(identity) if identity is not None else None
    server = SessionServer(MemoryHost(), transfer_phase=phases, ssl_context=context)
    port = await server.async_start(["127.0.0.1"], 0)
    try:
        yield f"{'https' if identity else 'http'}://127.0.0.1:{port}"
    finally:
        await server.async_close()


async def get(url: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.read()


@pytest.mark.parametrize(
    ("tid", "phase"),
    [
        ("t-started", m.TransferPhase.STARTED),
        ("t-pre", m.TransferPhase.PREROLLED),
        ("0123456789abcdef0123456789abcdef", m.TransferPhase.UNKNOWN),
    ],
)
async def test_it_answers_the_phase_and_unknown_for_an_id_it_never_saw(
    tid: str, phase: m.TransferPhase
) -> None:
    async with serving() as base:
        status, body = await get(f"{base}/connect/v1/transfers/{tid}")
    assert status == 200
    assert codec.decode_transfer_status(body) == m.TransferStatus(tid, phase)


async def test_a_device_that_takes_no_transfers_says_unknown() -> None:
    async with serving(None) as base:
        status, body = await get(f"{base}/connect/v1/transfers/t-started")
    assert status == 200
    assert codec.decode_transfer_status(body).phase is m.TransferPhase.UNKNOWN


@pytest.mark.parametrize("tid", ["a" * 129, "a%20b", "caf%C3%A9", "a%2Fb"])
async def test_an_id_that_is_not_one_gets_400_with_a_typed_failure(tid: str) -> None:
    asked: list[str] = []

    def phases(transfer_id: str) -> m.TransferPhase:
        asked.append(transfer_id)
        return m.TransferPhase.STARTED

    async with serving(phases) as base:
        status, body = await get(f"{base}/connect/v1/transfers/{tid}")
    assert status == 400
    assert codec.decode_failure(body).code is m.ErrorCode.MALFORMED
    assert asked == []  # refused before the device was asked


async def test_the_source_asks_an_open_target() -> None:
    async with serving() as base:
        assert (
            await async_ask_transfer_phase("dev-open", base, "t-started") is m.TransferPhase.STARTED
        )
        assert (
            await async_ask_transfer_phase("dev-open", base, "t-other") is m.TransferPhase.UNKNOWN
        )


async def test_the_source_asks_a_pin_mode_target_over_tls_pinned_to_its_id(
    tmp_path: Path,
) -> None:
    # key generation and file writes: off the loop the server under test runs on
    identity = await asyncio.to_thread(tls.load_or_create_identity, tmp_path / "target")
    other = await asyncio.to_thread(tls.load_or_create_identity, tmp_path / "impostor")
    async with serving(identity=identity) as base:
        phase = await async_ask_transfer_phase(identity.fingerprint, base, "t-pre")
        assert phase is m.TransferPhase.PREROLLED
        with pytest.raises(ConnectionLostError):
            await async_ask_transfer_phase(other.fingerprint, base, "t-pre")


async def test_a_target_that_cannot_be_reached_or_answers_wrongly_is_a_typed_error() -> None:
    async with serving() as base:
        pass  # closed: nothing listens on that port any more
    with pytest.raises(ConnectionLostError):
        await async_ask_transfer_phase("dev-gone", base, "t-started", timeout_s=1.0)
    with pytest.raises(ConnectError, match="400"):
        async with serving() as live:
            await async_ask_transfer_phase("dev", live, "a" * 129)
