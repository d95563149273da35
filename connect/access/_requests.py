"""The controller's side of a device's HTTP endpoints under docs/security.md: DeviceInfo and
the access endpoints over TLS pinned to the device id, the mapping of HTTP refusals to typed
errors a user understands (sans-IO: status, headers and body in, an exception out), and a TLS
probe for devices added by address."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import ssl
from collections.abc import Mapping
from typing import TYPE_CHECKING

from connect.access.tls import fingerprint_of_der
from connect.cli_common import baton_command
from connect.endpoint import Endpoint
from connect.errors import (
    AccessRevokedError,
    ConnectError,
    ConnectTimeoutError,
    ForbiddenError,
    FrameError,
    NotPairedError,
    RateLimitedError,
    TokenNotFoundError,
    UntrustedDeviceError,
    WrongPinError,
)
from connect.paths import INFO_PATH
from connect.wire import codec
from connect.wire import messages as m

if TYPE_CHECKING:
    import aiohttp

PROTOBUF = "application/x-protobuf"


class Request(enum.Enum):
    """What the controller asked, so a refusal can be explained in those words."""

    PAIR = "pair with it"
    LIST_TOKENS = "list who has access"
    REVOKE = "revoke access"
    PAIRING_CODE = "show its pairing code"
    RENAME = "rename it"


async def async_fetch_info(http: aiohttp.ClientSession, endpoint: Endpoint) -> m.DeviceInfo:
    """GET the DeviceInfo at *endpoint*; over TLS it must claim the pinned fingerprint as id."""
    import aiohttp  # its caller made the session: loaded already

    where = endpoint.authority
    try:
        async with http.get(endpoint.http_url(INFO_PATH), ssl=endpoint.ssl) as response:
            if response.status != 200:
                raise ConnectError(f"{where} answered HTTP {response.status}")
            info = codec.decode_device_info(await response.read())
    except TimeoutError:
        raise ConnectTimeoutError(f"{where} did not answer in time") from None
    except aiohttp.ServerFingerprintMismatch as exc:
        raise UntrustedDeviceError(
            f"{where} is not device {endpoint.fingerprint}: its certificate is {exc.got.hex()}"
        ) from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise ConnectError(f"{where} is not reachable: {exc}") from exc
    except FrameError as exc:
        raise ConnectError(f"{where} is not a Baton device: {exc}") from exc
    if endpoint.tls and info.id != endpoint.fingerprint:
        raise UntrustedDeviceError(
            f"{where} claims to be {info.id} but its certificate is {endpoint.fingerprint}"
        )
    return info


async def async_request(
    http: aiohttp.ClientSession,
    method: str,
    endpoint: Endpoint,
    path: str,
    asked: Request,
    label: str,
    *,
    body: bytes | None = None,
    token: str = "",
    token_id: str = "",
) -> bytes:
    """Send one access request to the device *label*; return the answer's body or raise.

    Raises the typed refusal (see `refusal`), UntrustedDeviceError for another certificate,
    ConnectTimeoutError or ConnectError when the device cannot be reached.
    """
    import aiohttp  # its caller made the session: loaded already

    headers = {"Accept": PROTOBUF}
    if body is not None:
        headers["Content-Type"] = PROTOBUF
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        async with http.request(
            method, endpoint.http_url(path), data=body, headers=headers, ssl=endpoint.ssl
        ) as response:
            status, answer_headers = response.status, response.headers
            answer = await response.read()
    except TimeoutError:
        raise ConnectTimeoutError(f"{label} did not answer in time") from None
    except aiohttp.ServerFingerprintMismatch as exc:
        raise UntrustedDeviceError(
            f"the device at {endpoint.authority} is not {label}: its certificate differs"
        ) from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise ConnectError(f"{label} is not reachable: {exc}") from exc
    if status >= 300:
        # Raised here, outside the try: an AccessError is an OSError too.
        raise refusal(
            status, answer_headers, answer, device=label, request=asked, token_id=token_id
        )
    return answer


def refusal(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    device: str,
    request: Request,
    token_id: str = "",
) -> ConnectError:
    """Return the typed error for a non-2xx answer from *device* (a name the user knows)."""
    failure = _failure(body)
    detail = failure.message if failure is not None else ""
    if status == 401 and request is Request.PAIR:
        left = failure.pairing_tries_left if failure is not None else None
        return WrongPinError(
            f"{device} did not accept that code{_tries_left(left)}: use the code it shows now "
            "(it changes after every pairing and after repeated wrong codes)",
            device=device,
            tries_left=left,
        )
    if status == 401 and failure is not None and failure.code is m.ErrorCode.REVOKED:
        return AccessRevokedError(
            f"{device} revoked this controller's access; pair again to use it "
            f"({baton_command('pair', device)})",
            device=device,
        )
    if status == 401:
        return NotPairedError(
            f"{device} does not accept this controller's token: "
            f"run {baton_command('pair', device)}",
            device=device,
        )
    if status == 403:
        return ForbiddenError(
            f"only {device}'s owner may {request.value}; this controller's role cannot",
            device=device,
        )
    if status == 404 and request is Request.REVOKE:
        return TokenNotFoundError(f"{device} has no token {token_id!r} (see `baton access`)")
    if status == 404:
        return ConnectError(f"{device} cannot {request.value}: it is not in pin mode")
    if status == 429:
        wait = retry_after_s(headers.get("Retry-After"))
        when = f"in {wait:.0f} s" if wait > 0 else "later"
        return RateLimitedError(
            f"{device} refuses pairing for a while after too many wrong codes; try again {when}",
            device=device,
            retry_after_s=wait,
        )
    why = f": {detail}" if detail else ""
    return ConnectError(f"{device} refused to {request.value} (HTTP {status}){why}")


def retry_after_s(value: str | None) -> float:
    """Read a Retry-After header in seconds; 0 (unknown) if absent or an HTTP date.

    Receivers send seconds (docs/security.md); reading a date would need the wall clock,
    which may be wrong on a device without NTP, so "later" is the honest answer then.
    """
    text = (value or "").strip()
    return float(text) if text.isdigit() else 0.0


def _failure(body: bytes) -> m.Failure | None:
    """Return the Failure a device answered with, or None if it sent none we can read."""
    try:
        return codec.decode_failure(body) if body else None
    except FrameError:
        return None


def _tries_left(left: int | None) -> str:
    """Return how the device's count of wrong codes left reads after "did not accept that code"."""
    if left is None:  # a device that does not say
        return ""
    if left == 0:
        return "; it now pauses pairing for a while"
    return f"; {left} more wrong {'code' if left == 1 else 'codes'} before it pauses pairing"


