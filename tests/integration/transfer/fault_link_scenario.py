"""The controller's side of the link-drop fault, run inside the target's network namespace.

    python -m tests.integration.transfer.fault_link_scenario \\
        --source HOST:PORT --target HOST:PORT --url URL --link IFACE

It plays the track on the source, asks for a transfer, and takes its own end of the link down
(`ip link set IFACE down`) the moment the target answers Ready: the commit is what crosses a
dead link. It keeps the link down for --down-s, brings it back, waits until the session to the
source answers again, and prints one JSON object: the outcome, the instants (host monotonic
µs) and both devices' states as the controller then sees them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys

from connect.clock import monotonic_us
from connect.controller import Controller, parse_host_port
from connect.errors import ConnectError
from connect.transfer.coordinator import TransferCoordinator
from connect.wire import messages as m
from tests.integration.transfer.fault_bench import (
    EVENT_TIMEOUT_S,
    identity,
    on_ready_from,
    start_session,
)


def _set_link(link: str, *, up: bool) -> None:
    subprocess.run(["ip", "link", "set", link, "up" if up else "down"], check=True)


def _state(state: m.PlaybackState | None) -> dict[str, object]:
    if state is None:
        return {}
    return {
        "session_id": state.session_id,
        "revision": state.revision,
        "queue": [[item.uid, item.url] for item in state.queue],
        "current_uid": state.current_uid,
        "status": state.status.name,
        "active": state.active,
        "clock": [state.clock.position_ms, state.clock.as_of_us, state.clock.playing],
    }


async def _reach_again(controller: Controller, device_id: str) -> None:
    """Return once a clock sample crosses the session again (reconnecting if it died)."""
    conn = controller.connection(device_id)
    async with asyncio.timeout(EVENT_TIMEOUT_S + 5):
        while True:
            try:
                await conn.async_wait_connected(EVENT_TIMEOUT_S)
                await conn.async_sync_clock(samples=1, timeout=EVENT_TIMEOUT_S)
                return
            except ConnectError:
                continue  # the old session died meanwhile: wait for the new one


async def _run(args: argparse.Namespace) -> dict[str, object]:
    controller = Controller(identity(), browse=False)
    await controller.async_start()
    try:
        ids = []
        for address in (args.source, args.target):
            entry = await controller.async_add_address(*parse_host_port(address))
            conn = await controller.async_connect(entry.id, EVENT_TIMEOUT_S)
            await conn.async_sync_clock(samples=3)
            ids.append(entry.id)
        source_id, target_id = ids
        before = await start_session(controller, source_id, args.url)
        cut: list[int] = []

        def cut_link() -> None:
            _set_link(args.link, up=False)
            cut.append(monotonic_us())

        unsubscribe = on_ready_from(controller, target_id, cut_link)
        asked = monotonic_us()
        outcome = await TransferCoordinator(controller).async_transfer(source_id, target_id)
        settled = monotonic_us()
        unsubscribe()
        await asyncio.sleep(args.down_s)  # the fault itself: the link stays down this long
        _set_link(args.link, up=True)
        restored = monotonic_us()
        await _reach_again(controller, source_id)
        reached = monotonic_us()
        return {
            "ok": outcome.ok,
            "failure": [outcome.failure.code.name, outcome.failure.message]
            if outcome.failure
            else None,
            "source_reachable": outcome.source_reachable,
            "rolled_back": outcome.rolled_back,
            "asked": asked,
            "cut": cut[0] if cut else None,
            "settled": settled,
            "restored": restored,
            "reached": reached,
            "before": _state(before),
            "source": _state(controller.connection(source_id).state),
            "target": _state(controller.connection(target_id).state),
        }
    finally:
        await controller.async_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--link", required=True)
    parser.add_argument("--down-s", type=float, default=1.5)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(_run(args))), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
