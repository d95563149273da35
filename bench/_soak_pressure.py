"""Pressure on a playing receiver, for the soak benchmark: 20 controllers, and a hostile flood.

* `hammer`: N paired controllers, each its own `Controller` (own HTTP client, TLS session and
  token), send SetVolume (30..100, so the music never goes quiet by request) at RATE each.
  Every command must succeed.
* `flood`: a peer with no token hits the receiver from W workers at once, as fast as it
  answers: GET /info, a WebSocket Hello with a made-up token (answered Goodbye), a wrong PIN
  (answered 403, then 429 once rate-limited) and a TCP connection that sends plain HTTP
  instead of a TLS handshake. A legitimate controller keeps sending SetVolume meanwhile; its
  commands must succeed.
Whether the receiver kept playing is read afterwards from its capture output
(bench/_heard.py), not from what it says.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import aiohttp

from connect.controller import Controller
from connect.wire import codec
from connect.wire import messages as m

PAIR_PATH = "/connect/v1/pair"
COMMAND_TIMEOUT_S = 10.0


@dataclass
class Pressure:
    """What one pressure phase did: its window (monotonic µs), requests and failures."""

    start_us: int = 0
    end_us: int = 0
    commands: int = 0
    command_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    hostile: dict[str, int] = field(default_factory=dict)  # flood requests by kind


def now_us() -> int:
    """Return CLOCK_MONOTONIC in µs: the clock of the capture's timeline."""
    return time.monotonic_ns() // 1000


async def hammer(
    controllers: Sequence[Controller], device_id: str, rate_hz: float, seconds: float
) -> Pressure:
    """Have every controller send SetVolume to *device_id* at *rate_hz* for *seconds*."""
    result = Pressure(start_us=now_us())
    rng = random.Random(19)
    end = time.monotonic() + seconds

    async def one(controller: Controller) -> None:
        while time.monotonic() < end:
            await _command(controller, device_id, m.SetVolume(rng.randrange(30, 101)), result)
            await asyncio.sleep(1 / rate_hz)  # the offered rate, not a wait for a condition

    await asyncio.gather(*(one(c) for c in controllers))
    result.end_us = now_us()
    return result


async def flood(
    controller: Controller, device_id: str, host: str, port: int, workers: int, seconds: float
) -> Pressure:
    """Flood the receiver at host:port with unauthenticated requests; one controller works on."""
    result = Pressure(start_us=now_us())
    end = time.monotonic() + seconds
    unverified = ssl.create_default_context()
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE  # the attacker has no pin: it accepts any cert
    base = f"https://{host}:{port}"
    kinds: list[tuple[str, Callable[[aiohttp.ClientSession], Awaitable[None]]]] = [
        ("info", lambda http: _get_info(http, base, unverified)),
        ("hello", lambda http: _bad_hello(http, base, unverified)),
        ("pin", lambda http: _wrong_pin(http, base, unverified)),
        ("garbage", lambda _http: _garbage(host, port)),
    ]

    async def worker(index: int) -> None:
        kind, attack = kinds[index % len(kinds)]
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < end:
                with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                    await attack(http)
                result.hostile[kind] = result.hostile.get(kind, 0) + 1

    async def legitimate() -> None:
        rng = random.Random(20)
        while time.monotonic() < end:
            await _command(controller, device_id, m.SetVolume(rng.randrange(30, 101)), result)
            await asyncio.sleep(0.5)  # two commands a second, like a person on a slider

    await asyncio.gather(legitimate(), *(worker(i) for i in range(workers)))
    result.end_us = now_us()
    return result


async def _command(
    controller: Controller, device_id: str, action: m.Action, result: Pressure
) -> None:
    started = time.perf_counter()
    try:
        answer = await controller.async_command(device_id, action, timeout=COMMAND_TIMEOUT_S)
    except Exception as exc:  # every failure is counted and shown, none stops the phase
        result.failures.append(f"{type(exc).__name__}: {exc}")
        return
    result.commands += 1
    result.command_ms.append((time.perf_counter() - started) * 1000)
    if answer.failure is not None:
        result.failures.append(str(answer.failure))


async def _get_info(http: aiohttp.ClientSession, base: str, tls: ssl.SSLContext) -> None:
    async with http.get(f"{base}/connect/v1/info", ssl=tls) as response:
        await response.read()


async def _bad_hello(http: aiohttp.ClientSession, base: str, tls: ssl.SSLContext) -> None:
    url = base.replace("https", "wss") + "/connect/v1/ws"
    async with http.ws_connect(url, ssl=tls) as ws:
        hello = m.Hello(m.PROTOCOL_V1, m.ClientIdentity("mallory", "Mallory"), None, "0a1b2c3d.x")
        await ws.send_bytes(codec.encode(m.Envelope(1, uuid.uuid4().hex, hello)))
        await ws.receive(timeout=COMMAND_TIMEOUT_S)  # the Goodbye(UNAUTHENTICATED)


async def _wrong_pin(http: aiohttp.ClientSession, base: str, tls: ssl.SSLContext) -> None:
    request = m.PairingRequest(m.ClientIdentity("mallory", "Mallory"), pin="000000")
    body = codec.encode_pairing_request(request)
    async with http.post(f"{base}{PAIR_PATH}", data=body, ssl=tls) as response:
        await response.read()


async def _garbage(host: str, port: int) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        # Plain HTTP where TLS is expected: not a handshake record, refused at the first byte.
        writer.write(b"GET /connect/v1/info HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        async with asyncio.timeout(COMMAND_TIMEOUT_S):
            await reader.read(1024)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
