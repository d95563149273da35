"""systemd's notification protocol (sd_notify) with the standard library only.

A `Type=notify` service tells systemd it is ready (READY=1), that it is alive (WATCHDOG=1,
at least every WatchdogSec), what it is doing (STATUS=...) and that it is stopping
(STOPPING=1), by sending datagrams to the AF_UNIX socket named in $NOTIFY_SOCKET (a path, or
an abstract-namespace name when it starts with "@"). Outside systemd the variable is unset
and every call here does nothing, so the receiver runs the same by hand and under tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Mapping

_LOG = logging.getLogger(__name__)


class SystemdNotifier:
    """Sends notifications to the service manager that started this process, if any."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        # Linux abstract namespace: "@name" on the environment means a leading NUL byte.
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self.watchdog_interval_s = _watchdog_interval(env)
        self._socket: socket.socket | None = None
        self._warned = False

    @property
    def enabled(self) -> bool:
        """Return True when a service manager listens (NOTIFY_SOCKET is set)."""
        return bool(self._address)

    def notify(self, *assignments: str) -> bool:
        """Send `KEY=value` lines in one datagram; return False if it could not be sent."""
        if not self._address:
            return False
        message = "\n".join(assignments).encode()
        try:
            if self._socket is None:
                kind = socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
                self._socket = socket.socket(socket.AF_UNIX, kind)
            self._socket.sendto(message, self._address)
        except OSError as exc:
            if not self._warned:  # once: a missing socket would otherwise flood the log
                _LOG.warning("systemd notification failed (%s): %s", self._address, exc)
                self._warned = True
            return False
        return True

    def ready(self, status: str) -> None:
        """Say the service is up, with a human-readable status line."""
        self.notify("READY=1", f"STATUS={status}")

    def status(self, status: str) -> None:
        """Update the status line `systemctl status` shows."""
        self.notify(f"STATUS={status}")

    def stopping(self) -> None:
        """Say the service is shutting down."""
        self.notify("STOPPING=1", "STATUS=stopping")

    def extend_start_timeout(self, seconds: float) -> None:
        """Ask for *seconds* more before systemd gives up on the start (systemd >= 236)."""
        self.notify(f"EXTEND_TIMEOUT_USEC={int(seconds * 1_000_000)}")

    def close(self) -> None:
        """Close the socket; idempotent."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    async def async_watchdog(self) -> None:
        """Ping the watchdog from the event loop at half of WatchdogSec, until cancelled.

        The pings come from the loop itself, so a loop that stops turning (a blocking call, a
        deadlock) stops them and systemd restarts the process.
        """
        interval = self.watchdog_interval_s
        if interval is None or not self.enabled:
            return
        while True:
            self.notify("WATCHDOG=1")
            await asyncio.sleep(interval)


def _watchdog_interval(env: Mapping[str, str]) -> float | None:
    """Return half of $WATCHDOG_USEC in seconds, or None if no watchdog is meant for us."""
    with contextlib.suppress(ValueError):
        usec = int(env.get("WATCHDOG_USEC", ""))
        pid = env.get("WATCHDOG_PID", "")
        if usec > 0 and (not pid or int(pid) == os.getpid()):
            return usec / 2 / 1_000_000
    return None
