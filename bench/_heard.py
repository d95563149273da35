"""What a capture recording says about a window of time: silences and audible time.

Both work in 10 ms chunks of presented samples (tests/audio.py's capture format): a chunk is
audible when its RMS reaches tests/audio.py's silence level, and time with no presented
sample at all counts as silence.
"""

from __future__ import annotations

from tests.audio import SILENCE_RMS, Capture, rms

CHUNK_MS = 10


def longest_silence_ms(capture: Capture, start_us: int, end_us: int) -> float:
    """Return the longest stretch in [start_us, end_us) that presented nothing audible.

    Time with no presented sample at all (a gap in the timeline) counts as silence, as do
    10 ms chunks whose RMS is under tests/audio.py's silence level.
    """
    rate = capture.recording.rate
    chunk = rate * CHUNK_MS // 1000
    longest = silent_since = 0
    cursor = start_us  # the end of what has been judged so far
    silent_since = -1  # start of the current silent run, -1 when sound is playing
    for block_us, first, frames in capture.blocks:
        block_end = block_us + frames * 1_000_000 // rate
        if block_end <= start_us or block_us >= end_us:
            continue
        if block_us > cursor and silent_since < 0:
            silent_since = cursor  # nothing presented between the previous block and this one
        for offset in range(0, frames, chunk):
            at = block_us + offset * 1_000_000 // rate
            if not start_us <= at < end_us:
                continue
            level = rms(capture.samples[first + offset : first + min(offset + chunk, frames)])
            if level < SILENCE_RMS:
                if silent_since < 0:
                    silent_since = at
            elif silent_since >= 0:
                longest = max(longest, at - silent_since)
                silent_since = -1
        cursor = max(cursor, block_end)
    if silent_since >= 0 or cursor < end_us:
        longest = max(longest, end_us - (silent_since if silent_since >= 0 else cursor))
    return longest / 1000


def audible_ms(capture: Capture, start_us: int, end_us: int) -> float:
    """Return how much of [start_us, end_us) was presented audibly, in 10 ms chunks."""
    rate = capture.recording.rate
    chunk = rate * CHUNK_MS // 1000
    audible = 0
    for block_us, first, frames in capture.blocks:
        if block_us + frames * 1_000_000 // rate <= start_us or block_us >= end_us:
            continue
        for offset in range(0, frames, chunk):
            at = block_us + offset * 1_000_000 // rate
            part = capture.samples[first + offset : first + min(offset + chunk, frames)]
            if start_us <= at < end_us and rms(part) >= SILENCE_RMS:
                audible += len(part)
    return audible * 1000 / rate
