"""A receiver's life as a service: wait for the network, start, tell systemd, stop cleanly.

Order of events, each reported to systemd when it runs the process (devices/systemd.py):
waiting for an address (STATUS, and EXTEND_TIMEOUT_USEC so the start does not time out),
listening and advertised (READY=1), watchdog pings from the event loop for as long as it
runs, STOPPING=1 on SIGTERM, then goodbyes on mDNS and to every controller.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time

from connect.session import Endpoint
from devices.health import status_line
from devices.netwait import async_wait_for_address
from devices.receiver import Receiver
from devices.systemd import SystemdNotifier

_LOG = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 10.0
_EXTEND_EVERY_S = 5.0
_EXTEND_BY_S = 30.0


async def async_serve(
    receiver: Receiver, stop: asyncio.Event, notifier: SystemdNotifier | None = None
) -> int:
    """Run *receiver* until *stop* is set; return the exit status."""
    notifier = notifier or SystemdNotifier()
    loop = asyncio.get_running_loop()
    watchdog = loop.create_task(notifier.async_watchdog())
    starting = False
    try:
        if not await _network_or_stop(receiver, stop, notifier):
            return 0
        starting = True
        where = await receiver.async_start()
        # What start-up made (modules, libVLC's bindings, protobuf descriptors, the TLS
        # context: ~50 000 objects) lives as long as the process. Frozen, the cyclic garbage
        # collector stops walking it: a full collection took 12-60 ms on the event loop, often
        # enough to land in a transfer (a source resumed 30-80 ms late in tests/integration/
        # transfer/test_faults.py) or a command's echo; frozen it takes well under 1 ms.
        gc.freeze()
        config = receiver.config
        hosts = ", ".join(Endpoint(address, where.port).authority for address in where.addresses)
        # One stable line, for people and for scripts that start a receiver on port 0.
        print(
            f"baton-receiver: {config.name!r} ({config.type}, id {where.device_id}) "
            f"listening on {hosts}; audio -> {config.audio_output}",
            flush=True,
        )
        listening = f"advertising {config.name!r} on {hosts}"
        notifier.ready(listening)
        # A background task that keeps failing shows in `systemctl status` (devices/health.py).
        receiver.health_file.watch(
            lambda: notifier.status(f"{listening}; {status_line(receiver.health())}")
        )
        await stop.wait()
        _LOG.info("stopping")
        notifier.stopping()
    finally:
        watchdog.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watchdog
        # Only a receiver that began to start has a session to save: closing one that never
        # loaded its saved session would overwrite it with an empty one.
        if starting:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(receiver.async_close(), timeout=CLOSE_TIMEOUT_S)
        notifier.close()
    return 0


async def _network_or_stop(
    receiver: Receiver, stop: asyncio.Event, notifier: SystemdNotifier
) -> bool:
    """Wait for a usable address; return False if asked to stop first."""
    last_extend = 0.0

    def on_waiting() -> None:
        nonlocal last_extend
        now = time.monotonic()
        if now - last_extend >= _EXTEND_EVERY_S:
            last_extend = now
            notifier.status("waiting for a network address")
            notifier.extend_start_timeout(_EXTEND_BY_S)

    waiting = asyncio.ensure_future(
        async_wait_for_address(receiver.config.interfaces, on_waiting=on_waiting)
    )
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (waiting, stopping):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return not stop.is_set()
