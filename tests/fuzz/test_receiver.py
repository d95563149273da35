"""Fuzzing the receiver's HTTP side: info, pairing, the WebSocket upgrade, and session frames.

Two targets on loopback: `receiver`, an open device (a `SessionServer` over the hand-written
`MemoryHost`, plain HTTP), and `receiver-pin`, a real `devices.Receiver` in pin mode (TLS,
tokens, the pairing and owner endpoints, audio output "none"). Each input is either raw bytes
sent as an HTTP request (a mutated seed request, or one assembled from fuzzed method, path,
headers and body, sometimes carrying the owner's token) or a session: a valid Hello (with the
owner's token on the pin device), then fuzzed frames.
The property: no answer is a 5xx, every frame the device sends decodes, the session answers
a TimeRequest after the fuzzed frames (bad frames get an Error, never a hang-up), and
afterwards the device still serves a fresh client: info, a session, no leaked link.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import ssl
import tempfile
import traceback
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from hypothesis import strategies as st

from connect.errors import FrameError
from connect.paths import INFO_PATH, NAME_PATH, PAIR_PATH, PAIRING_CODE_PATH, TOKENS_PATH, WS_PATH
from connect.wire import codec
from connect.wire import messages as m
from devices.config import ReceiverConfig
from devices.receiver import Receiver
from tests.fakes import MemoryHost
from tests.fuzz import engine, seeds
from tests.fuzz.make_corpus import OWNER_TOKEN, http_request
from tests.fuzz.mutations import fuzz_bytes
from tests.waiting import until

IO_TIMEOUT_S = 10.0  # any single exchange; a healthy one takes milliseconds
RAW_ANSWER_S = 0.5  # how long a raw request may go unanswered (see Device.send_raw)
DEVICE_PATHS = (
    INFO_PATH,
    WS_PATH,
    PAIR_PATH,
    TOKENS_PATH,
    f"{TOKENS_PATH}/0123456789abcdef",
    PAIRING_CODE_PATH,
    NAME_PATH,
    "/",
    "/connect/v1/",
    f"{INFO_PATH}/..",
)
HTTP_SEEDS = seeds.load("receiver", "http")
FRAME_SEEDS = seeds.load("receiver", "frame")
HELLO = m.Hello(
    m.VersionRange(m.ProtocolVersion(1), m.ProtocolVersion(1)),
    m.ClientIdentity("ctl-fuzz", "Fuzz check"),
)


@dataclass(frozen=True)
class RawRequest:
    """Bytes sent on a fresh connection as they are (then a blank line: see send_raw)."""

    data: bytes


@dataclass(frozen=True)
class Session:
    """A session opened with a valid Hello, then these frames (binary, or text if str)."""

    frames: tuple[bytes | str, ...]


# ------------------------------------------------------------------ inputs

HEADER_VALUES: dict[str, tuple[str, ...]] = {
    "Accept": ("application/json", "application/x-protobuf", "*/*", "application/json;q=0"),
    "Content-Type": ("application/x-protobuf", "application/json", "text/plain"),
    "Connection": ("Upgrade", "close", "keep-alive", "Upgrade, keep-alive"),
    "Upgrade": ("websocket", "h2c", "WebSocket"),
    "Sec-WebSocket-Version": ("13", "8", "99", ""),
    "Sec-WebSocket-Key": ("dGhlIHNhbXBsZSBub25jZQ==", "short", ""),
    "Sec-WebSocket-Protocol": ("baton", "chat, superchat"),
    "Sec-WebSocket-Extensions": (
        "permessage-deflate",
        "permessage-deflate; client_max_window_bits",
    ),
    "Content-Length": ("0", "5", "-1", "99999999999999999999", "1048577"),
    "Transfer-Encoding": ("chunked", "gzip, chunked", "identity"),
    "Content-Encoding": ("gzip", "deflate", "br"),
    "Authorization": (f"Bearer {OWNER_TOKEN}", "Bearer x", "Basic Og==", ""),
    "Origin": ("http://evil.example", "null"),
    "Host": ("127.0.0.1", "", "[::1]:1"),
}
_VISIBLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
header_names = st.sampled_from(sorted(HEADER_VALUES)) | st.text(_VISIBLE, min_size=1, max_size=20)


@st.composite
def headers(draw: st.DrawFn) -> dict[str, str]:
    out = {}
    for name in draw(st.lists(header_names, max_size=8)):
        known = st.sampled_from(HEADER_VALUES.get(name, ("x",)))
        out[name] = draw(known | st.text(_VISIBLE, max_size=40))
    return out


@st.composite
def assembled_requests(draw: st.DrawFn) -> RawRequest:
    """A well-framed request to one of the device's paths, with fuzzed parts."""
    method = draw(st.sampled_from(("GET", "POST", "PUT", "HEAD", "OPTIONS", "DELETE", "PATCH")))
    path = draw(
        st.sampled_from(DEVICE_PATHS)
        | st.text(_VISIBLE.filter(lambda c: c != " "), max_size=30).map(lambda p: "/" + p)
    )
    body = draw(st.just(b"") | fuzz_bytes([*FRAME_SEEDS, *HTTP_SEEDS]))
    return RawRequest(http_request(method, path, draw(headers()), body))


