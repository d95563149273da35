"""The link to the target goes down in the middle of a transfer (tests/integration/transfer
covers the source's link dropped at the commit); the controller, the source and the media
server are on one host (namespace b), the target on another (namespace a), across a veth.

Expected outcomes; in every case exactly one device plays afterwards, the source, with the
session (id, queue, item) it had, and the target, reached again once the link is back, shows
it does not hold the session and is not playing:
* cut while the target pre-rolls (its media request is the cue; the offer is unanswered): the
  controller gives up on the offer (deadline or lost session), the source is never touched;
* cut after the source acknowledged its Commit, before the target's Commit crossed: the
  target never hears it; the controller hears no Done, so it rolls the source back (one dip).
  Kept down 4 s, past the dead-peer timeout (3 s), both ends drop the session; kept down 1.5 s, the
  Commit may still arrive once the link is back, late, and must not start a second player.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from connect import messages as m
from connect.clock import monotonic_us
from connect.connection import Connected, StateChanged
from connect.transfer import TransferCoordinator, TransferOutcome
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
    on_ready_from,
    start_session,
    wait_state,
)
from tests.netns import NetnsPair, netns_pair, netns_skip_reason
from tests.receivers import RunningReceiver

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
    source: m.PlaybackState
    target: m.PlaybackState
    cut_us: int
    settled_us: int
    end_us: int
    playing: list[str]


async def run_cut(pair: NetnsPair, track: bytes, devices: Any, cue: str, down_s: float) -> Seen:
    """On host b: play on the source, transfer, cut the target's link on *cue*, heal, look."""
    source, target = devices
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

            unsubscribe = lambda: None  # noqa: E731
            if cue == "pre-roll":
                await asyncio.wait_for(media.served_whole.wait(), EVENT_TIMEOUT_S)
                media.on_request = cut_link  # the next request is the target's pre-roll
            else:
                unsubscribe = on_ready_from(controller, source.device_id, cut_link)
            outcome = await TransferCoordinator(controller).transfer(
                source.device_id, target.device_id
            )
            settled = monotonic_us()
            unsubscribe()
            assert cut, f"the cue {cue} never came"
            # The fault itself: the link stays down this long in all.
            await asyncio.sleep(max(0.0, (cut[0] - monotonic_us()) / 1e6 + down_s))
            pair.set_link("a", up=True)
            restored = monotonic_us()
            conn = controller.connection(target.device_id)
            if not conn.connected or conn.state is None:
                online, _ = await timeline.first(
                    lambda e: isinstance(e, Connected), restored, RECONNECT_TIMEOUT_S
                )
                await timeline.first(lambda e: isinstance(e, StateChanged), online, 10)
            # Long enough for a late Commit to have been delivered and acted on, if it was.
            await asyncio.sleep(PLAY_OUT_S)
            kept = await wait_state(controller, source.device_id, lambda s: s.clock.playing)
            other = controller.connection(target.device_id).state
            assert other is not None
            return Seen(
                outcome, before, kept, other, cut[0], settled, monotonic_us(),
                players(controller, source.device_id, target.device_id),
            )  # fmt: skip
    finally:
        await media.close()


@pytest.mark.parametrize(
    ("cue", "down_s"),
    [("pre-roll", 4.0), ("source-ack", 4.0), ("source-ack", 1.5)],
    ids=["during-offer", "after-commit-4s", "after-commit-1.5s"],
)
async def test_target_link_down_mid_transfer_leaves_the_source_alone_playing(
    tmp_path: Path, cue: str, down_s: float
) -> None:
    track = write_position_track(tmp_path / "track.wav", TRACK_MS).read_bytes()
    with netns_pair() as pair:
        receivers: list[RunningReceiver] = []
        try:
            receivers.append(
                await start_open_receiver(
                    tmp_path, "Source", output="capture", wrapper=pair.exec_argv("b", [])
                )
            )
            receivers.append(
                await start_open_receiver(
                    tmp_path,
                    "Target",
                    output="capture",
                    interface=pair.links["a"],
                    wrapper=pair.exec_argv("a", []),
                )
            )
            seen = await pair.async_run_in(
                "b", lambda: run_cut(pair, track, receivers, cue, down_s)
            )
        finally:
            for receiver in receivers:
                await receiver.stop()
    source, target = receivers
    why = seen.outcome.failure.message if seen.outcome.failure else "ok"
    print(f"\n  {cue}, down {down_s} s: {why}; rolled_back={seen.outcome.rolled_back}")
    assert not seen.outcome.ok
    assert seen.playing == [source.device_id]
    assert_session_kept(seen.source, seen.before)
    assert not seen.target.active
    if cue == "pre-roll":
        assert seen.source.revision == seen.before.revision  # never touched
    assert not audible_within(read_capture(target.recording), seen.cut_us, seen.end_us)
    assert_plays_on(
        read_capture(source.recording), seen.settled_us + 200_000, seen.end_us,
        position_ms_at=seen.source.clock.position_at,
    )  # fmt: skip
