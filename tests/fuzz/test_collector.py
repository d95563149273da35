"""Fuzzing the collector's OTLP ingest: `/v1/traces` and `/v1/logs`, in-process on loopback.

Each input is a POST: a signal, a body (a seed export request in protobuf or JSON, plain or
gzip, a mutant of one, or random bytes), a Content-Type, and a Content-Encoding, possibly with
the body compressed to match, an Authorization (the ingest token, none, or another), and
sometimes the headers the collector's guard reads (Origin, Sec-Fetch-Site, Host, Referer). The
property: the collector answers 200 with an export response of the signal (partial success or
not), or 4xx with a google.rpc.Status, never 5xx; and afterwards it still stores a valid span
(nothing lost, no wedged writer thread). test_otlp.py fuzzes the decoding alone, much faster.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import itertools
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from google.rpc import status_pb2
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from tests.fuzz import engine, seeds
from tests.fuzz.mutations import fuzz_bytes
from tests.waiting import until
from tracing import samples
from tracing._server import Collector, CollectorConfig
from tracing._store import Store

IO_TIMEOUT_S = 10.0
SEEDS = seeds.load("collector")
TOKEN = "valid-ingest-token"  # stands for the harness's real token, made at start


@dataclass(frozen=True)
class OtlpPost:
    """One POST to the collector's ingest."""

    signal: str  # "traces" or "logs"
    body: bytes
    content_type: str | None  # None: no Content-Type header
    content_encoding: str | None  # None: no Content-Encoding header
    compress: str | None = None  # "gzip" or "deflate": compress the body before sending
    extra: tuple[tuple[str, str], ...] = ()  # more headers: origin, host, fetch metadata
    auth: str | None = TOKEN  # the Authorization header's token (TOKEN: the valid one)


_RESPONSES: dict[str, Any] = {
    "traces": trace_service_pb2.ExportTraceServiceResponse,
    "logs": logs_service_pb2.ExportLogsServiceResponse,
    "metrics": metrics_service_pb2.ExportMetricsServiceResponse,
}

# ------------------------------------------------------------------ inputs

CONTENT_TYPES = (
    "application/x-protobuf",
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "application/protobuf",
    "text/plain",
    "multipart/form-data; boundary=x",
    "",
)
ENCODINGS = ("gzip", "deflate", "identity", "br", "zstd", "gzip, gzip", "")
# What the collector's guard reads (tracing/_guard.py): a browser's cross-site markers, the Host.
EXTRA_HEADERS: dict[str, tuple[str, ...]] = {
    "Origin": ("http://127.0.0.1", "http://evil.example", "null", ""),
    "Sec-Fetch-Site": ("same-origin", "cross-site", "none", "same-site"),
    "Host": ("127.0.0.1", "localhost", "evil.example", "[::1]", "127.0.0.1:1", ""),
    "Referer": ("http://evil.example/x", ""),
}
_VISIBLE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30)


def natural_content_type(body: bytes) -> str:
    """The Content-Type a real exporter would send with *body* (JSON or protobuf)."""
    plain = zlib.decompress(body, 16 + zlib.MAX_WBITS) if _is_gzip(body) else body
    return "application/json" if plain.lstrip()[:1] in (b"{", b"[") else "application/x-protobuf"


def _is_gzip(body: bytes) -> bool:
    try:
        zlib.decompress(body, 16 + zlib.MAX_WBITS)
    except zlib.error:
        return False
    return True


@st.composite
def posts(draw: st.DrawFn) -> OtlpPost:
    body = draw(fuzz_bytes(SEEDS))
    natural = natural_content_type(body)
    content_type = draw(st.just(natural) | st.sampled_from(CONTENT_TYPES) | _VISIBLE | st.none())
    encoding = draw(st.just("gzip" if _is_gzip(body) else None) | st.sampled_from(ENCODINGS))
    encoding = draw(st.just(encoding) | _VISIBLE | st.none())
    compress = draw(st.sampled_from((None, "gzip", "deflate")))
    if compress is not None:
        encoding = compress  # a well-labelled compressed body
    signal = draw(st.sampled_from(("traces", "logs")))
    names = draw(st.lists(st.sampled_from(sorted(EXTRA_HEADERS)), max_size=3, unique=True))
    extra = tuple((name, draw(st.sampled_from(EXTRA_HEADERS[name]) | _VISIBLE)) for name in names)
    auth = draw(st.just(TOKEN) | st.none() | _VISIBLE)
    signal = draw(st.sampled_from(("traces", "logs", "metrics")) if auth else st.just(signal))
    return OtlpPost(signal, body, content_type, encoding, compress, extra, auth)


# ------------------------------------------------------------------ the property


def _wire_body(post: OtlpPost) -> bytes:
    if post.compress == "gzip":
        return gzip.compress(post.body, mtime=0)
    if post.compress == "deflate":
        return zlib.compress(post.body)
    return post.body


