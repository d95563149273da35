"""The collector bounds bodies (as sent and inflated) and heads, and refuses static path escapes."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from pathlib import Path

import pytest

from tests.unit.hardening.rawhttp import exchange, get, read_response
from tests.unit.tracing.support import ALICE_PHONE, ALICE_SPEAKER, Running, running_collector
from tracing import _guard, _server, samples

# These collectors take traces without a token (--open-ingest), and say so.
pytestmark = pytest.mark.warning_logs(r"ingest is open \(--open-ingest\)")

MIB = 1024 * 1024


def _traces() -> bytes:
    request = samples.traces_request([samples.Message(ALICE_PHONE, ALICE_SPEAKER)])
    return request.SerializeToString()


def _gzip_bomb(inflated: int) -> bytes:
    """Return a gzip stream of *inflated* zero bytes, built without holding them in memory."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(MIB)
    parts = [deflater.compress(block) for _ in range(inflated // MIB)]
    parts.append(deflater.flush())
    return b"".join(parts)


async def _still_ingests(collector: Running) -> None:
    before = collector.collector.ingested
    assert (await collector.post("traces", _traces())).status == 200
    assert collector.collector.ingested == before + 2


async def test_a_gzip_bomb_is_refused_and_ingest_carries_on(collector: Running):
    # 1 GiB of zeros in about 1 MiB: seconds of compression, off the collector's loop
    bomb = await asyncio.to_thread(_gzip_bomb, 1024 * MIB)
    assert len(bomb) < _guard.MAX_WIRE_BODY
    response = await collector.post("traces", bomb, **{"Content-Encoding": "gzip"})
    assert response.status == 413
    assert "exceeds" in await response.text()
    assert collector.collector.ingested == 0
    await _still_ingests(collector)


async def test_gzip_and_deflate_bodies_within_the_limits_are_stored(collector: Running):
    gz = await collector.post("traces", gzip.compress(_traces()), **{"Content-Encoding": "gzip"})
    assert gz.status == 200
    request = samples.traces_request([samples.Message(ALICE_SPEAKER, ALICE_PHONE, seq=2)])
    deflated = zlib.compress(request.SerializeToString())
    df = await collector.post("traces", deflated, **{"Content-Encoding": "deflate"})
    assert df.status == 200
    assert collector.collector.ingested == 4


async def test_an_unknown_encoding_is_a_clear_415(collector: Running):
    response = await collector.post("traces", _traces(), **{"Content-Encoding": "br"})
    assert response.status == 415  # Unsupported Media Type covers Content-Encoding too
    assert "Content-Encoding" in await response.text()


async def test_a_declared_oversized_body_is_refused_before_it_is_sent(collector: Running):
    head = "\r\n".join(
        [
            "POST /v1/traces HTTP/1.1",
            "Host: 127.0.0.1",
            "Content-Type: application/x-protobuf",
            f"Content-Length: {_guard.MAX_WIRE_BODY + 1}",
            "Connection: close",
        ]
    )
    response = await exchange(collector.collector.port, head)  # not a byte of the body sent
    assert response.status == 413
    assert str(_guard.MAX_WIRE_BODY) in response.body.decode()
    await _still_ingests(collector)


async def test_an_oversized_chunked_body_is_refused(collector: Running):
    reader, writer = await asyncio.open_connection("127.0.0.1", collector.collector.port)
    head = (
        "POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        "Content-Type: application/x-protobuf\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    writer.write(head.encode())
    chunk = b"%x\r\n%s\r\n" % (MIB, b"\x0a" * MIB)  # never valid OTLP, never reaches decode

    async def send_too_much() -> None:
        try:
            for _ in range(_guard.MAX_WIRE_BODY // MIB + 2):
                writer.write(chunk)
                await writer.drain()
        except ConnectionError:
            pass  # the server may close once it has answered

    sender = asyncio.create_task(send_too_much())
    try:
        response = await asyncio.wait_for(read_response(reader), 30)
    finally:
        await sender
        writer.close()
    assert response.status == 413
    await _still_ingests(collector)


async def test_the_login_takes_only_a_small_body(collector: Running):
    assert collector.http is not None
    padding = "x" * (_guard.MAX_SMALL_BODY + 1)
    async with collector.http.post(
        collector.base + "/api/login", json={"token": collector.tokens["bob"], "pad": padding}
    ) as response:
        assert response.status == 413
        assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize(
    "head",
    [
        get("/api/whoami?q=" + "a" * (_guard.MAX_LINE_BYTES + 1)),
        get("/", "X-Long: " + "b" * (_guard.MAX_LINE_BYTES + 1)),
        get("/", *(f"X-{i}: {i}" for i in range(_guard.MAX_HEADER_COUNT + 1))),
    ],
    ids=["request-line", "header-line", "header-count"],
)
async def test_oversized_heads_get_a_4xx_and_the_collector_keeps_serving(
    collector: Running, head: str
):
    response = await exchange(collector.collector.port, head)
    assert 400 <= response.status < 500
    await _still_ingests(collector)


STATIC_ESCAPES = [
    "/static/../_server.py",
    "/static/%2e%2e/_server.py",
    "/static/..%2f_server.py",
    "/static//etc/passwd",
    "/static/%2fetc%2fpasswd",
    "/static/viewer.js%00",
    "/static/..%5c_server.py",
    "/static/leak.txt",
    "/static/leakdir/secret.txt",
]


@pytest.mark.parametrize("path", STATIC_ESCAPES)
async def test_the_static_route_refuses_escapes(tmp_path: Path, monkeypatch, path: str):
    static = tmp_path / "static"
    static.mkdir()
    (static / "index.html").write_text("<!doctype html>")
    (static / "viewer.js").write_text("// viewer")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret bytes 7f3a")
    (static / "leak.txt").symlink_to(outside / "secret.txt")
    (static / "leakdir").symlink_to(outside)
    monkeypatch.setattr(_server, "STATIC_DIR", static)
    async with running_collector(tmp_path / "traces.db") as collector:
        port = collector.collector.port
        assert (await exchange(port, get("/static/viewer.js"))).status == 200
        response = await exchange(port, get(path))
        assert response.status in (400, 403, 404), response.status
        assert b"secret bytes" not in response.body
        assert b"import" not in response.body  # no Python source either