async def async_peer_fingerprint(host: str, port: int, timeout: float) -> str | None:
    """Return the SHA-256 of the certificate *host:port* presents, or None if it speaks no TLS.

    Nothing is trusted here: the caller then talks to the device pinned to this fingerprint
    and requires the device to claim it as its id (docs/security.md, devices added by address).
    """
    # A bare client context: create_default_context() would load the system's CA store (some
    # 100 ms of blocking disk reads on the event loop) only for CERT_NONE to ignore it.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # trust comes from the fingerprint, checked by the caller
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        raise ConnectTimeoutError(f"{host}:{port} did not answer in time") from None
    except OSError as exc:
        raise ConnectError(f"{host}:{port} is not reachable: {exc}") from exc
    try:
        async with asyncio.timeout(timeout):
            await writer.start_tls(context)
        tls = writer.get_extra_info("ssl_object")
        der = tls.getpeercert(binary_form=True) if tls is not None else None
    except TimeoutError:
        raise ConnectTimeoutError(f"{host}:{port} did not finish a TLS handshake") from None
    except OSError:  # ssl.SSLError, or a reset: a plain HTTP server does not speak TLS
        return None
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    if not der:
        raise ConnectError(f"{host}:{port} presented no certificate")
    return fingerprint_of_der(der)
