"""Run inside the booted container: play a tone on the service's receiver (127.0.0.1:47112).

`python3 play.py SECONDS [--no-wait]` serves a generated 440 Hz WAV on 127.0.0.1:47200 with
the aiohttp bundled in the package, plays it through a Controller (also from the package) and
prints the session status while and after playing. Used by nspawn-check.sh.
"""

import asyncio
import math
import struct
import sys
import tempfile
import wave
from pathlib import Path

sys.path.insert(0, "/usr/lib/baton-receiver")

from aiohttp import web

from connect.controller import Controller
from connect.wire import messages as m


async def main(seconds: int, wait: bool) -> int:
    folder = Path(tempfile.mkdtemp())
    with wave.open(str(folder / "tone.wav"), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(44100)
        step = 2 * math.pi * 440 / 44100
        second = b"".join(struct.pack("<h", int(12000 * math.sin(step * i))) for i in range(44100))
        out.writeframes(second * seconds)
    app = web.Application()
    app.router.add_static("/media", folder)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 47200).start()
    ctl = Controller(m.ClientIdentity("nspawn-check", "nspawn check"), interfaces=["lo"])
    await ctl.async_start()
    try:
        entry = await ctl.async_add_address("127.0.0.1", 47112)
        conn = await ctl.async_connect(entry.id, timeout=10)
        item = m.QueueItem("tone", "http://127.0.0.1:47200/media/tone.wav", "tone")
        result = await ctl.async_command(entry.id, m.SetQueue((item,), play=True))
        print(f"play: {'ok' if result.failure is None else result.failure}", flush=True)
        await asyncio.sleep(1.0)
        print(f"while playing: {conn.state.status.name if conn.state else None}", flush=True)
        if wait:
            await asyncio.sleep(seconds + 0.5)
            print(f"after the track: {conn.state.status.name if conn.state else None}", flush=True)
    finally:
        await ctl.async_close()
        if wait:
            await runner.cleanup()
    if not wait:
        await asyncio.sleep(3600)  # keep serving the media until killed
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(int(sys.argv[1]), "--no-wait" not in sys.argv)))
