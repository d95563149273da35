"""Codec benchmark: encode + decode of a StateSnapshot with a 100-item queue.

Two cases. "warm": the same queue in every snapshot, as when a device pushes position, volume
or status changes (the codec's queue caches hit). "cold": every snapshot carries a queue the
codec has not seen (both caches miss): the cost of a queue edit. Samples are microseconds per
round trip, each the mean of a batch, so timer overhead stays out of them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from bench._runner import Measurement
from connect.wire import codec
from connect.wire import messages as m

TARGET_PER_SECOND = 20_000
QUEUE_LENGTH = 100


def _queue(tag: int) -> tuple[m.QueueItem, ...]:
    return tuple(
        m.QueueItem(
            uid=f"{tag}-item-{i:03d}",
            url=f"http://192.168.1.20:8080/music/Artist {i % 7}/Album/track {i:02d}.flac",
            title=f"Track number {i}",
            artist=f"Artist {i % 7}",
            album="An album title of ordinary length",
            duration_ms=180_000 + i * 1000,
            artwork_url=f"http://192.168.1.20:8080/art/{i % 7}.jpg",
            content_type="audio/flac",
        )
        for i in range(QUEUE_LENGTH)
    )


def _snapshot(queue: tuple[m.QueueItem, ...], revision: int) -> m.Envelope:
    state = m.PlaybackState(
        session_id="session-6f1c",
        revision=revision,
        device_id="device-living-room",
        queue=queue,
        current_uid=queue[3].uid,
        clock=m.PlaybackClock(61_500, 1_234_567_890, 1.0, True),
        status=m.PlaybackStatus.PLAYING,
        volume=42,
        active=True,
        last_command_id="cmd-0042",
    )
    return m.Envelope(
        revision,
        "msg-1",
        m.StateSnapshot(state, m.StateChangeReason.COMMAND),
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )


def _per_round_trip_us(envelopes: list[m.Envelope], batches: int, batch: int) -> list[float]:
    samples = []
    count = len(envelopes)
    for b in range(batches):
        start = time.perf_counter()
        for i in range(batch):
            envelope = envelopes[(b * batch + i) % count]
            if codec.decode(codec.encode(envelope)) is None:  # keeps the work observable
                raise AssertionError("decode returned nothing")
        samples.append((time.perf_counter() - start) / batch * 1e6)
    return samples


def run(quick: bool) -> Iterator[Measurement]:
    """Measure warm and cold snapshot round trips."""
    batches, batch = (5, 50) if quick else (60, 400)
    same_queue = _queue(0)
    warm = [_snapshot(same_queue, r) for r in range(1, 50)]
    # More distinct queues than the caches hold (8), cycled, so every round trip misses.
    cold = [_snapshot(_queue(tag), tag) for tag in range(1, 41)]
    assert codec.decode(codec.encode(warm[0])) == warm[0]  # the benchmark measures a working codec
    size = len(codec.encode(warm[0]))
    for name, envelopes in (("warm", warm), ("cold", cold)):
        samples = _per_round_trip_us(envelopes, batches, batch)
        per_second = 1e6 / sorted(samples)[len(samples) // 2]
        yield Measurement(
            name=f"codec.snapshot100_roundtrip.{name}",
            unit="us",
            samples=samples,
            target=f">= {TARGET_PER_SECOND} round trips/s"
            + (
                " (steady pushes, queue unchanged)"
                if name == "warm"
                else " (queue changed every time: reported, not judged)"
            ),
            extra={"per_second": per_second, "frame_bytes": size},
            met=(per_second >= TARGET_PER_SECOND) if name == "warm" else None,
        )
