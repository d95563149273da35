"""Fuzzing the codec: every decoder (frames, HTTP bodies) returns a value or raises FrameError.

Sans-IO and fast, so this harness also checks that what the decoder accepts re-encodes and
decodes to the same message: a device may relay or log what it received.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from connect.errors import FrameError
from connect.wire import codec
from tests.fuzz import engine, seeds
from tests.fuzz.mutations import fuzz_bytes

SEEDS = seeds.load("codec")
# What a device reads from a controller, and a controller from a device, over HTTP.
HTTP_BODY_DECODERS: tuple[Callable[[bytes], object], ...] = (
    codec.decode_device_info,
    codec.decode_pairing_request,
    codec.decode_pairing_response,
    codec.decode_pairing_code,
    codec.decode_failure,
    codec.decode_token_list,
    codec.decode_rename_request,
)


def check(data: bytes) -> None:
    """Feed *data* to every decoder; fail on anything but a value or a FrameError."""
    try:
        envelope = codec.decode(data)
    except FrameError:
        pass
    else:
        assert codec.decode(codec.encode(envelope)) == envelope
    for decode in HTTP_BODY_DECODERS:
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

DECODERS: dict[str, Callable[[bytes], object]] = {
    "frame": codec.decode,
    "device-info-json": lambda data: codec.device_info_from_json(data.decode()),
    "device-info": codec.decode_device_info,
    "pairing-request": codec.decode_pairing_request,
    "pairing-response": codec.decode_pairing_response,
    "pairing-code": codec.decode_pairing_code,
    "failure": codec.decode_failure,
    "token-list": codec.decode_token_list,
    "rename-request": codec.decode_rename_request,
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
