"""One cycle of the soak: a controller comes, commands, moves the music away and back, leaves.

Every cycle is a new `Controller` (new HTTP client, TLS sessions and WebSocket sessions), one
of a few paired identities in turn, as phones come and go. It connects to the receiver under
test (A, playing) and to a second one (B), sends a few commands to A, transfers A → B, waits
until B plays and A is silent, transfers B → A, waits the same way, and closes. The promise is
checked at each step from the devices' own states: exactly one of them PLAYING after every
transfer (never two, never none), and after a completed one it is the target.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from connect.access import CredentialStore
from connect.controller import Controller
from connect.session import DeviceConnection
from connect.transfer.coordinator import TransferCoordinator
from connect.wire import messages as m

STATE_TIMEOUT_S = 10.0
COMMAND_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 15.0


@dataclass
class CycleTally:
    """What the cycles did so far (the soak reads it every sample)."""

    cycles: int = 0
    commands: int = 0
    transfers: int = 0
    transfers_failed: int = 0  # refused or rolled back, with the music left on the source
    violations: list[str] = field(default_factory=list)  # two players, or none
    errors: list[str] = field(default_factory=list)
    transfer_ms: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Peer:
    """A receiver as the cycles reach it."""

    device_id: str
    host: str
    port: int


def controller_for(index: int, credentials_root: Path) -> Controller:
    """Return a Controller with identity *index* and its own credential store (no mDNS)."""
    identity = m.ClientIdentity(f"soak-ctl-{index:02d}", f"Soak controller {index}")
    store = CredentialStore(credentials_root / f"controller-{index:02d}")
    return Controller(identity, browse=False, credentials=store)


async def pair_all(controller: Controller, peers: list[Peer], state_dirs: list[Path]) -> None:
    """Add every peer by address and pair with it (the code each one writes to its state dir)."""
    for peer, state_dir in zip(peers, state_dirs, strict=True):
        await controller.async_add_address(peer.host, peer.port)
        if controller.needs_pairing(peer.device_id):
            code = (state_dir / "pairing-code").read_text().strip()
            await controller.async_pair(peer.device_id, code)


async def one_cycle(
    index: int, credentials_root: Path, a: Peer, b: Peer, tally: CycleTally, rng: random.Random
) -> None:
    """Run one cycle with controller identity *index*; record what happened in *tally*.

    The cycle starts from whichever receiver plays (a refused transfer leaves the music where
    it was, so it need not be A), commands it, and moves the music to the other and back.
    """
    controller = controller_for(index, credentials_root)
    await controller.async_start()
    try:
        for peer in (a, b):
            await controller.async_add_address(peer.host, peer.port)
            await controller.async_connect(peer.device_id, timeout=CONNECT_TIMEOUT_S)
        player = await _settled(controller, (a, b), tally, "at the start of a cycle")
        for action in (m.SetVolume(rng.randrange(40, 91)), m.Pause(), m.Resume()):
            result = await controller.async_command(
                player.device_id, action, timeout=COMMAND_TIMEOUT_S
            )
            tally.commands += 1
            if result.failure is not None:
                tally.errors.append(f"cycle {tally.cycles}: {action}: {result.failure}")
        player = await _settled(controller, (a, b), tally, "after Pause and Resume")
        coordinator = TransferCoordinator(controller)
        for _ in range(2):  # away and back
            target = b if player is a else a
            player = await _transfer(controller, coordinator, player, target, tally)
        if player is not a:  # a refused transfer left it on B: back to A, so samples compare
            await _transfer(controller, coordinator, player, a, tally)
        tally.cycles += 1
    finally:
        await controller.async_close()


async def _transfer(
    controller: Controller, coordinator: TransferCoordinator, source: Peer, target: Peer,
    tally: CycleTally,
) -> Peer:  # fmt: skip
    """Move the music from *source* to *target*; return who plays afterwards."""
    started = time.perf_counter()
    outcome = await coordinator.async_transfer(source.device_id, target.device_id)
    tally.transfers += 1
    tally.transfer_ms.append((time.perf_counter() - started) * 1000)
    ok = outcome.failure is None
    if not ok:
        tally.transfers_failed += 1
        tally.errors.append(
            f"transfer {source.device_id[:8]}→{target.device_id[:8]}: {outcome.failure}"
        )
    player = await _settled(
        controller, (source, target), tally, f"after transfer {tally.transfers}"
    )
    if ok and player is not target:
        tally.violations.append(f"transfer {tally.transfers} succeeded but the source plays")
    return player


async def _settled(
    controller: Controller,
    peers: tuple[Peer, Peer],
    tally: CycleTally,
    when: str,
    expect: Peer | None = None,
) -> Peer:
    """Return the one receiver PLAYING once exactly one is, *expect* if given (10 s at most).

    Two players or none for that long (or the wrong one) breaks the promise: recorded, raised.
    """
    conns = [controller.connection(peer.device_id) for peer in peers]

    def playing() -> list[Peer]:
        return [p for p, c in zip(peers, conns, strict=True) if _status(c) == "PLAYING"]

    changed = asyncio.Event()
    unsubscribe = [conn.subscribe(lambda _event: changed.set()) for conn in conns]
    try:
        async with asyncio.timeout(STATE_TIMEOUT_S):
            while len(now := playing()) != 1 or (expect is not None and now[0] is not expect):
                changed.clear()
                await changed.wait()
    except TimeoutError:
        states = {p.device_id[:8]: _status(c) for p, c in zip(peers, conns, strict=True)}
        tally.violations.append(f"{when}: {states}")
        raise
    finally:
        for stop in unsubscribe:
            stop()
    return playing()[0]


def _status(conn: DeviceConnection) -> str:
    return conn.state.status.name if conn.state is not None else "unknown"
