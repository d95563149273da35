"""Fuzzing the collector's sans-IO OTLP decoding: `tracing._otlp.decompress` and `decode`.

Fast (no sockets), so it covers far more inputs per second than the HTTP harness
(test_collector.py), which feeds the same seeds through the running collector. Every body is
tried under every encoding and as both JSON and protobuf: the decoder must return records or
raise OtlpError whatever the Content-Type claims.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import strategies as st

from tests.fuzz import engine, seeds
from tests.fuzz.mutations import fuzz_bytes
from tracing import _otlp

SEEDS = seeds.load("collector")
LIMIT = 32 * 1024 * 1024  # the collector's limit on an inflated body
CONTENT_TYPES = ("application/x-protobuf", "application/json")
ENCODINGS = ("identity", "gzip", "deflate")


def check(value: tuple[str, bytes]) -> None:
    """Decode *value* (signal, body) every way; fail on anything but records or OtlpError."""
    signal, body = value
    for encoding in ENCODINGS:
        try:
            plain = _otlp.decompress(body, encoding, LIMIT)
        except _otlp.OtlpError:
            continue
        for content_type in CONTENT_TYPES:
            with contextlib.suppress(_otlp.OtlpError):
                _otlp.decode(signal, plain, content_type)


@contextlib.contextmanager
def _open() -> Iterator[engine.Check]:
    yield check


def _kept(value: Any) -> list[tuple[str, bytes]]:
    return [value]


TARGET = engine.Target(
    name="otlp",
    inputs=st.tuples(st.sampled_from(_otlp.SIGNALS), fuzz_bytes(SEEDS)),
    open=_open,
    seeds_of=_kept,
    smoke_examples=600,
    corpus="collector",
)


@pytest.mark.parametrize(
    "path", sorted((seeds.CORPUS_DIR / "collector").glob("*.bin")), ids=lambda p: p.name
)
def test_seed_decodes_to_records(path) -> None:
    """Generated seeds decode to records; regression seeds are merely survived."""
    signal, body = path.name.split("-")[0], path.read_bytes()
    if "-found-" not in path.name:
        encoding = "gzip" if path.name.endswith(".gz.bin") else "identity"
        content_type = "application/json" if "-json" in path.name else "application/x-protobuf"
        assert _otlp.decode(signal, _otlp.decompress(body, encoding, LIMIT), content_type)
    engine.check_each(TARGET, [(signal, body)])


def test_fuzzed_bodies_decode_or_raise_an_otlp_error() -> None:
    run = engine.smoke(TARGET)
    assert run.examples >= TARGET.smoke_examples
