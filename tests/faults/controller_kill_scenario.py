"""A controller that dies mid-transfer: run as its own process, it SIGKILLs itself on cue.

    python -m tests.faults.controller_kill_scenario \\
        --source HOST:PORT --target HOST:PORT --phase {target-ready,source-ack,target-done}

It connects to both devices, prints one line `asking` (so the test knows the transfer starts)
and asks for a transfer source → target. It kills itself, inside its own event dispatch (so
before its coordinator hears the message), printing `killing <monotonic µs>` first, the moment
it hears:
  target-ready  the target's Ready: nothing is committed anywhere;
  source-ack    the source's acknowledgement of its Commit: the source will fade out, the
                target's Commit is not sent yet;
  target-done   the target's Done: both are committed, neither has been confirmed.
If the transfer ends without the cue, it prints the outcome and exits 3.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

from connect.clock import monotonic_us
from connect.controller import Controller, parse_host_port
from connect.session import ConnectionEvent
from connect.session.connection import TransferReply
from connect.transfer.coordinator import TransferCoordinator
from connect.wire import messages as m
from tests.integration.transfer.fault_bench import EVENT_TIMEOUT_S

CUES: dict[str, tuple[str, type]] = {
    "target-ready": ("target", m.TransferReady),
    "source-ack": ("source", m.TransferReady),
    "target-done": ("target", m.TransferDone),
}


async def _run(source: str, target: str, phase: str) -> int:
    controller = Controller(m.ClientIdentity("doomed-controller", "Doomed"), browse=False)
    await controller.async_start()
    ids = {}
    for role, address in (("source", source), ("target", target)):
        entry = await controller.async_add_address(*parse_host_port(address))
        conn = await controller.async_connect(entry.id, EVENT_TIMEOUT_S)
        await conn.async_sync_clock(samples=3)
        ids[role] = entry.id
    role, kind = CUES[phase]

    def on_event(event: ConnectionEvent) -> None:
        if (
            isinstance(event, TransferReply)
            and event.device_id == ids[role]
            and isinstance(event.body, kind)
        ):
            print(f"killing {monotonic_us()}", flush=True)  # the instant recovery counts from
            os.kill(os.getpid(), signal.SIGKILL)

    controller.subscribe(on_event)
    print("asking", flush=True)
    outcome = await TransferCoordinator(controller).async_transfer(ids["source"], ids["target"])
    print(f"no cue; outcome {outcome}", flush=True)
    await controller.async_close()
    return 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--phase", required=True, choices=sorted(CUES))
    args = parser.parse_args()
    sys.exit(asyncio.run(_run(args.source, args.target, args.phase)))


if __name__ == "__main__":
    main()
