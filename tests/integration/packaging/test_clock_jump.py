"""Wall-clock jumps (no RTC, NTP stepping the clock at boot) never move the playing position.

Positions are arithmetic on the monotonic clock (connect/clock.py): two checks hold that up.

1. A real receiver (in this process, real libVLC, afile output) plays a position track while
   `time.time` and `time.time_ns` are made to jump an hour forward, a day back and eleven days
   forward. The receiver's position, its player's clock and the position it saves all keep
   advancing with the monotonic clock, and the recording is continuous: every 100 ms segment
   once, in order. (Setting the host's real clock would disturb the machine running the tests;
   patching the two functions every Python caller uses is the in-process equivalent.)
2. A source guard: nothing in connect/ or devices/ reads the wall clock except the few places
   that must (listed with their reason), none of which feeds a position.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest

from connect.clock import monotonic_us
from connect.wire import messages as m
from devices.config import ReceiverConfig
from devices.persistence import SessionStore
from devices.receiver import Receiver
from tests.audio import content_positions, read_wav, segment_sequence, write_position_track
from tests.media_server import MediaServer

ROOT = Path(__file__).resolve().parents[3]
TRACK_MS = 4000
TOLERANCE_MS = 60  # one afile write block and the player's clock granularity


@pytest.mark.slow
@pytest.mark.warning_logs(r"pairing is open")
async def test_wall_clock_jumps_do_not_move_the_position(
    tmp_path: Path, media_server: MediaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_position_track(media_server.root / "pos.wav", TRACK_MS)
    recording = tmp_path / "played.wav"
    config = ReceiverConfig(
        name="Clock",
        interfaces=("127.0.0.1",),
        audio_output=f"afile:{recording}",
        state_dir=tmp_path / "state",
        checkpoint_interval=0.2,
        pairing="open",
    )
    receiver = Receiver(config, advertise=False)
    await receiver.async_start()
    try:
        item = m.QueueItem("pos", media_server.url("pos.wav"), "pos")
        command = m.Command("play-1", m.SetQueue((item,), play=True))
        result = await receiver.async_handle_command(command, m.Role.OWNER)
        assert result.failure is None
        await asyncio.sleep(0.4)  # let playback settle before the first reading
        start_us, start_ms = _position(receiver)
        real_time, real_time_ns = time.time, time.time_ns
        for jump_s in (3600, -86400, 11 * 86400):
            monkeypatch.setattr(time, "time", lambda j=jump_s: real_time() + j)
            monkeypatch.setattr(time, "time_ns", lambda j=jump_s: real_time_ns() + j * 10**9)
            # Playback must run while the wall clock is wrong: the passing time is the test.
            await asyncio.sleep(0.6)
            now_us, position_ms = _position(receiver)
            elapsed_ms = (now_us - start_us) / 1000
            assert abs((position_ms - start_ms) - elapsed_ms) <= TOLERANCE_MS, jump_s
            player = receiver.player.clock()
            player_ms = player.position_ms + (now_us - player.as_of_us) / 1000
            assert abs(player_ms - position_ms) <= TOLERANCE_MS, jump_s
        # The checkpoints taken during the jumps froze the monotonic position too.
        saved = SessionStore(config.state_dir).load_session()
        assert saved is not None
        _, position_ms = _position(receiver)
        assert 0 <= position_ms - saved.clock.position_ms <= 200 + TOLERANCE_MS
    finally:
        monkeypatch.undo()
        await receiver.async_close()

    hits = content_positions(read_wav(recording))
    heard = segment_sequence(hits)
    assert heard[0] == 0
    assert heard == list(range(len(heard))), heard  # no jump, no repeat, no gap
    assert len(heard) >= (400 + 3 * 600) // 100


# Modules that may read the wall clock, and why; none of them computes a position.
WALL_CLOCK_ALLOWED = {
    "connect/access/credentials.py": "paired_at: when this controller paired, shown to the user",
    "connect/discovery/last_reached.py": "reached_at: which remembered devices to drop first",
    "connect/discovery/registry.py": "last_seen: when a device was last heard of, for display",
    "connect/telemetry.py": "OpenTelemetry event timestamps are wall-clock by definition",
    "devices/_pulse_stream.py": "a sound server stamps its timing reports with the wall clock: "
    "converted at once, a report whose age says the clock stepped is dropped",
    "devices/resume.py": "the save's stamp: dates a save across boots when NTP is synced",
    "devices/tokens.py": "a token's created and last-used dates, shown to the owner",
}
WALL_CLOCK = re.compile(
    r"\btime\.time(_ns)?\b|\bdatetime\.(now|utcnow|today)\b|from time import [^\n]*\btime\b"
)


def test_no_position_arithmetic_reads_the_wall_clock() -> None:
    offenders = {}
    for package in ("connect", "devices"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith("connect/wire/_pb/") or relative in WALL_CLOCK_ALLOWED:
                continue
            hits = [n for n, line in enumerate(path.read_text().splitlines(), 1)
                    if WALL_CLOCK.search(line)]  # fmt: skip
            if hits:
                offenders[relative] = hits
    assert offenders == {}, f"wall-clock reads outside {sorted(WALL_CLOCK_ALLOWED)}: {offenders}"


def _position(receiver: Receiver) -> tuple[int, int]:
    now = monotonic_us()
    return now, receiver.current_state().clock.position_at(now)
