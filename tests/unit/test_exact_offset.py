"""The benchmark's sample-by-sample reading of a content offset finds the truth the tones miss."""

from __future__ import annotations

import array
from pathlib import Path

from tests.audio import RATE, Capture, Recording, read_wav
from tests.integration.transfer.proof_audio import (
    Offset,
    PositionCode,
    content_offset,
    write_cyclic_position_track,
)
from tests.integration.transfer.proof_exact import exact_offset

CODE = PositionCode(cycle=20)  # 2 s of content, then the code repeats
T0 = 50_000_000  # when the capture's first sample was presented (µs)
START = 700 * RATE // 1000 + 17  # the capture begins 700 ms and 17 frames into the track


def captured(tmp_path: Path, *, nudge_at: int | None = None) -> tuple[Capture, array.array[int]]:
    """A capture of the track from START at a volume (gain 1/8), one frame repeated at
    *nudge_at* frames into the capture (a pull-mode output's correction); and the track."""
    track = read_wav(write_cyclic_position_track(tmp_path / "t.wav", 5_000, CODE)).samples
    heard = array.array("h", (x // 8 for x in track[START : START + 2 * RATE]))
    if nudge_at is not None:
        heard.insert(nudge_at, heard[nudge_at])
    return Capture(Recording(heard, RATE), ((T0, 0, len(heard)),)), track


def truth_us() -> int:
    """Return content minus instant for the capture (mod the code's cycle)."""
    return (round(START * 1_000_000 / RATE) - T0) % CODE.cycle_us


def test_the_offset_is_read_to_the_sample_from_a_rough_one(tmp_path: Path) -> None:
    capture, track = captured(tmp_path)
    rough = Offset((truth_us() + 1_300) % CODE.cycle_us, 1, 0)  # the tones, 1.3 ms off
    found = exact_offset(capture, track, CODE, rough, T0 + 200_000, T0 + 600_000, from_end=True)
    assert found is not None
    assert abs(CODE.wrap(found.offset_us - truth_us())) <= 23  # one frame, rounded to µs


def test_a_stretch_holding_a_correction_is_passed_over(tmp_path: Path) -> None:
    # The last boundary before 600 ms is at content 1200 ms: 500 ms into the capture.
    nudge = 500 * RATE // 1000 - START % (RATE // 10) + 40
    capture, track = captured(tmp_path, nudge_at=nudge)
    rough = content_offset(capture, T0 + 200_000, T0 + 450_000, CODE)
    assert rough is not None
    found = exact_offset(capture, track, CODE, rough, T0 + 200_000, T0 + 600_000, from_end=True)
    assert found is not None
    assert found.at_us < T0 + 480_000  # read before the correction, where the content is true
    assert abs(CODE.wrap(found.offset_us - truth_us())) <= 23
