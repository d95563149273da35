"""Test support for the collector: a running collector with users, OTLP posting, an SSE reader.

Shared by the unit, integration and browser tests of `tracing`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tracing._server import Collector, CollectorConfig
from tracing._store import Store
from tracing.samples import Device

ALICE_PHONE = Device("alice-phone", "Alice's phone", "controller", "alice", 0.0)
ALICE_SPEAKER = Device("alice-kitchen", "Kitchen speaker", "speaker", "alice", 12.5)
BOB_PHONE = Device("bob-phone", "Bob's phone", "controller", "bob", 0.0)
BOB_CAR = Device("bob-car", "Bob's car", "car", "bob", -40.0)


@dataclass
class Running:
    """A started collector, its base URL, a viewer token and an ingest token per user name."""

    collector: Collector
    base: str
    tokens: dict[str, str] = field(default_factory=dict)
    http: aiohttp.ClientSession | None = None
    ingest_tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    async def post(
        self,
        signal: str,
        body: bytes,
        content_type: str = "application/x-protobuf",
        *,
        sender: str | None = None,
        **headers: str,
    ) -> aiohttp.ClientResponse:
        """POST an export request; with *sender*, carrying that user's ingest token."""
        assert self.http is not None
        if sender is not None:
            headers["Authorization"] = f"Bearer {self.ingest_tokens[sender]}"
        response = await self.http.post(
            f"{self.base}/v1/{signal}",
            data=body,
            headers={"Content-Type": content_type, **headers},
        )
        await response.read()
        return response

    async def get_json(self, path: str, user: str) -> Any:
        assert self.http is not None
        async with self.http.get(self.base + path, headers=self.auth(user)) as response:
            assert response.status == 200, await response.text()
            return await response.json()


@asynccontextmanager
async def running_collector(
    db: Path, users: tuple[str, ...] = ("alice", "bob"), **config: Any
) -> AsyncIterator[Running]:
    """A collector with the viewer users *users* (and an admin, "root"), each with a viewer
    token and an ingest token.

    Ingest is open unless `open_ingest=False` is given: most tests are about what happens to
    records once stored, and post several users' devices in one request (the ingest token
    tests, test_ingest_auth.py and the conformance test, run it closed).
    """
    store = Store(db)
    tokens = {name: store.add_user(name) for name in users}
    tokens["root"] = store.add_user("root", admin=True)
    ingest = {name: store.add_ingest_token(name, "test") for name in tokens}
    store.close()
    config.setdefault("open_ingest", True)
    collector = Collector(CollectorConfig(db=db, port=0, **config))
    await collector.async_start()
    try:
        # unsafe=True: accept cookies from an IP address host (the login test needs it).
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            base = f"http://127.0.0.1:{collector.port}"
            yield Running(collector, base, tokens, http, ingest)
    finally:
        await collector.async_close()


@dataclass
class SseEvent:
    event: str
    data: str
    id: str = ""

    def json(self) -> Any:
        return json.loads(self.data)


class SseReader:
    """Reads events from an open `text/event-stream` response."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response

    async def next(self, timeout: float = 10.0) -> SseEvent:
        return await asyncio.wait_for(self._next(), timeout)

    async def _next(self) -> SseEvent:
        fields: dict[str, str] = {}
        while True:
            line = (await self.response.content.readline()).decode()
            if not line:
                raise EOFError("stream ended")
            line = line.rstrip("\n")
            if not line:
                if "data" in fields:
                    return SseEvent(
                        fields.get("event", "message"), fields["data"], fields.get("id", "")
                    )
                fields = {}
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")

    async def records(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        out = []
        while len(out) < n:
            event = await self.next(timeout)
            if event.event == "record":
                out.append(event.json())
        return out


def reset_otel_globals() -> None:
    """Forget the installed SDK, as OpenTelemetry's own test helpers do (private names).

    `tracing.setup` installs one tracer provider per process, for good; tests that set one up
    call this before and after.
    """
    from opentelemetry import trace
    from opentelemetry._logs import _internal as logs_internal
    from opentelemetry.util._once import Once

    trace._TRACER_PROVIDER = None
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    logs_internal._LOGGER_PROVIDER = None
    logs_internal._LOGGER_PROVIDER_SET_ONCE = Once()
