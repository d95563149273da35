"""Transfer faults between real receivers: after each, exactly one device plays (none if the
user had paused) and the session (id, queue, position) lives on, on the device that has it.

Each fault is triggered at its instant from the controller's own event dispatch (the target's
Ready) or from the media server (the target's pre-roll request), never after a sleep. What the
devices say (their snapshots) is checked against what they played (their capture recordings,
timed on the same monotonic clock).
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from connect.clock import monotonic_us
from connect.session import Disconnected
from connect.session.connection import TransferReply
from connect.transfer.coordinator import TransferCoordinator
from connect.wire import messages as m
from tests.audio import read_capture, write_position_track
from tests.integration.transfer.fault_bench import (
    EVENT_TIMEOUT_S,
    PLAY_OUT_S,
    RECOVERY_US,
    TRACK_MS,
    SilentTarget,
    assert_failed,
    assert_plays_on,
    assert_session_kept,
    audible_within,
    controller_for,
    on_ready_from,
    play_out,
    queue_of,
    report,
    silences,
    start_session,
    two_receivers,
    wait_state,
)
from tests.netns import netns_pair, netns_skip_reason
from tests.receivers import start_receiver
from tests.serve_media import read_urls

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]

# ------------------------------------------------------------------------------ refusals


async def test_target_that_cannot_decode_the_media_refuses_and_the_source_plays_on(
    tmp_path: Path,
) -> None:
    async with two_receivers(tmp_path, spoilable=True) as pair:
        source, target = pair.source, pair.target
        async with controller_for(source, target) as controller:
            before = await start_session(controller, source.device_id, pair.url)
            await asyncio.wait_for(pair.media.served_whole.wait(), EVENT_TIMEOUT_S)
            pair.media.spoil()  # the source holds the real bytes; the target gets garbage
            asked = monotonic_us()
            outcome = await TransferCoordinator(controller).async_transfer(
                source.device_id, target.device_id
            )
            settled = monotonic_us()
            report(outcome, asked, settled)
            assert_failed(outcome, m.ErrorCode.MEDIA_UNSUPPORTED, "Target refused", "decode")
            assert outcome.source_reachable
            assert not outcome.rolled_back
            await play_out()
            kept = controller.connection(source.device_id).state
            other = controller.connection(target.device_id).state
        assert kept is not None
        assert other is not None
        assert_session_kept(kept, before)
        assert kept.status is m.PlaybackStatus.PLAYING
        assert kept.revision == before.revision  # the source was never touched
        assert not other.active
        assert other.status is not m.PlaybackStatus.PLAYING
    end = settled + round(PLAY_OUT_S * 1e6)
    assert_plays_on(
        read_capture(source.recording), asked - 300_000, end, position_ms_at=kept.clock.position_at
    )
    assert not audible_within(read_capture(target.recording), asked, end)


async def test_target_without_the_codec_is_refused_before_any_offer(tmp_path: Path) -> None:
    fake = SilentTarget("fake-mp3-only", codecs=("mp3",))
    await fake.start()
    try:
        async with two_receivers(tmp_path) as pair:
            source = pair.source
            async with controller_for(source) as controller:
                await controller.async_add_address("127.0.0.1", fake.port)
                # Playing is all this needs: nothing here is heard, so no start_session wait
                # for 600 ms of music.
                played = await controller.async_command(
                    source.device_id, m.SetQueue(queue_of(pair.url), play=True)
                )
                assert played.ok, played.failure
                before = await wait_state(controller, source.device_id, lambda s: s.clock.playing)
                asked = monotonic_us()
                outcome = await TransferCoordinator(controller).async_transfer(
                    source.device_id, "fake-mp3-only"
                )
                report(outcome, asked, monotonic_us())
                kept = controller.connection(source.device_id).state
            assert_failed(outcome, m.ErrorCode.MEDIA_UNSUPPORTED, "cannot play wav audio")
            # Refused up front: no offer went out (how fast is the benchmark's business).
            assert fake.transfer_messages == []
            assert kept is not None
            assert_session_kept(kept, before)
            assert kept.revision == before.revision
    finally:
        await fake.server.async_close()


async def test_target_that_never_answers_is_called_off_and_the_source_plays_on(
    tmp_path: Path,
) -> None:
    fake = SilentTarget("fake-silent")
    await fake.start()
    try:
        async with two_receivers(tmp_path) as pair:
            source = pair.source
            async with controller_for(source) as controller:
                await controller.async_add_address("127.0.0.1", fake.port)
                before = await start_session(controller, source.device_id, pair.url)
                asked = monotonic_us()
                outcome = await TransferCoordinator(controller).async_transfer(
                    source.device_id, "fake-silent", timeout_s=1.5
                )
                settled = monotonic_us()
                report(outcome, asked, settled)
                assert_failed(
                    outcome, m.ErrorCode.TIMEOUT, "Fake fake-silent was not ready in time"
                )
                assert not outcome.rolled_back
                await play_out()
                kept = controller.connection(source.device_id).state
            assert 1.5 <= (settled - asked) / 1e6 < 2.5
            assert [type(b) for b in fake.transfer_messages] == [
                m.TransferOffer,
                m.TransferAborted,
            ]
            assert kept is not None
            assert_session_kept(kept, before)
            assert kept.status is m.PlaybackStatus.PLAYING
            assert kept.revision == before.revision
        end = settled + round(PLAY_OUT_S * 1e6)
        assert_plays_on(
            read_capture(source.recording), asked, end, position_ms_at=kept.clock.position_at
        )
    finally:
        await fake.server.async_close()


# ------------------------------------------------------------------------------ deaths


@pytest.mark.parametrize("paused", [False, True], ids=["playing", "paused"])
@pytest.mark.warning_logs(r"offline: .*closed by the device")
async def test_target_killed_after_ready_leaves_the_session_on_the_source(
    tmp_path: Path, paused: bool
) -> None:
    async with two_receivers(tmp_path) as pair:
        source, target = pair.source, pair.target
        async with controller_for(source, target) as controller:
            before = await start_session(controller, source.device_id, pair.url, paused=paused)
            killed: list[int] = []

            def kill_target() -> None:
                target.process.send_signal(signal.SIGKILL)
                killed.append(monotonic_us())

            unsubscribe = on_ready_from(controller, target.device_id, kill_target)
            asked = monotonic_us()
            outcome = await TransferCoordinator(controller).async_transfer(
                source.device_id, target.device_id
            )
            unsubscribe()
            settled = monotonic_us()
            report(outcome, asked, settled)
            assert killed, "the target never got to Ready"
            assert_failed(outcome, m.ErrorCode.TIMEOUT, "Target")
            assert outcome.failure is not None
            # Either the coordinator saw the target go before committing anything, or it had
            # committed the source, which then took the session back.
            if outcome.rolled_back:
                assert outcome.failure.message == "Target did not start playing"
            else:
                assert outcome.failure.message == "lost Target after it was ready"
            assert outcome.source_reachable
            want = m.PlaybackStatus.PAUSED if paused else m.PlaybackStatus.PLAYING
            await wait_state(controller, source.device_id, lambda s: s.active and s.status is want)
            recovered = monotonic_us()
            await play_out()
            kept = controller.connection(source.device_id).state
        assert kept is not None
        assert_session_kept(kept, before)
        if paused:
            assert kept.clock.position_ms == before.clock.position_ms
    capture = read_capture(source.recording)
    end = settled + round(PLAY_OUT_S * 1e6)
    if paused:
        assert not audible_within(capture, killed[0], end)
        return
    # At most one dip, from the source's fade-out at the switch until its rollback.
    assert (recovered - killed[0]) < RECOVERY_US
    dips = silences(capture, killed[0], end, longer_than_us=2_000)
    print(f"  source silences after the kill (ms): {[(b - a) / 1000 for a, b in dips]}")
    assert len(dips) <= 1, dips
    if dips:
        assert outcome.rolled_back
        assert dips[0][1] - killed[0] < RECOVERY_US
    assert_plays_on(capture, recovered, end, position_ms_at=kept.clock.position_at)


@pytest.mark.warning_logs(r"offline: .*closed by the device", r"source .*unreachable")
async def test_source_killed_during_the_offer_target_takes_over_from_its_last_state(
    tmp_path: Path,
) -> None:
    async with two_receivers(tmp_path) as pair:
        source, target = pair.source, pair.target
        async with controller_for(source, target) as controller:
            before = await start_session(controller, source.device_id, pair.url)
            await asyncio.wait_for(pair.media.served_whole.wait(), EVENT_TIMEOUT_S)
            killed: list[int] = []

            def kill_source() -> None:  # the target's pre-roll request: mid-offer
                if not killed:
                    source.process.send_signal(signal.SIGKILL)
                    killed.append(monotonic_us())

            pair.media.on_request = kill_source
            asked = monotonic_us()
            outcome = await TransferCoordinator(controller).async_transfer(
                source.device_id, target.device_id
            )
            settled = monotonic_us()
            report(outcome, asked, settled)
            assert killed, "the target never asked for the media"
            assert outcome.ok, outcome.failure
            assert not outcome.source_reachable  # said: taken over from the last known state
            await wait_state(controller, target.device_id, lambda s: s.clock.playing)
            await play_out()
            took = controller.connection(target.device_id).state
        assert took is not None
        assert_session_kept(took, before)
        assert took.status is m.PlaybackStatus.PLAYING
        # The position went on from the source's last state, extrapolated.
        assert abs(took.clock.position_at(settled) - before.clock.position_at(settled)) < 100
    capture = read_capture(target.recording)
    end = settled + round(PLAY_OUT_S * 1e6)
    print(f"target audible {(settled - killed[0]) / 1000:.0f} ms after the source died")
    assert settled - killed[0] < RECOVERY_US
    assert_plays_on(capture, settled, end, position_ms_at=took.clock.position_at)


# ------------------------------------------------------------------------------ the network


@pytest.mark.netns
@pytest.mark.skipif(netns_skip_reason() is not None, reason=str(netns_skip_reason()))
async def test_link_dropped_during_commit_leaves_the_music_on_the_source(tmp_path: Path) -> None:
    """Source in namespace a (with its media); target and controller in b, across a veth."""
    media = tmp_path / "media"
    media.mkdir()
    write_position_track(media / "track.wav", TRACK_MS)
    with netns_pair() as pair:
        server = pair.popen(
            "a",
            [sys.executable, "-m", "tests.serve_media", str(media), "--host", pair.address("a")],
            stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )  # fmt: skip
        assert server.stdout is not None
        line = await asyncio.to_thread(server.stdout.readline)
        server.stdout.close()  # it prints nothing after this line
        url = read_urls(line)["track.wav"]
        source, target = await asyncio.gather(
            start_receiver(
                tmp_path, "Source", interface=pair.links["a"],
                wrapper=pair.exec_argv("a", []), output="capture",
            ),
            start_receiver(
                tmp_path, "Target", interface="lo", wrapper=pair.exec_argv("b", []),
                output="capture",
            ),
        )  # fmt: skip
        try:
            scenario = await pair.async_start(
                "b",
                [
                    sys.executable, "-m", "tests.integration.transfer.fault_link_scenario",
                    "--source", f"{source.host}:{source.port}",
                    "--target", f"127.0.0.1:{target.port}",
                    "--url", url, "--link", pair.links["b"],
                ],
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
            )  # fmt: skip
            out, err = await asyncio.wait_for(scenario.communicate(), 60)
            assert scenario.returncode == 0, err.decode()
            result = json.loads(out)
            await play_out()
        finally:
            for receiver in (source, target):
                if receiver.process.returncode is None:
                    await receiver.stop()
    print(
        f"\n  outcome after {(result['settled'] - result['asked']) / 1000:.0f} ms: "
        f"{result['failure']}; source_reachable={result['source_reachable']} "
        f"rolled_back={result['rolled_back']}; source answered again "
        f"{(result['reached'] - result['restored']) / 1000:.0f} ms after the link came back"
    )
    for line in source.output:
        if "transfer" in line:
            print("  source:", line.strip())
    assert result["cut"] is not None, "the target never got to Ready"
    assert not result["ok"]
    code, message = result["failure"]
    assert code == "TIMEOUT"
    assert message == "Source did not confirm the switch in time; it keeps playing"
    assert result["source_reachable"] is False
    assert result["rolled_back"] is False
    before, kept, other = result["before"], result["source"], result["target"]
    for key in ("session_id", "queue", "current_uid"):
        assert kept[key] == before[key]
    assert kept["status"] == "PLAYING"
    assert kept["active"] is True
    assert kept["revision"] == before["revision"]  # the late commit was refused: untouched
    assert other["active"] is False
    assert other["status"] != "PLAYING"
    position_ms, as_of_us, playing = kept["clock"]
    clock = m.PlaybackClock(position_ms, as_of_us, 1.0, playing)
    end = result["reached"] + round(PLAY_OUT_S * 1e6)
    assert_plays_on(
        read_capture(source.recording), result["asked"], end, position_ms_at=clock.position_at
    )
    assert not audible_within(read_capture(target.recording), result["cut"], end)


@pytest.mark.warning_logs(r"offline: .*closed by the device", r"source .*unreachable")
async def test_source_gone_before_the_request_target_plays_from_its_extrapolated_state(
    tmp_path: Path,
) -> None:
    async with two_receivers(tmp_path) as pair:
        source, target = pair.source, pair.target
        async with controller_for(source, target) as controller:
            before = await start_session(controller, source.device_id, pair.url)
            lost = asyncio.Event()
            unsubscribe = controller.subscribe(
                lambda e: (
                    lost.set()
                    if isinstance(e, Disconnected) and e.device_id == source.device_id
                    else None
                )
            )
            await source.kill()
            await asyncio.wait_for(lost.wait(), EVENT_TIMEOUT_S)
            unsubscribe()
            asked = monotonic_us()
            outcome = await TransferCoordinator(controller).async_transfer(
                source.device_id, target.device_id
            )
            settled = monotonic_us()
            report(outcome, asked, settled)
            assert outcome.ok, outcome.failure
            assert not outcome.source_reachable  # said: from its last known state
            assert settled - asked < 1_500_000  # a dropped session is not waited on for long
            await play_out()
            took = controller.connection(target.device_id).state
        assert took is not None
        assert_session_kept(took, before)
        assert took.status is m.PlaybackStatus.PLAYING
        # As if the source had played on: its last state's clock, extrapolated.
        assert abs(took.clock.position_at(settled) - before.clock.position_at(settled)) < 100
    end = settled + round(PLAY_OUT_S * 1e6)
    assert_plays_on(
        read_capture(target.recording), settled, end, position_ms_at=took.clock.position_at
    )


async def test_a_commit_held_up_past_its_switch_is_refused_and_the_source_plays_on(
    tmp_path: Path,
) -> None:
    """What a source does with a commit a dropped link delivered late (whether TCP delivers
    it in the link-drop test depends on the retransmission timer, so it is pinned down here)."""
    async with two_receivers(tmp_path) as pair:
        source = pair.source
        async with controller_for(source) as controller:
            before = await start_session(controller, source.device_id, pair.url)
            conn = controller.connection(source.device_id)
            assert conn.clock is not None
            replies: asyncio.Queue[m.Body] = asyncio.Queue()
            unsubscribe = conn.subscribe(
                lambda e: replies.put_nowait(e.body) if isinstance(e, TransferReply) else None
            )
            switch_at = conn.clock.to_device(monotonic_us()) - 1_500_000
            asked = monotonic_us()
            await conn.async_send(
                m.TransferCommit("late-1", m.TransferRole.SOURCE, switch_at, 0, 30)
            )
            reply = await asyncio.wait_for(replies.get(), EVENT_TIMEOUT_S)
            unsubscribe()
            assert isinstance(reply, m.TransferRejected)
            assert reply.failure.code is m.ErrorCode.TIMEOUT
            assert "after its switch" in reply.failure.message
            await play_out()
            kept = conn.state
        assert kept is not None
        assert kept.revision == before.revision
        assert kept.status is m.PlaybackStatus.PLAYING
    end = asked + round(PLAY_OUT_S * 1e6)
    assert_plays_on(
        read_capture(source.recording), asked, end, position_ms_at=kept.clock.position_at
    )