class Ingest:
    """A collector on loopback with a throwaway database, and a client posting to it."""

    def __init__(self, collector: Collector, http: aiohttp.ClientSession, token: str) -> None:
        self.collector = collector
        self.http = http
        self.base = f"http://127.0.0.1:{collector.port}"
        self.token = token
        self._span_ids = itertools.count(1)

    async def exercise(self, post: OtlpPost) -> None:
        headers = {}
        if post.content_type is not None:
            headers["Content-Type"] = post.content_type
        if post.content_encoding is not None:
            headers["Content-Encoding"] = post.content_encoding
        if post.auth is not None:
            token = self.token if post.auth == TOKEN else post.auth
            headers["Authorization"] = f"Bearer {token}"
        headers.update(post.extra)
        status, answer, content_type = await self.post(post.signal, _wire_body(post), headers)
        assert status < 500, f"answered {status}: {answer[:300]!r}"
        # Every answer is an OTLP message: the export response, or a google.rpc.Status.
        message = _RESPONSES[post.signal]() if status == 200 else status_pb2.Status()
        try:
            if content_type == "application/json":
                json_format.Parse(answer, message)
            else:
                assert content_type == "application/x-protobuf", content_type
                message.ParseFromString(answer)
        except (json_format.ParseError, DecodeError) as exc:
            raise AssertionError(f"{status} answer is not OTLP: {answer[:300]!r}") from exc
        await self.check_still_storing()

    async def post(
        self, signal: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes, str]:
        # skip_auto_headers: with no Content-Type given, send none (aiohttp would add one).
        async with self.http.post(
            f"{self.base}/v1/{signal}",
            data=body,
            headers=headers,
            skip_auto_headers=["Content-Type"],
        ) as response:
            return response.status, await response.read(), response.content_type

    async def check_still_storing(self) -> None:
        """A new, valid span is answered 200 and counted as stored."""
        before = self.collector.ingested
        request = _one_span(next(self._span_ids))
        headers = {
            "Content-Type": "application/x-protobuf",
            "Authorization": f"Bearer {self.token}",
        }
        status, answer, _ = await self.post("traces", request, headers)
        assert status == 200, f"a valid span was answered {status}: {answer[:300]!r}"
        await until(lambda: self.collector.ingested == before + 1, IO_TIMEOUT_S, "span stored")


def _one_span(n: int) -> bytes:
    """An export request with one span whose ids no fuzzed input uses."""
    device = samples.Device("fuzz-check", "Fuzz check", "controller", "fuzz")
    message = samples.Message(device, device, start_ns=1_700_000_000_000_000_000)
    send, _ = message.spans(trace_id=b"\xfe" * 8 + n.to_bytes(8, "big"))
    return bytes(
        trace_service_pb2.ExportTraceServiceRequest(
            resource_spans=[{"resource": device.resource(), "scope_spans": [{"spans": [send]}]}]
        ).SerializeToString()
    )


@contextlib.contextmanager
def _open() -> Iterator[engine.Check]:
    """Start a collector on a private event loop; each check runs one input to completion."""
    with tempfile.TemporaryDirectory(prefix="baton-fuzz-") as folder, engine.event_loop() as loop:
        store = Store(Path(folder) / "traces.db")
        store.add_user("fuzz")
        token = store.add_ingest_token("fuzz", "harness")
        store.close()
        collector = Collector(CollectorConfig(db=Path(folder) / "traces.db", port=0))
        loop.run_until_complete(collector.async_start())
        http = loop.run_until_complete(_client())
        ingest = Ingest(collector, http, token)

        def check(post: OtlpPost) -> None:
            loop.run_until_complete(asyncio.wait_for(ingest.exercise(post), 3 * IO_TIMEOUT_S))

        try:
            yield check
        finally:
            loop.run_until_complete(http.close())
            loop.run_until_complete(collector.async_close())


async def _client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=IO_TIMEOUT_S))


def _kept(post: Any) -> list[tuple[str, bytes]]:
    return [(post.signal, post.body)] if post.signal in ("traces", "logs") else []


TARGET = engine.Target(
    name="collector",
    inputs=posts(),
    open=_open,
    seeds_of=_kept,
    smoke_examples=150,
)


@pytest.mark.parametrize(
    "path", sorted((seeds.CORPUS_DIR / "collector").glob("*.bin")), ids=lambda p: p.name
)
def test_seed_is_handled(path) -> None:
    """Each seed, sent as a real exporter would (test_otlp.py checks that they decode)."""
    body = path.read_bytes()
    signal = path.name.split("-")[0]
    post = OtlpPost(signal, body, natural_content_type(body), "gzip" if _is_gzip(body) else None)
    engine.check_each(TARGET, [post])


def test_fuzzed_posts_get_200_or_4xx_and_ingest_goes_on() -> None:
    run = engine.smoke(TARGET)
    assert run.examples >= TARGET.smoke_examples
