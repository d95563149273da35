"""A link goes down in the middle of a transfer (tests/integration/transfer covers the
source's link dropped at the commit). The controller and the media server are on one host
(namespace b) with one of the devices; the other device is on another host (namespace a),
across a veth, and the cut isolates it.

Expected outcomes; in every case exactly one device plays afterwards, with the session (id,
queue, item) it had, and the other, reached again once the link is back, does not hold the
session and is not playing:
* the target cut off while it pre-rolls (its media request is the cue; the offer is
  unanswered): the controller gives up on the offer, the source is never touched;
* the target cut off after the source acknowledged its Commit, before the target's Commit
  crossed: the target never hears it; the controller hears no Done and rolls the source back.
  Kept down 4 s, past the dead-peer timeout (3 s), both ends drop the session; kept down
  1.5 s, the Commit may still arrive once the link is back, late, and must not start a second
  player;
* the source cut off once the target has started (its Done is the cue): the source never
  hears the verdict; it stays silent (holding the media, then letting go) and the target plays.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from connect.clock import monotonic_us
from connect.session import Connected, ConnectionEvent, StateChanged
from connect.session.connection import TransferReply
from connect.transfer.coordinator import TransferCoordinator, TransferOutcome
from connect.wire import messages as m
from tests.audio import read_capture, write_position_track
from tests.faults.helpers import players, start_open_receiver
from tests.faults.outages import Timeline
from tests.integration.transfer.fault_bench import (
    EVENT_TIMEOUT_S,
    PLAY_OUT_S,
    TRACK_MS,
    TrackServer,
    assert_plays_on,
    assert_session_kept,
    audible_within,
    controller_for,
    start_session,
    wait_state,
)
from tests.netns import NetnsPair, netns_pair, netns_skip_reason
from tests.receivers import RunningReceiver, stop_all

pytestmark = [
    pytest.mark.netns,
    pytest.mark.slow,
    pytest.mark.skipif(netns_skip_reason() is not None, reason=str(netns_skip_reason())),
]

RECONNECT_TIMEOUT_S = 30.0


class HostTrackServer(TrackServer):
    """fault_bench's TrackServer, listening on a given address instead of 127.0.0.1."""

    def __init__(self, good: bytes, host: str) -> None:
        super().__init__(good)
        self.host = host

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/media/{name}", self._serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, 0).start()
        self.port = self._runner.addresses[0][1]

    def url(self, name: str) -> str:
        return f"http://{self.host}:{self.port}/media/{name}"


@dataclass
class Seen:
    outcome: TransferOutcome
    before: m.PlaybackState
    player: m.PlaybackState  # the state of the device that should play at the end
    other: m.PlaybackState
    cut_us: int
    settled_us: int
    end_us: int
    playing: list[str]


CUES = {  # cue → whose message is awaited
    "source-ack": ("source", m.TransferReady),
    "target-done": ("target", m.TransferDone),
}


async def run_cut(
    pair: NetnsPair, track: bytes, devices: Any, cue: str, down_s: float, *, across: str
) -> Seen:
    """On host b: play on the source, transfer, cut the link on *cue*, heal, look.

    *across* names the device on the other host (namespace a): the one the cut isolates.
    The device expected to play at the end is the other one.
    """
    source, target = devices
    isolated, player = (target, source) if across == "target" else (source, target)
    media = HostTrackServer(track, pair.address("b"))
    await media.start()
    try:
        async with controller_for(source, target) as controller:
            timeline = Timeline(controller)
            before = await start_session(controller, source.device_id, media.url("track.wav"))
            cut: list[int] = []

            def cut_link() -> None:
                if not cut:
                    pair.set_link("a", up=False)
                    cut.append(monotonic_us())

            def on_event(event: ConnectionEvent) -> None:
                role, kind = CUES[cue]
                device = source if role == "source" else target
                if (
                    isinstance(event, TransferReply)
                    and event.device_id == device.device_id
                    and isinstance(event.body, kind)
                ):
                    cut_link()

            if cue == "pre-roll":
                await asyncio.wait_for(media.served_whole.wait(), EVENT_TIMEOUT_S)
                media.on_request = cut_link  # the next request is the target's pre-roll
            unsubscribe = controller.subscribe(on_event) if cue in CUES else lambda: None
            outcome = await TransferCoordinator(controller).async_transfer(
                source.device_id, target.device_id
            )
            settled = monotonic_us()
            unsubscribe()
            assert cut, f"the cue {cue} never came"
            # The fault itself: the link stays down this long in all.
            await asyncio.sleep(max(0.0, (cut[0] - monotonic_us()) / 1e6 + down_s))
            pair.set_link("a", up=True)
            restored = monotonic_us()
            conn = controller.connection(isolated.device_id)
            if not conn.connected or conn.state is None:
                online, _ = await timeline.first(
                    lambda e: isinstance(e, Connected), restored, RECONNECT_TIMEOUT_S
                )
                await timeline.first(lambda e: isinstance(e, StateChanged), online, 10)
            # Long enough for a late Commit to have been delivered and acted on, if it was.
            await asyncio.sleep(PLAY_OUT_S)
            kept = await wait_state(controller, player.device_id, lambda s: s.clock.playing)
            other = controller.connection(isolated.device_id).state
            assert other is not None
            return Seen(
                outcome, before, kept, other, cut[0], settled, monotonic_us(),
                players(controller, source.device_id, target.device_id),
            )  # fmt: skip
    finally:
        await media.close()


