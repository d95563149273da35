"""Fuzzing the codec: every decoder returns a message or raises a FrameError, nothing else.

Sans-IO and fast, so this harness also checks that what the decoder accepts re-encodes and
decodes to the same message: a device may relay or log what it received.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from connect import codec
from connect.errors import FrameError
from tests.fuzz import engine, seeds
from tests.fuzz.mutations import fuzz_bytes

SEEDS = seeds.load("codec")


def check(data: bytes) -> None:
    """Feed *data* to every decoder; fail on anything but a value or a FrameError."""
    try:
        envelope = codec.decode(data)
    except FrameError:
        pass
    else:
        assert codec.decode(codec.encode(envelope)) == envelope
    for decode in (codec.decode_device_info, codec.decode_pairing_request):
        with contextlib.suppress(FrameError):
            decode(data)
    with contextlib.suppress(FrameError):
        codec.device_info_from_json(data.decode("utf-8", "replace"))


@contextlib.contextmanager
def _open() -> Iterator[engine.Check]:
    yield check


def _kept(data: Any) -> list[tuple[str, bytes]]:
    return [("frame", data)]


TARGET = engine.Target(
    name="codec",
    inputs=fuzz_bytes(SEEDS),
    open=_open,
    seeds_of=_kept,
    smoke_examples=1000,
)

DECODERS = {
    "frame": codec.decode,
    "device-info-json": lambda data: codec.device_info_from_json(data.decode()),
    "device-info": codec.decode_device_info,
    "pairing": codec.decode_pairing_request,
}


@pytest.mark.parametrize(
    "path", sorted((seeds.CORPUS_DIR / "codec").glob("*.bin")), ids=lambda p: p.name
)
def test_seed_is_a_valid_input(path) -> None:
    """Generated seeds decode (they are real inputs); regression seeds are merely survived."""
    data = path.read_bytes()
    if "-found-" not in path.name:
        kind = next(k for k in DECODERS if path.name.startswith(k))
        DECODERS[kind](data)
    engine.check_each(TARGET, [data])


def test_fuzzed_bytes_decode_or_raise_a_frame_error() -> None:
    run = engine.smoke(TARGET)
    assert run.examples >= TARGET.smoke_examples
