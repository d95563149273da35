"""Where a device is reached: host, port, session path and, in pin mode, the TLS fingerprint.

Both the session's connection (connect/session/) and the controller's access requests
(connect/access/) reach devices at an `Endpoint`, so it lives below both of them.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from connect.errors import UntrustedDeviceError
from connect.paths import WS_PATH

if TYPE_CHECKING:
    import aiohttp

_FINGERPRINT = re.compile(r"[0-9a-f]{64}")


def pinned(device_id: str) -> aiohttp.Fingerprint:
    """Return the TLS check for *device_id* (its certificate's SHA-256); raise if not one."""
    if not _FINGERPRINT.fullmatch(device_id):
        raise UntrustedDeviceError(
            f"device {device_id!r} asks for TLS but its id is not a certificate fingerprint"
        )
    import aiohttp  # only those who talk aiohttp ask (a `baton` command's session does not)

    return aiohttp.Fingerprint(bytes.fromhex(device_id))


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a device's session WebSocket is; with a `fingerprint`, over TLS pinned to it."""

    host: str
    port: int
    ws_path: str = WS_PATH
    fingerprint: str = ""  # the device id (SHA-256 of its certificate) in pin mode, else ""

    @property
    def tls(self) -> bool:
        """Return True when the device is reached over TLS (pin mode)."""
        return bool(self.fingerprint)

    @property
    def ssl(self) -> aiohttp.Fingerprint | bool:
        """Return aiohttp's `ssl=` argument: the pinned fingerprint, or the default for plain."""
        return pinned(self.fingerprint) if self.tls else True

    @property
    def authority(self) -> str:
        """Return `host:port`, with an IPv6 host in brackets."""
        host = self.host
        with contextlib.suppress(ValueError):
            if ipaddress.ip_address(host).version == 6:
                host = f"[{host}]"
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """Return the session's wss:// (pin mode) or ws:// URL."""
        return f"{'wss' if self.tls else 'ws'}://{self.authority}{self.ws_path}"

    def http_url(self, path: str) -> str:
        """Return the https:// (pin mode) or http:// URL of *path* on this device."""
        return f"{'https' if self.tls else 'http'}://{self.authority}{path}"