async def two_hosts(
    tmp_path: Path, cue: str, down_s: float, *, across: str
) -> tuple[Seen, RunningReceiver, RunningReceiver]:
    """Source and target receivers, *across* in namespace a, the other in b; run the cut."""
    track = write_position_track(tmp_path / "track.wav", TRACK_MS).read_bytes()
    with netns_pair() as pair:

        def start(name: str) -> Awaitable[RunningReceiver]:
            far = name.lower() == across
            wrapper = pair.exec_argv("a" if far else "b", [])
            interface = pair.links["a"] if far else "lo"
            return start_open_receiver(
                tmp_path, name, output="capture", interface=interface, wrapper=wrapper
            )

        # Both start at once (a receiver takes about a second to listen); one that failed to
        # start fails the test once the other is stopped.
        started = await asyncio.gather(start("Source"), start("Target"), return_exceptions=True)
        receivers = [r for r in started if isinstance(r, RunningReceiver)]
        try:
            for result in started:
                if isinstance(result, BaseException):
                    raise result
            seen = await pair.async_run_in(
                "b", lambda: run_cut(pair, track, receivers, cue, down_s, across=across)
            )
        finally:
            # Stopped together too: each takes a quarter of a second or so to save and exit.
            await stop_all(receivers)
    return seen, receivers[0], receivers[1]


@pytest.mark.parametrize(
    ("cue", "down_s"),
    [("pre-roll", 4.0), ("source-ack", 4.0), ("source-ack", 1.5)],
    ids=["during-offer", "after-commit-4s", "after-commit-1.5s"],
)
@pytest.mark.warning_logs(r"offline: timed out")
async def test_target_link_down_mid_transfer_leaves_the_source_alone_playing(
    tmp_path: Path, cue: str, down_s: float
) -> None:
    seen, source, target = await two_hosts(tmp_path, cue, down_s, across="target")
    why = seen.outcome.failure.message if seen.outcome.failure else "ok"
    print(f"\n  {cue}, down {down_s} s: {why}; rolled_back={seen.outcome.rolled_back}")
    assert not seen.outcome.ok
    assert seen.playing == [source.device_id]
    assert_session_kept(seen.player, seen.before)
    assert not seen.other.active
    if cue == "pre-roll":
        assert seen.player.revision == seen.before.revision  # never touched
    assert not audible_within(read_capture(target.recording), seen.cut_us, seen.end_us)
    assert_plays_on(
        read_capture(source.recording), seen.settled_us + 200_000, seen.end_us,
        position_ms_at=seen.player.clock.position_at,
    )  # fmt: skip


@pytest.mark.warning_logs(r"offline: timed out")
async def test_source_link_down_after_the_target_started_leaves_the_target_alone_playing(
    tmp_path: Path,
) -> None:
    seen, source, target = await two_hosts(tmp_path, "target-done", 4.0, across="source")
    why = seen.outcome.failure.message if seen.outcome.failure else "ok"
    print(f"\n  target-done, source cut off 4.0 s: {why}")
    assert seen.outcome.ok, seen.outcome.failure
    assert seen.playing == [target.device_id]
    assert_session_kept(seen.player, seen.before)
    # The source never heard the verdict: it holds the media, silent, then lets go.
    assert not seen.other.active
    assert seen.other.status is not m.PlaybackStatus.PLAYING
    assert not audible_within(read_capture(source.recording), seen.settled_us, seen.end_us)
    assert_plays_on(
        read_capture(target.recording), seen.settled_us, seen.end_us,
        position_ms_at=seen.player.clock.position_at,
    )  # fmt: skip
