"""`baton play --from FILE --shuffle` with a library's 50 000 URLs, then `baton transfer`.

Issue 24's "done when": the queue lands whole on a real receiver (in commands of a frame
each), plays the first item of the shared shuffle order, and moves whole to another receiver,
which keeps the same seed and fetches the rest of the queue from the source after the switch.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from connect import queues as q
from tests.audio import write_tone
from tests.integration.cli.conftest import baton
from tests.integration.transfer.fault_bench import EVENT_TIMEOUT_S, controller_for, wait_state
from tests.media_server import MediaServer
from tests.receivers import start_receiver

pytestmark = pytest.mark.slow

LENGTH = 50_000


# The CLI's event loop serves this one command and nothing else: printing or releasing 50 000
# items in one step (`queue show --json`) holds it for 0.1-0.4 s on a loaded machine, which
# delays no one. The receivers run in processes of their own and are checked as everywhere.
@pytest.mark.warning_logs(r"Executing <Task .*coro=<_with_controller\(\) running at .*took")
async def test_fifty_thousand_urls_play_shuffled_and_move_whole(
    tmp_path: Path,
    config: Path,
    capsys: pytest.CaptureFixture[str],
    media_server: MediaServer,
) -> None:
    write_tone(media_server.root / "tone.wav", duration_ms=20_000)
    # One track under 50 000 URLs (the server ignores the query): every entry is playable.
    urls = [f"{media_server.url('tone.wav')}?n={n}" for n in range(LENGTH)]
    listing = tmp_path / "library.m3u"
    listing.write_text("#EXTM3U\n" + "\n".join(urls) + "\n", encoding="utf-8")
    home = await start_receiver(tmp_path, "Living Room")
    car = await start_receiver(tmp_path, "Car")
    try:
        at = [f"--connect={r.host}:{r.port}" for r in (home, car)]
        code, out, err = await baton(
            capsys, "play", "Living Room", "--from", str(listing), "--shuffle", *at
        )
        assert (code, err) == (0, ""), err
        assert re.match(rf"Living Room: ok \({LENGTH} items in \d+ commands, revision", out), out
        async with controller_for(home, car) as controller:
            playing = await wait_state(controller, home.device_id, lambda s: s.clock.playing)
            assert playing.shuffle
            assert playing.queue_total == LENGTH
            first = q.play_order(LENGTH, playing.shuffle_seed)[0][0]
            assert playing.current_item is not None
            assert playing.current_item.url == urls[first]

        code, out, err = await baton(capsys, "queue", "show", "Living Room", "--json", *at)
        assert (code, err) == (0, ""), err
        shown = json.loads(out)["items"]  # the window, then every page
        assert len(shown) == LENGTH
        assert sum(row["current"] for row in shown) == 1

        code, out, err = await baton(capsys, "transfer", "Living Room", "Car", *at)
        assert (code, err) == (0, ""), err

        async with controller_for(home, car) as controller:
            moved = await wait_state(controller, car.device_id, lambda s: s.active)
            assert (moved.queue_total, moved.current_uid) == (LENGTH, playing.current_uid)
            assert (moved.shuffle, moved.shuffle_seed) == (True, playing.shuffle_seed)
            view = controller.queue_view(car.device_id)
            try:
                # Until the target has the rest, its pages outside the window say BUSY: ask
                # again (the target tells of no "fetched" moment a controller could await).
                async with asyncio.timeout(EVENT_TIMEOUT_S * 3):
                    while view.mirror.known() < LENGTH:
                        if not await view.async_fetch(0, LENGTH):
                            await asyncio.sleep(0.05)
                assert [item.url for item in view.mirror if item is not None] == urls
            finally:
                view.close()
    finally:
        for receiver in (home, car):
            assert await receiver.stop() == 0, "".join(receiver.output)
