"""Impaired-network benchmark (issue 19): Baton's promise over a bad Wi-Fi.

`./dev bench impaired` (root: network namespaces). Two receivers (pin mode: TLS and tokens,
capture outputs) in one namespace, a controller and the media server in another, and between
them only `tests.impairment` with the `wifi` profile: 20 ms ± 15 ms each way, 1 % of packets
300 ms late, a 2 s stall every minute, 20 Mbit/s, 2 % of mDNS packets lost
(bench/_impaired_net.py). Then, from the controller (bench/_impaired_steps.py):
1. discovery: a fresh controller browsing until both receivers are listed (20; quick: 1);
2. command → echo: SetVolume 4 a second for 70 s (quick: 2 s), open loop, across a stall;
3. transfers: 100 handoffs back and forth (quick: 2), a playing position track;
4. reconnects: the proxy resets every connection (10; quick: 1).
The stall periods are timed from the proxy's start, and each transfer says whether a stall
met it.

Judged from the audio afterwards (the receivers' captures, tests/integration/transfer/
proof_audio.py, as bench/transfer.py does), for every transfer: a completed one must be heard
as the source stopping and the target starting with a gap or overlap ≤ 50 ms (beyond the 30 ms
crossfade) and a position error ≤ 50 ms; a failed one must leave the source playing (longest
silence ≤ 50 ms). The devices' own states must settle to exactly one player after each.
The promise, "never two players, never none when one was playing, nothing lost", is met when
every transfer passes. Success rate, gap, position error, echo, discovery and reconnect
figures are reported; only the promise is judged.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bench._heard import audible_ms, longest_silence_ms
from bench._impaired_net import start_proxy
from bench._impaired_steps import (
    FADE_MS,
    Echoes,
    Transfer,
    discover,
    echoes,
    listed,
    reconnects,
    transfers,
)
from bench._runner import Measurement
from connect.access import CredentialStore
from connect.controller import Controller
from connect.wire import messages as m
from tests.audio import Capture, read_capture
from tests.impairment.profile import WIFI, Profile
from tests.integration.transfer.proof_audio import (
    PositionCode,
    hear_transfer,
    write_cyclic_position_track,
)
from tests.media_server import MediaServer
from tests.netns import NetnsPair, netns_pair, netns_skip_reason
from tests.receivers import RunningReceiver, start_receiver

GAP_TARGET_MS = 50.0
POSITION_TARGET_MS = 50.0
CODE = PositionCode(cycle=150)


@dataclass(frozen=True)
class Sizes:
    """How much of each step."""

    discoveries: int
    echo_s: float
    transfers: int
    resets: int


FULL = Sizes(20, 70.0, 100, 10)
QUICK = Sizes(1, 2.0, 2, 1)


@dataclass
class Heard:
    """A transfer judged from the audio."""

    gap_ms: float | None = None  # completed: target first sound − source last (neg: overlap)
    position_ms: float | None = None
    source_silence_ms: float | None = None  # failed: longest silence on the source
    target_heard_ms: float | None = None  # failed: how long the target was audible
    why: str = ""  # set when the audio breaks the promise

    @property
    def kept(self) -> bool:
        """Return whether this transfer kept the promise, as heard."""
        return not self.why


@dataclass
class ImpairedResult:
    """Everything the run measured."""

    profile: Profile
    discovery_ms: list[float] = field(default_factory=list)
    echoes: Echoes = field(default_factory=Echoes)
    transfers: list[Transfer] = field(default_factory=list)
    heard: list[Heard] = field(default_factory=list)
    reconnect_ms: list[float] = field(default_factory=list)
    proxy_stats: dict[str, object] = field(default_factory=dict)


def run(quick: bool) -> Iterable[Measurement]:
    """Run the steps over the `wifi` profile (quick: a few of each) and yield the figures."""
    why_not = netns_skip_reason()
    if why_not is not None:
        raise RuntimeError(f"impaired: needs network namespaces: {why_not}")
    sizes = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="baton-bench-impaired-") as tmp:
        result = asyncio.run(_measure(Path(tmp), WIFI, sizes))
    return _figures(result)


async def _measure(work: Path, profile: Profile, sizes: Sizes) -> ImpairedResult:
    result = ImpairedResult(profile)
    media = work / "media"
    media.mkdir()
    track_ms = round((sizes.echo_s + sizes.transfers * 3 + sizes.resets * 3 + 60) * 1000)
    write_cyclic_position_track(media / "pos.wav", track_ms, CODE)
    with netns_pair(linked=False) as pair:
        receivers: list[RunningReceiver] = []
        try:
            for name in ("Wifi A", "Wifi B"):
                receivers.append(
                    await start_receiver(
                        work, name, interface="127.0.0.1", wrapper=pair.exec_argv("a", []),
                        output="capture", pairing="pin",
                    )
                )  # fmt: skip

            async def controller_side() -> None:
                await _controller_side(
                    pair, profile, sizes, receivers, media, track_ms, work, result
                )

            await pair.async_run_in("b", controller_side)
        finally:
            for receiver in receivers:
                await receiver.stop()
    captures = [read_capture(r.recording) for r in receivers]
    result.heard = [_hear(t, captures) for t in result.transfers]
    return result


async def _controller_side(
    pair: NetnsPair, profile: Profile, sizes: Sizes, receivers: list[RunningReceiver], media: Path,
    track_ms: int, work: Path, result: ImpairedResult,
) -> None:  # fmt: skip
    ids = [r.device_id for r in receivers]
    identity = m.ClientIdentity("bench-impaired", "Impaired bench")
    async with MediaServer(media) as server:
        proxy = await start_proxy(pair, profile, [r.port for r in receivers], server.port)
        controller = Controller(
            identity, interfaces=["lo"], credentials=CredentialStore(work / "credentials")
        )
        try:
            for _ in range(sizes.discoveries):
                result.discovery_ms.append(await discover(identity, ids))
            await controller.async_start()
            for receiver in receivers:
                await controller.registry.async_wait_for(listed(receiver.device_id), 30.0)
                code = (receiver.state_dir / "pairing-code").read_text().strip()
                await controller.async_pair(receiver.device_id, code)
                await controller.async_connect(receiver.device_id, timeout=30.0)
            item = m.QueueItem("pos", server.url("pos.wav"), title="position", duration_ms=track_ms)
            played = await controller.async_command(
                ids[0], m.SetQueue((item,), play=True), timeout=30.0
            )
            if played.failure is not None:
                raise RuntimeError(f"impaired: cannot play: {played.failure}")
            result.echoes = await echoes(controller.connection(ids[0]), sizes.echo_s, 0.25)
            result.transfers = await transfers(controller, ids, sizes.transfers, proxy)
            player = ids[0] if sum(t.ok for t in result.transfers) % 2 == 0 else ids[1]
            result.reconnect_ms = await reconnects(controller, player, proxy, sizes.resets)
            result.proxy_stats = await proxy.stats()
        finally:
            await controller.async_close()
            await proxy.stop()


def _hear(transfer: Transfer, captures: list[Capture]) -> Heard:
    source, target = captures[transfer.source], captures[transfer.target]
    end = transfer.returned_us + 300_000
    if not transfer.ok:
        silence = longest_silence_ms(source, transfer.requested_us, end)
        # A target rolled back after it started may be heard briefly: more is two players.
        heard_target = audible_ms(target, transfer.requested_us, end)
        why = ""
        if silence > GAP_TARGET_MS:
            why = f"source silent {silence:.0f} ms after a failed transfer"
        elif heard_target > FADE_MS + GAP_TARGET_MS:
            why = f"target heard {heard_target:.0f} ms during a failed transfer"
        return Heard(source_silence_ms=silence, target_heard_ms=heard_target, why=why)
    try:
        heard = hear_transfer(
            source, target, transfer.requested_us, end, CODE, fade_us=FADE_MS * 1000
        )
    except ValueError as exc:
        return Heard(why=f"not heard: {exc}")
    gap = heard.gap_us / 1000
    error = heard.position_error_us
    position = None if error is None else error / 1000
    why = ""
    if gap > GAP_TARGET_MS:
        why = f"gap {gap:.0f} ms"
    elif -gap > FADE_MS + GAP_TARGET_MS:
        why = f"overlap {-gap:.0f} ms"
    elif position is None or abs(position) > POSITION_TARGET_MS:
        why = f"position error {position} ms"
    return Heard(gap_ms=gap, position_ms=position, why=why)


def _figures(result: ImpairedResult) -> list[Measurement]:
    name = f"impaired.{result.profile.name}"
    done = [(t, h) for t, h in zip(result.transfers, result.heard, strict=True)]
    ok = [(t, h) for t, h in done if t.ok]
    broken = [f"transfer {i}: {h.why or 'states did not settle to one player'}"
              for i, (t, h) in enumerate(done) if not h.kept or not t.one_player]  # fmt: skip
    for line in broken[:10]:
        print(f"!! {name}: {line}")
    for t in [t for t in result.transfers if not t.ok][:5]:
        print(f"   {name}: a transfer failed (music kept on the source): {t.failure}")
    print(f"   {name}: profile: {result.profile.describe()}; proxy carried {result.proxy_stats}")
    extra_t = {
        "transfers": len(done),
        "succeeded": len(ok),
        "success_rate": len(ok) / len(done) if done else 0.0,
        "met_a_stall": sum(t.met_stall for t in result.transfers),
        "promise_broken": len(broken),
    }
    return [
        Measurement(
            f"{name}.transfer_gap_or_overlap", "ms",
            [abs(h.gap_ms) for _t, h in ok if h.gap_ms is not None] or [0.0],
            "never two players, never none, nothing lost: every transfer heard right",
            extra_t, met=not broken and bool(done),
        ),
        Measurement(
            f"{name}.transfer_position_error", "ms",
            [abs(h.position_ms) for _t, h in ok if h.position_ms is not None] or [0.0],
            f"reported (≤ {POSITION_TARGET_MS:g} ms is part of the promise above)",
        ),
        Measurement(
            f"{name}.transfer_time", "ms",
            [(t.returned_us - t.requested_us) / 1000 for t in result.transfers] or [0.0],
            "reported: request → the coordinator's answer",
        ),
        Measurement(f"{name}.echo", "ms", result.echoes.echo_ms or [0.0],
                    "reported: command → its echo", {"failures": len(result.echoes.failures)}),
        Measurement(f"{name}.command_result", "ms", result.echoes.result_ms or [0.0]),
        Measurement(f"{name}.discovery", "ms", result.discovery_ms or [0.0],
                    "reported: browse start → both receivers listed"),
        Measurement(f"{name}.reconnect", "ms", result.reconnect_ms or [0.0],
                    "reported: every connection reset → session back with state"),
    ]  # fmt: skip
