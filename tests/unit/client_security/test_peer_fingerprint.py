"""Probing a device added by address for its certificate does not block the event loop."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest

from connect.access import tls
from connect.access._requests import async_peer_fingerprint


async def test_the_probe_reads_the_fingerprint_without_loading_the_ca_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    identity = await asyncio.to_thread(tls.load_or_create_identity, tmp_path)

    async def hang_up(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0, ssl=tls.server_context(identity))
    port = server.sockets[0].getsockname()[1]

    def no_ca_store(*_args: object, **_kwargs: object) -> None:
        # Loading the system's CA store takes ~100 ms of disk reads on the loop, and the
        # probe trusts nothing anyway (the fingerprint is checked by its caller).
        raise AssertionError("the probe loaded the CA store")

    monkeypatch.setattr(ssl.SSLContext, "load_default_certs", no_ca_store)
    try:
        assert await async_peer_fingerprint("127.0.0.1", port, 5.0) == identity.fingerprint
    finally:
        server.close()
        await server.wait_closed()
