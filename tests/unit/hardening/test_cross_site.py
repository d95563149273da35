"""Cross-site requests to the viewer's API get 403; same-origin and non-browser ones work."""

from __future__ import annotations

import pytest

from tests.unit.hardening.rawhttp import exchange
from tests.unit.tracing.support import Running, running_collector
from tracing import _guard

# These collectors take traces without a token (--open-ingest), and say so.
pytestmark = pytest.mark.warning_logs(r"ingest is open \(--open-ingest\)")

OWN = "http://127.0.0.1:4318"


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({}, False),  # curl, an SDK: no browser page involved
        ({"Origin": OWN}, False),
        ({"Origin": OWN.upper()}, False),  # scheme and host compare case-insensitively
        ({"Sec-Fetch-Site": "same-origin", "Origin": OWN}, False),
        ({"Sec-Fetch-Site": "none"}, False),  # typed into the address bar
        ({"Origin": "http://evil.example"}, True),
        ({"Origin": "http://127.0.0.1:8000"}, True),  # another port is another origin
        ({"Origin": "null"}, True),  # sandboxed frames, file:// pages
        ({"Sec-Fetch-Site": "cross-site"}, True),
        ({"Sec-Fetch-Site": "same-site"}, True),  # SameSite cookies do not stop these
        ({"Sec-Fetch-Site": "same-origin", "Origin": "http://evil.example"}, True),
    ],
)
def test_cross_site_reason(headers: dict[str, str], refused: bool):
    assert bool(_guard.cross_site_reason(headers, OWN)) == refused


async def _login(collector: Running, user: str = "bob", **headers: str) -> int:
    assert collector.http is not None
    async with collector.http.post(
        collector.base + "/api/login", json={"token": collector.tokens[user]}, headers=headers
    ) as response:
        return response.status


async def _status(collector: Running, method: str, path: str, **headers: str) -> int:
    assert collector.http is not None
    async with collector.http.request(method, collector.base + path, headers=headers) as r:
        return r.status


EVIL = {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}


async def test_cookie_reads_from_another_site_are_refused(collector: Running):
    assert await _login(collector) == 200
    for path in ("/api/whoami", "/api/devices", "/api/search", "/api/export", "/api/stream"):
        assert await _status(collector, "GET", path, **EVIL) == 403, path
        same_port = {"Origin": "http://127.0.0.1:1", "Sec-Fetch-Site": "same-site"}
        assert await _status(collector, "GET", path, **same_port) == 403, path
    own = {"Origin": collector.base, "Sec-Fetch-Site": "same-origin"}
    assert await _status(collector, "GET", "/api/whoami", **own) == 200
    assert await _status(collector, "GET", "/api/whoami") == 200  # no Origin: not a browser


async def test_bearer_reads_work_from_any_origin(collector: Running):
    bearer = collector.auth("alice")
    assert await _status(collector, "GET", "/api/whoami", **EVIL, **bearer) == 200


async def test_state_changes_from_another_site_are_refused(collector: Running):
    assert await _login(collector, **EVIL) == 403  # no login CSRF
    assert collector.http is not None
    assert not collector.http.cookie_jar.filter_cookies(collector.base)
    assert await _login(collector, Origin=collector.base) == 200
    assert await _status(collector, "POST", "/api/logout", **EVIL) == 403
    assert await _status(collector, "GET", "/api/whoami") == 200  # still logged in
    bearer = collector.auth("bob")  # a token does not make a cross-site POST acceptable
    assert await _status(collector, "POST", "/api/logout", **EVIL, **bearer) == 403
    assert await _status(collector, "POST", "/v1/traces", **EVIL) == 403
    assert collector.collector.ingested == 0
    assert await _status(collector, "POST", "/api/logout", Origin=collector.base) == 200
    assert await _status(collector, "GET", "/api/whoami") == 401


async def test_the_page_itself_loads_from_a_link_on_another_site(collector: Running):
    # Navigation to the viewer is how a user arrives; only the API is guarded.
    assert await _status(collector, "GET", "/", **EVIL) == 200


@pytest.mark.parametrize("path", ["/", "/static/viewer.js", "/api/whoami", "/nothing"])
async def test_every_response_carries_the_security_headers(collector: Running, path: str):
    assert collector.http is not None
    async with collector.http.get(collector.base + path) as response:
        for name, value in _guard.SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (path, name)
    policy = _guard.CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.2.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LocalHost", True),
        ("viewer.localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.20", False),
        ("evil.example", False),
        ("localhost.evil.example", False),
        ("", False),
    ],
)
def test_is_loopback_host(host: str, loopback: bool):
    assert _guard.is_loopback_host(host) == loopback


async def test_a_loopback_collector_refuses_other_host_names(collector: Running):
    """A DNS-rebinding page is same-origin to the browser, but its Host is its own name."""
    port = collector.collector.port
    for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1.evil.example:{port}"):
        refused = await exchange(port, _head("GET", "/", host))
        assert refused.status == 421, host
        assert b"loopback names" in refused.body
        posted = await exchange(port, _head("POST", "/v1/traces", host, "Content-Length: 0"))
        assert posted.status == 421
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "localhost"):
        assert (await exchange(port, _head("GET", "/", host))).status == 200, host
    assert collector.collector.ingested == 0


async def test_a_collector_bound_beyond_loopback_answers_any_host_name(tmp_path):
    # Binding 0.0.0.0 is safe here: tests run in a network namespace with only loopback.
    async with running_collector(tmp_path / "traces.db", host="0.0.0.0") as collector:
        port = collector.collector.port
        response = await exchange(port, _head("GET", "/", f"collector.lan:{port}"))
        assert response.status == 200


def _head(method: str, path: str, host: str, *extra: str) -> str:
    return "\r\n".join([f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close", *extra])
