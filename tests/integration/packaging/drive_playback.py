"""Drive a receiver at HOST:PORT to play a generated tone, from outside the chroot.

`python -m tests.integration.packaging.drive_playback HOST PORT [--phases FILE]` writes a 2 s
440 Hz WAV, serves it over HTTP on loopback, connects to the receiver by address (no mDNS),
leaves it idle for `--idle-s`, plays the tone and waits until the track has ended. Prints one
`played {json}` line; `--phases` also writes when the play command left and when the receiver
stopped (monotonic clock, for rss_probe.py). Used by chroot-check.sh.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from connect.controller import Controller
from connect.wire import messages as m
from tests.audio import write_tone
from tests.media_server import MediaServer

TONE_MS = 2000
TONE_HZ = 440.0


async def drive(host: str, port: int, idle_s: float, phases: Path | None) -> dict[str, object]:
    """Play the tone on the receiver; return what happened."""
    with tempfile.TemporaryDirectory() as folder:
        write_tone(Path(folder) / "tone.wav", TONE_HZ, TONE_MS)
        async with MediaServer(Path(folder), "127.0.0.1") as media:
            ctl = Controller(m.ClientIdentity("chroot-check", "chroot check"), interfaces=["lo"])
            await ctl.async_start()
            try:
                entry = await ctl.async_add_address(host, port)
                # Emulated receivers answer slowly: generous timeouts, the check is not about speed.
                conn = await ctl.async_connect(entry.id, timeout=60)
                await asyncio.sleep(idle_s)  # a measuring period for the idle memory
                item = m.QueueItem("tone", media.url("tone.wav"), "tone")
                started = time.monotonic()
                result = await ctl.async_command(
                    entry.id, m.SetQueue((item,), play=True), timeout=60
                )
                if result.failure is not None:
                    return {"ok": False, "failure": str(result.failure)}
                async with asyncio.timeout(TONE_MS / 1000 + 60):
                    while True:
                        await asyncio.sleep(0.1)
                        state = conn.state
                        if state is not None and state.status is m.PlaybackStatus.STOPPED:
                            break
                stopped = time.monotonic()
                if phases is not None:
                    record = json.dumps({"play": started, "stopped": stopped})
                    await asyncio.to_thread(phases.write_text, record)
                return {"ok": True, "seconds": round(stopped - started, 2)}
            finally:
                await ctl.async_close()


def main() -> int:
    """Parse HOST PORT, drive, print the result."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--idle-s", type=float, default=3.0, help="idle time before playing")
    parser.add_argument("--phases", type=Path, help="write the play and stop instants here")
    args = parser.parse_args()
    outcome = asyncio.run(drive(args.host, args.port, args.idle_s, args.phases))
    print(f"played {json.dumps(outcome)}", flush=True)
    return 0 if outcome.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