raw_requests = st.one_of(fuzz_bytes(HTTP_SEEDS).map(RawRequest), assembled_requests())
sessions = st.lists(fuzz_bytes(FRAME_SEEDS) | st.text(max_size=100), min_size=1, max_size=6).map(
    lambda frames: Session(tuple(frames))
)


# ------------------------------------------------------------------ the property


class Device:
    """A running device on loopback and a client to poke it: plain HTTP, or TLS with a token."""

    def __init__(
        self,
        port: int,
        http: aiohttp.ClientSession,
        links: Callable[[], int],
        *,
        tls: ssl.SSLContext | None = None,
        token: str = "",
    ) -> None:
        self.port = port
        self.http = http
        self.links = links  # how many sessions the device holds now
        self.tls = tls
        self.token = token
        self._times = itertools.count(1)

    def url(self, path: str, scheme: str = "http") -> str:
        return f"{scheme}{'s' if self.tls else ''}://127.0.0.1:{self.port}{path}"

    async def exercise(self, value: RawRequest | Session) -> None:
        """Send *value*, check the answers, then check that a fresh client is served."""
        if isinstance(value, RawRequest):
            await self.send_raw(value.data.replace(OWNER_TOKEN.encode(), self.token.encode()))
        else:
            await self.run_session(value.frames)
        await self.check_still_serving()

    async def send_raw(self, data: bytes) -> None:
        """Send *data* and a blank line; check the status line of the answer, if one comes.

        Not end-of-file instead of the blank line: aiohttp drops a half-closed connection
        unanswered. The blank line ends a header block cut short, so most inputs get an
        answer; one the device still waits on (a body shorter than its Content-Length) gets
        none within RAW_ANSWER_S, which is fine: check_still_serving catches a device stuck.
        """
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port, ssl=self.tls)
        try:
            writer.write(data + b"\r\n\r\n")
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            try:
                head = await asyncio.wait_for(reader.readline(), RAW_ANSWER_S)
            except (TimeoutError, ConnectionError):
                return
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()
        if head.startswith(b"HTTP/1."):
            assert int(head[9:12]) < 500, f"answered {head!r}"

    async def run_session(self, frames: tuple[bytes | str, ...]) -> None:
        async with self.http.ws_connect(self.url(WS_PATH, "ws"), ssl=self.tls or True) as ws:
            hello = replace(HELLO, token=self.token)
            await ws.send_bytes(codec.encode(m.Envelope(1, "hello", hello)))
            assert isinstance((await self.receive(ws)).body, m.Welcome)
            said_goodbye = False
            for frame in frames:
                if isinstance(frame, str):
                    await ws.send_str(frame)
                    continue
                await ws.send_bytes(frame)
                said_goodbye |= _is_goodbye(frame)
            if said_goodbye:
                return  # the device closes a session whose controller said Goodbye
            stamp = next(self._times)
            request = m.Envelope(len(frames) + 2, "time", m.TimeRequest(stamp))
            await ws.send_bytes(codec.encode(request))
            while True:  # skip snapshots, errors and results answering the fuzzed frames
                body = (await self.receive(ws)).body
                if isinstance(body, m.TimeResponse) and body.client_send_us == stamp:
                    return

    @staticmethod
    async def receive(ws: aiohttp.ClientWebSocketResponse) -> m.Envelope:
        """Return the device's next frame, which must be a binary, decodable Envelope."""
        message = await ws.receive(timeout=IO_TIMEOUT_S)
        assert message.type is aiohttp.WSMsgType.BINARY, f"device sent {message!r}"
        envelope = codec.decode(message.data)
        assert not isinstance(envelope.body, m.Goodbye), f"device hung up: {envelope.body}"
        return envelope

    async def check_still_serving(self) -> None:
        async with self.http.get(self.url(INFO_PATH), ssl=self.tls or True) as response:
            assert response.status == 200
            codec.decode_device_info(await response.read())
        await self.run_session(())
        await until(lambda: not self.links(), IO_TIMEOUT_S, "every session ended")


