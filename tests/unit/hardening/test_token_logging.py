"""No log line, access log included, ever holds a viewer token, wherever the token travelled."""

from __future__ import annotations

import logging

import pytest

from tests.unit.hardening.rawhttp import exchange, get
from tests.unit.tracing.support import ALICE_PHONE, ALICE_SPEAKER, Running, SseReader
from tracing import _guard, samples


def _all_logged_text(caplog: pytest.LogCaptureFixture) -> str:
    """Return every captured record's message, arguments and traceback as one string."""
    parts = []
    for record in caplog.records:
        parts += [record.getMessage(), repr(record.args), record.exc_text or ""]
        if record.exc_info and record.exc_info[1] is not None:
            parts.append(repr(record.exc_info[1]))
    return "\n".join(parts)


async def test_a_full_viewer_session_logs_no_token(collector: Running, caplog):
    caplog.set_level(logging.DEBUG)
    http = collector.http
    assert http is not None
    base = collector.base
    token = collector.tokens["alice"]
    # A login, a wrong login, and a login refused as cross-site.
    async with http.post(base + "/api/login", json={"token": token + "x"}) as r:
        assert r.status == 401
    async with http.post(
        base + "/api/login", json={"token": token}, headers={"Origin": "http://evil.example"}
    ) as r:
        assert r.status == 403
    async with http.post(base + "/api/login", json={"token": token}) as r:
        assert r.status == 200
    # The cookie, a bearer header, and a token where none belongs: a query string.
    request = samples.traces_request([samples.Message(ALICE_PHONE, ALICE_SPEAKER)])
    async with http.get(base + "/api/stream?backlog=0") as stream:
        assert stream.status == 200
        assert (await collector.post("traces", request.SerializeToString())).status == 200
        assert len(await SseReader(stream).records(2)) == 2
    for path in ("/api/whoami", "/api/devices", "/api/search?q=x", "/api/export"):
        async with http.get(base + path) as r:
            assert r.status == 200, path
    async with http.get(base + "/api/whoami", headers=collector.auth("alice")) as r:
        assert r.status == 200
    async with http.get(base + f"/api/whoami?token={token}", headers={"Referer": token}) as r:
        assert r.status == 200
    async with http.get(
        base + "/api/whoami",
        headers={"Authorization": f"Bearer {token}x", "Origin": "http://evil.example"},
    ) as r:
        assert r.status == 401
    async with http.post(base + "/api/logout") as r:
        assert r.status == 200

    logged = _all_logged_text(caplog)
    # The access log did run, so its silence about the token means something. (The stream's
    # line comes only when the server ends it, after this test.)
    access = [r for r in caplog.records if r.name == "tracing.access"]
    assert any("/api/whoami" in r.getMessage() for r in access)
    assert token not in logged
    assert token[:12] not in logged  # nor a recognisable part of it


@pytest.mark.parametrize(
    "head",
    [
        get("/api/whoami", "Cookie: baton_token={token}; pad=" + "p" * _guard.MAX_LINE_BYTES),
        get("/api/whoami?token={token}&pad=" + "p" * _guard.MAX_LINE_BYTES),
        get("/api/whoami", "Authorization: Bearer {token}" + " " * _guard.MAX_LINE_BYTES),
    ],
    ids=["cookie", "query", "bearer"],
)
async def test_a_refused_oversized_line_is_logged_without_its_bytes(
    collector: Running, caplog, head: str
):
    caplog.set_level(logging.DEBUG)
    token = collector.tokens["alice"]
    response = await exchange(collector.collector.port, head.format(token=token))
    assert response.status == 400
    refused = [r for r in caplog.records if "malformed request" in r.getMessage()]
    assert refused  # logged, once, at info: a client's mistake, not the server's error
    assert all(r.levelno == logging.INFO for r in refused)
    assert token[:12] not in _all_logged_text(caplog)
