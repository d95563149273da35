"""Link outages across a real veth link, measured: shared by tests/faults and bench/faults.py.

`link_down_during_playback` puts a receiver in namespace a and the media server and a
controller in namespace b (another host on the LAN), plays a track, takes a's end of the link
down for *down_s* seconds and brings it back. It returns the instants (host monotonic µs, the
clock the receivers and their capture recordings read too) and the states seen before and
after, for the caller to judge.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from connect.access import CredentialStore
from connect.clock import monotonic_us
from connect.controller import Controller
from connect.session import Connected, ConnectionEvent, Disconnected, StateChanged
from connect.wire import messages as m
from tests.audio import write_position_track, write_tone
from tests.integration.transfer.fault_bench import (
    EVENT_TIMEOUT_S,
    TRACK_MS,
    identity,
    start_session,
)
from tests.netns import NetnsPair, Side, netns_pair
from tests.receivers import RunningReceiver, start_receiver
from tests.serve_media import read_urls

ROOT = Path(__file__).resolve().parents[2]
RECONNECT_TIMEOUT_S = 30.0  # a generous bound on a reconnection; the figure is what matters


@dataclass(frozen=True)
class Outage:
    """What a controller on the other host saw of a receiver across a link outage."""

    cut_us: int  # the link went down
    offline_us: int  # the controller declared the session lost
    restored_us: int  # the link came back
    online_us: int  # the session was up again
    state_us: int  # the first state after reconnecting arrived
    before: m.PlaybackState
    after: m.PlaybackState
    online_in_registry: bool  # the controller's device list says online again
    recording: Path
    role_after: m.Role | None  # the role the device granted the session that came back

    @property
    def detection_ms(self) -> float:
        """Link down → the controller marks the device offline."""
        return (self.offline_us - self.cut_us) / 1000

    @property
    def recovery_ms(self) -> float:
        """Link up → the controller has the device online with its current state."""
        return (self.state_us - self.restored_us) / 1000


def serve_media_in(pair: NetnsPair, side: Side, root: Path) -> dict[str, str]:
    """Serve *root* from namespace *side*; return the URL of each of its files, by name."""
    server = pair.popen(
        side,
        [sys.executable, "-m", "tests.serve_media", str(root), "--host", pair.address(side)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert server.stdout is not None
    line = server.stdout.readline()
    server.stdout.close()  # it prints nothing after this line
    return read_urls(line)


class Timeline:
    """Stamps a controller's session events as they are dispatched (monotonic µs)."""

    def __init__(self, controller: Controller) -> None:
        self.events: list[tuple[int, ConnectionEvent]] = []
        self._changed = asyncio.Event()
        controller.subscribe(self._add)

    def _add(self, event: ConnectionEvent) -> None:
        self.events.append((monotonic_us(), event))
        self._changed.set()

    async def first(
        self, match: Callable[[ConnectionEvent], bool], after_us: int, timeout: float
    ) -> tuple[int, ConnectionEvent]:
        """Return the first event matching *match* stamped at or after *after_us*."""
        async with asyncio.timeout(timeout):
            while True:
                for at, event in self.events:
                    if at >= after_us and match(event):
                        return at, event
                self._changed.clear()
                await self._changed.wait()


async def link_down_during_playback(
    tmp_path: Path, down_s: float = 4.0, *, pairing: str = "open"
) -> Outage:
    """Play on a receiver across a veth link, drop the link for *down_s*, measure recovery.

    With *pairing* `pin`, the controller pairs first (with the code the receiver writes to its
    state directory) and its session runs over TLS with its token, across the outage too.

    The track is the 12 s position track (two queue entries) when that outlasts the outage;
    for longer outages a plain tone as long as the outage plus 30 s (libVLC reads a file of a
    few tens of MB ahead at once, so playback goes on through the outage either way).
    """
    media = tmp_path / "media"
    media.mkdir(exist_ok=True)
    if down_s + 6 < 2 * TRACK_MS / 1000:
        write_position_track(media / "track.wav", TRACK_MS)
    else:
        await asyncio.to_thread(  # half a minute of audio: seconds of work, off the loop
            write_tone, media / "track.wav", 440.0, round((down_s + 30) * 1000)
        )
    with netns_pair() as pair:
        urls = await asyncio.to_thread(serve_media_in, pair, "b", media)
        receiver = await start_receiver(
            tmp_path, "Speaker", interface=pair.links["a"], wrapper=pair.exec_argv("a", []),
            output="capture", pairing=pairing,
        )  # fmt: skip
        try:
            return await pair.async_run_in(
                "b",
                lambda: _controller_side(pair, receiver, urls["track.wav"], down_s, tmp_path),
            )
        finally:
            await receiver.stop()


async def _controller_side(
    pair: NetnsPair, receiver: RunningReceiver, url: str, down_s: float, tmp_path: Path
) -> Outage:
    credentials = CredentialStore(tmp_path / "controller-credentials")
    controller = Controller(identity(), browse=False, credentials=credentials)
    await controller.async_start()
    try:
        await controller.async_add_address(receiver.host, receiver.port)
        device = receiver.device_id
        if controller.needs_pairing(device):
            code = (receiver.state_dir / "pairing-code").read_text().strip()
            await controller.async_pair(device, code)
        conn = await controller.async_connect(device, EVENT_TIMEOUT_S)
        await conn.async_sync_clock(samples=3)
        timeline = Timeline(controller)
        before = await start_session(controller, device, url)
        cut = monotonic_us()
        pair.set_link("a", up=False)
        offline, _ = await timeline.first(
            lambda e: isinstance(e, Disconnected), cut, EVENT_TIMEOUT_S
        )
        # The fault itself: the link stays down this long in all (no event marks its end).
        await asyncio.sleep(max(0.0, cut / 1e6 + down_s - monotonic_us() / 1e6))
        pair.set_link("a", up=True)
        restored = monotonic_us()
        online, _ = await timeline.first(
            lambda e: isinstance(e, Connected), restored, RECONNECT_TIMEOUT_S
        )
        state_at, seen = await timeline.first(
            lambda e: isinstance(e, StateChanged), online, EVENT_TIMEOUT_S
        )
        assert isinstance(seen, StateChanged)
        entry = controller.registry.get(device)
        welcome = controller.connection(device).welcome
        return Outage(
            cut, offline, restored, online, state_at, before, seen.snapshot.state,
            entry is not None and entry.online, receiver.recording,
            welcome.role if welcome is not None else None,
        )  # fmt: skip
    finally:
        await controller.async_close()