def _is_goodbye(frame: bytes) -> bool:
    try:
        return isinstance(codec.decode(frame).body, m.Goodbye)
    except FrameError:
        return False


@contextlib.contextmanager
def _open() -> Iterator[engine.Check]:
    """Start an open device (a MemoryHost) on a private event loop."""
    with engine.event_loop() as loop:
        host = MemoryHost()
        port = loop.run_until_complete(host.server.async_start(["127.0.0.1"], 0))
        http = loop.run_until_complete(_client())
        try:
            yield _checker(loop, Device(port, http, lambda: len(host.server.links)))
        finally:
            loop.run_until_complete(http.close())
            loop.run_until_complete(host.server.async_close())


@contextlib.contextmanager
def _open_pin() -> Iterator[engine.Check]:
    """Start a real pin-mode receiver (TLS, tokens, no audio) on a private event loop."""
    with tempfile.TemporaryDirectory(prefix="baton-fuzz-") as folder, engine.event_loop() as loop:
        config = ReceiverConfig(
            name="Fuzzed Speaker",
            interfaces=("127.0.0.1",),
            audio_output="none",
            state_dir=Path(folder),
            pairing="pin",
            resume_window=0.0,
        )
        receiver = Receiver(config, advertise=False)
        listening = loop.run_until_complete(receiver.async_start())
        owner = receiver.issue_token(m.ClientIdentity("fuzz-owner", "Fuzz owner"), m.Role.OWNER)
        http = loop.run_until_complete(_client())
        # The receiver's certificate is self-signed and its pin is checked by the app, not
        # here: what is fuzzed is what the device does with the bytes inside TLS.
        tls = ssl.create_default_context()
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
        # No public accessor for the session count; the harness only reads it.
        links = lambda: len(receiver._server.links)  # noqa: E731
        try:
            yield _checker(loop, Device(listening.port, http, links, tls=tls, token=owner))
        finally:
            loop.run_until_complete(http.close())
            loop.run_until_complete(receiver.async_close())


def _checker(loop: asyncio.AbstractEventLoop, device: Device) -> engine.Check:
    def check(value: RawRequest | Session) -> None:
        loop.run_until_complete(asyncio.wait_for(device.exercise(value), 3 * IO_TIMEOUT_S))

    return check


async def _client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=IO_TIMEOUT_S))


# Where aiohttp's server logs: its default, or the logger the receiver hands it.
SERVER_LOGGERS = ("aiohttp.server", "connect.http")


def _tolerated(record: logging.LogRecord) -> bool:
    exc = record.exc_info[1] if record.exc_info else None
    if record.name not in SERVER_LOGGERS or exc is None:
        return False
    chain = _chain(exc)
    # aiohttp refusing malformed HTTP by itself (a bad request line or header, a body that is
    # not the Content-Encoding it claims): it answers 400 or drops the connection, and logs at
    # ERROR, which is its policy, not a crash of the device. Our code may be in the chain only
    # as a deliberate 4xx (garbage pipelined after a refused upgrade, for example).
    refused_by_aiohttp = any(isinstance(e, HttpProcessingError) for e in chain)
    return refused_by_aiohttp and not any(
        _in_baton(e) and not isinstance(e, web.HTTPClientError) for e in chain
    )


def _chain(exc: BaseException) -> list[BaseException]:
    """*exc* and the exceptions it was raised from or while handling."""
    out = [exc]
    while (inner := out[-1].__cause__ or out[-1].__context__) is not None and inner not in out:
        out.append(inner)
    return out


def _in_baton(exc: BaseException) -> bool:
    """Whether *exc* went through Baton's own code (connect/, devices/, tracing/)."""
    return any(
        f"/{package}/" in frame.filename and "/site-packages/" not in frame.filename
        for frame in traceback.extract_tb(exc.__traceback__)
        for package in ("connect", "devices", "tracing")
    )


def _kept(value: Any) -> list[tuple[str, bytes]]:
    if isinstance(value, RawRequest):
        return [("http", value.data)]
    return [("frame", f) for f in value.frames if isinstance(f, bytes)]


