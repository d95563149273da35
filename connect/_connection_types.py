"""The values a controller's `DeviceConnection` works with: where a device is, what it reports.

`Endpoint` says where a device's session WebSocket is (over TLS pinned to the device id in
`pin` mode); the events are what a connection tells its listeners; a `TokenKeeper` is where it
finds the token to present. connect.connection re-exports them all: import them from there.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import aiohttp

from connect import messages as m
from connect.errors import UntrustedDeviceError
from connect.server import WS_PATH

_FINGERPRINT = re.compile(r"[0-9a-f]{64}")


def pinned(device_id: str) -> aiohttp.Fingerprint:
    """Return the TLS check for *device_id* (its certificate's SHA-256); raise if not one."""
    if not _FINGERPRINT.fullmatch(device_id):
        raise UntrustedDeviceError(
            f"device {device_id!r} asks for TLS but its id is not a certificate fingerprint"
        )
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


Resolver = Callable[[], Awaitable[Endpoint]]


# ------------------------------------------------------------------------------ events


@dataclass(frozen=True, slots=True)
class Connected:
    """The session is up."""

    device_id: str
    welcome: m.Welcome


@dataclass(frozen=True, slots=True)
class StateChanged:
    """The device pushed a new state."""

    device_id: str
    snapshot: m.StateSnapshot


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The session ended; `reason` says why in plain words."""

    device_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class TransferReply:
    """A transfer message from the device (Ready, Rejected, Done, Aborted)."""

    device_id: str
    body: m.TransferReady | m.TransferRejected | m.TransferDone | m.TransferAborted
    traceparent: str


@dataclass(frozen=True, slots=True)
class AccessDenied:
    """The device refused us for good (not paired, or our token revoked); no more retries."""

    device_id: str
    revoked: bool  # True: the token was revoked (and forgotten); False: pairing is needed
    message: str


ConnectionEvent = Connected | StateChanged | Disconnected | TransferReply | AccessDenied


class TokenKeeper(Protocol):
    """Where a connection finds the token to present, and forgets one the device revoked."""

    def token_for(self, device_id: str) -> str:
        """Return the token for *device_id*, or "" when there is none."""
        ...

    def forget_token(self, device_id: str, token: str) -> None:
        """Drop *device_id*'s credential if it still holds *token*."""
        ...
