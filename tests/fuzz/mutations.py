"""Hypothesis strategies that turn seeds into fuzzing inputs: seeds, mutants and noise.

Mutants are built from draws (positions, values, counts), so hypothesis shrinks a failing
mutant towards the smallest edit of the simplest seed. The mutations are the classic ones of
coverage-blind fuzzers, plus two aimed at protobuf: corrupted varints and huge length prefixes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hypothesis import strategies as st

MAX_NOISE = 2048  # random inputs stay small: size is a mutation's job (`repeat`)
MAX_REPEAT = 20_000  # enough to nest JSON or protobuf past any parser's recursion limit
INTERESTING_BYTES = (0x00, 0x01, 0x7F, 0x80, 0xFF)
# Lengths a parser must not trust: past the frame, past 1 MiB, past 32 and 64 bits.
HUGE_LENGTHS = (2**20 + 1, 2**31 - 1, 2**32, 2**35, 2**63, 2**64 - 1)

Mutation = Callable[[st.DrawFn, bytearray, Sequence[bytes]], bytearray]


def fuzz_bytes(seeds: Sequence[bytes]) -> st.SearchStrategy[bytes]:
    """Inputs for a byte-decoding target: a seed as is, a mutant of one, or random bytes."""
    return st.one_of(st.sampled_from(seeds), mutants(seeds), st.binary(max_size=MAX_NOISE))


@st.composite
def mutants(draw: st.DrawFn, seeds: Sequence[bytes]) -> bytes:
    """A seed with one to four mutations applied in turn."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        mutation = draw(st.sampled_from(MUTATIONS))
        data = mutation(draw, data, seeds)
    return bytes(data)


def varint(value: int) -> bytes:
    """Return *value* as a protobuf base-128 varint."""
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


# ------------------------------------------------------------------ mutations


def _position(draw: st.DrawFn, data: bytearray) -> int:
    return draw(st.integers(0, len(data)))


def _span(draw: st.DrawFn, data: bytearray, longest: int) -> tuple[int, int]:
    start = _position(draw, data)
    return start, min(len(data), start + draw(st.integers(1, longest)))


def flip_bit(draw: st.DrawFn, data: bytearray, seeds: Sequence[bytes]) -> bytearray:
    if data:
        data[draw(st.integers(0, len(data) - 1))] ^= 1 << draw(st.integers(0, 7))
    return data


def set_byte(draw: st.DrawFn, data: bytearray, seeds: Sequence[bytes]) -> bytearray:
    if data:
        value = draw(st.sampled_from(INTERESTING_BYTES) | st.integers(0, 255))
        data[draw(st.integers(0, len(data) - 1))] = value
    return data


def truncate(draw: st.DrawFn, data: bytearray, seeds: Sequence[bytes]) -> bytearray:
    return data[: _position(draw, data)]


def delete(draw: st.DrawFn, data: bytearray, seeds: Sequence[bytes]) -> bytearray:
    start, end = _span(draw, data, 64)
    del data[start:end]
    return data


def insert(draw: st.DrawFn, data: bytearray, seeds: Sequence[bytes]) -> bytearray:
    at = _position(draw, data)
    data[at:at] = draw(st.binary(min_size=1, max_size=16))
    return data


def splice(draw: st.DrawFn, data: bytearray, seeds: Sequence[bytes]) -> bytearray:
    """This input's head on another seed's tail: valid prefixes, foreign continuations."""
    other = draw(st.sampled_from(seeds))
    return data[: _position(draw, data)] + other[draw(st.integers(0, len(other))) :]


def repeat(draw: st.DrawFn, data: bytearray, seeds: Sequence[bytes]) -> bytearray:
    """Repeat a short slice many times: deep nesting, long runs, many repeated fields."""
    start, end = _span(draw, data, 8)
    data[start:end] = data[start:end] * draw(st.integers(2, MAX_REPEAT))
    return data


def corrupt_varint(draw: st.DrawFn, data: bytearray, seeds: Sequence[bytes]) -> bytearray:
    """Set continuation bits on a run of bytes, or insert an over-long (11-byte) varint."""
    if data and draw(st.booleans()):
        start, end = _span(draw, data, 10)
        for i in range(start, end):
            data[i] |= 0x80
    else:
        at = _position(draw, data)
        data[at:at] = b"\xff" * 10 + b"\x01"
    return data


def huge_length(draw: st.DrawFn, data: bytearray, seeds: Sequence[bytes]) -> bytearray:
    """Insert a length-delimited field whose length prefix promises far more than follows."""
    field = draw(st.integers(1, 40))
    length = draw(st.sampled_from(HUGE_LENGTHS))
    at = _position(draw, data)
    data[at:at] = varint(field << 3 | 2) + varint(length)
    return data


MUTATIONS: tuple[Mutation, ...] = (
    flip_bit,
    set_byte,
    truncate,
    delete,
    insert,
    splice,
    repeat,
    corrupt_varint,
    huge_length,
)