TARGET = engine.Target(
    name="receiver",
    inputs=st.one_of(raw_requests, sessions),
    open=_open,
    seeds_of=_kept,
    smoke_examples=100,
    tolerated=_tolerated,
)
PIN_TARGET = engine.Target(
    name="receiver-pin",
    inputs=st.one_of(raw_requests, sessions),
    open=_open_pin,
    seeds_of=_kept,
    smoke_examples=80,
    tolerated=_tolerated,
    corpus="receiver",
)


def _seeds() -> list[RawRequest | Session]:
    paths = sorted((seeds.CORPUS_DIR / "receiver").glob("*.bin"))
    return [
        RawRequest(p.read_bytes()) if p.name.startswith("http-") else Session((p.read_bytes(),))
        for p in paths
    ]


@pytest.mark.parametrize("target", [TARGET, PIN_TARGET], ids=lambda t: t.name)
def test_every_seed_is_handled(target) -> None:
    """Every seed as is: requests as raw requests, frames inside a session."""
    run = engine.check_each(target, _seeds())
    assert run.examples == len(_seeds())


@pytest.mark.parametrize("target", [TARGET, PIN_TARGET], ids=lambda t: t.name)
def test_fuzzed_requests_and_frames_never_break_the_device(target) -> None:
    run = engine.smoke(target)
    assert run.examples >= target.smoke_examples


# ------------------------------------------------------------------ bugs found
# Reproducers of what the fuzzer found: regression tests once fixed (4b1d7f2), strict xfails
# while only reported.

UPGRADE = (seeds.CORPUS_DIR / "receiver" / "http-ws-upgrade.bin").read_bytes()


@pytest.fixture
async def device() -> AsyncIterator[tuple[MemoryHost, int]]:
    host = MemoryHost()
    port = await host.server.async_start(["127.0.0.1"], 0)
    try:
        yield host, port
    finally:
        await host.server.async_close()


@pytest.mark.parametrize(
    "header",
    [b"Sec-WebSocket-Key: ", b"Sec-WebSocket-Version: ", b"Connection: ", b"Upgrade: "],
)
async def test_non_ascii_websocket_header_is_a_client_error(device, header) -> None:
    upgrade = UPGRADE
    bad = upgrade.replace(header, header + b"\xa0")
    assert bad != upgrade
    reader, writer = await asyncio.open_connection("127.0.0.1", device[1])
    try:
        writer.write(bad)
        head = await asyncio.wait_for(reader.readline(), IO_TIMEOUT_S)
    finally:
        writer.close()
    assert head.startswith(b"HTTP/1.1 4"), head


def test_client_leaving_mid_pairing_body_logs_no_error() -> None:
    short_body = http_request("POST", PAIR_PATH, {"Content-Length": "100"}, b"")
    strict = replace(PIN_TARGET, tolerated=lambda record: False)
    engine.check_each(strict, [RawRequest(short_body + b"ab")])  # 100 bytes promised, 6 sent


@pytest.mark.parametrize(("method", "path"), [("POST", PAIR_PATH), ("PUT", NAME_PATH)])
def test_body_not_in_its_content_encoding_is_a_client_error(method, path) -> None:
    headers = {"Content-Encoding": "gzip", "Authorization": f"Bearer {OWNER_TOKEN}"}
    bad = RawRequest(http_request(method, path, headers, b"not gzip at all"))
    engine.check_each(replace(PIN_TARGET, tolerated=lambda record: False), [bad])


async def test_client_leaving_before_the_upgrade_answer_logs_no_error(
    device, caplog, monkeypatch
) -> None:
    # The race made certain: the handler reaches `ws.prepare` only once the client is gone.
    handled = asyncio.Event()
    prepare = web.WebSocketResponse.prepare

    async def prepare_after_the_client_left(self, request):
        try:
            transport = request.transport
            await until(lambda: transport is None or transport.is_closing(), IO_TIMEOUT_S)
            return await prepare(self, request)
        finally:
            handled.set()

    monkeypatch.setattr(web.WebSocketResponse, "prepare", prepare_after_the_client_left)
    upgrade = UPGRADE
    reader, writer = await asyncio.open_connection("127.0.0.1", device[1])
    writer.write(upgrade)
    writer.write_eof()  # aiohttp closes a half-closed connection
    await reader.read()
    writer.close()
    await asyncio.wait_for(handled.wait(), IO_TIMEOUT_S)
    await until(lambda: not device[0].server.links, IO_TIMEOUT_S)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
