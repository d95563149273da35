"""The pairing and owner endpoints of a `pin`-mode device (docs/security.md, "Owner endpoints").

Private to connect/session/server.py. Every answer is protobuf; every refusal is a `Failure`
with its 4xx status, and nothing changes on a refusal. Tokens arrive as `Authorization: Bearer
TOKEN` and are never logged, nor echoed in an answer.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

from connect.access import pairing
from connect.access.pairing import AccessControl, AccessDeniedError, Grant
from connect.errors import FrameError
from connect.paths import NAME_PATH, PAIR_PATH, PAIRING_CODE_PATH, TOKENS_PATH
from connect.wire import codec
from connect.wire import messages as m

_LOG = logging.getLogger(__name__)


PROTOBUF = "application/x-protobuf"

_STATUS = {
    m.ErrorCode.MALFORMED: 400,
    m.ErrorCode.UNAUTHENTICATED: 401,
    m.ErrorCode.REVOKED: 401,
    m.ErrorCode.FORBIDDEN: 403,
    m.ErrorCode.NOT_FOUND: 404,
    m.ErrorCode.TOO_LARGE: 413,
    m.ErrorCode.RATE_LIMITED: 429,
}

EndSessions = Callable[[str], None]
Renamer = Callable[[str], Awaitable[m.DeviceInfo]]
"""Renames the device and returns its new description; ValueError for a name it refuses."""


def add_access_routes(
    app: web.Application, access: AccessControl, end: EndSessions, rename: Renamer | None
) -> None:
    """Add the pairing and owner endpoints to *app*; *end* ends a revoked token's sessions.

    `PUT /connect/v1/name` exists only when the device can be renamed (*rename* given).
    """
    endpoints = _AccessEndpoints(access, end, rename)
    app.router.add_post(PAIR_PATH, endpoints.async_pair)
    app.router.add_get(TOKENS_PATH, endpoints.async_tokens)
    app.router.add_delete(TOKENS_PATH + "/{token_id}", endpoints.async_revoke)
    app.router.add_get(PAIRING_CODE_PATH, endpoints.async_pairing_code)
    if rename is not None:
        app.router.add_put(NAME_PATH, endpoints.async_rename)


def add_open_device_routes(app: web.Application) -> None:
    """Answer the pairing and owner endpoints of an open device: 404 with a Failure."""

    async def no_access(request: web.Request) -> web.Response:
        return failure_response(
            m.ErrorCode.NOT_FOUND, "this device is open: it has no pairing and no tokens"
        )

    for path in (PAIR_PATH, TOKENS_PATH, TOKENS_PATH + "/{token_id}", PAIRING_CODE_PATH, NAME_PATH):
        app.router.add_route("*", path, no_access)


def failure_response(
    code: m.ErrorCode, message: str, status: int | None = None, retry_after_s: float = 0.0
) -> web.Response:
    """Return an error answer: a protobuf Failure with its status (and Retry-After if given)."""
    return _refusal(
        AccessDeniedError(
            m.Failure(code, message), status or _STATUS.get(code, 400), retry_after_s=retry_after_s
        )
    )


def _refusal(exc: AccessDeniedError) -> web.Response:
    """Return the answer to a refused pairing: its Failure whole (with the tries left)."""
    headers = (
        {"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))} if exc.retry_after_s else None
    )
    return web.Response(
        status=exc.status,
        body=codec.encode_failure(exc.failure),
        content_type=PROTOBUF,
        headers=headers,
    )


class _AccessEndpoints:
    def __init__(self, access: AccessControl, end: EndSessions, rename: Renamer | None) -> None:
        self._access = access
        self._end = end
        self._rename = rename

    async def async_pair(self, request: web.Request) -> web.Response:
        pairing_request = await _read_body(request, codec.decode_pairing_request)
        if isinstance(pairing_request, web.Response):
            return pairing_request
        # A Bearer token is the pairer's own: an owner's pairs without a code, and the token
        # of a controller pairing again is replaced. With the code, a token this device does
        # not know (revoked, or from before a reset) is ignored: the code alone decides then.
        bearer = _bearer(request)
        holder = self._access.authenticate(bearer) if bearer is not None else None
        if bearer is not None and holder is None and not pairing_request.pin:
            return self._not_valid(request)
        try:
            paired = self._access.pair(pairing_request, holder)
        except AccessDeniedError as exc:
            return _refusal(exc)
        answer = web.Response(
            body=codec.encode_pairing_response(paired.response), content_type=PROTOBUF
        )
        if paired.replaced_token_id:
            # The new token goes out first, then the old one's sessions end: a controller that
            # re-paired is then more likely to hold the new token when its old session hears
            # Goodbye(REVOKED), and reconnects with it instead of giving up.
            await answer.prepare(request)
            await answer.write_eof()
            self._end(paired.replaced_token_id)
        return answer

    async def async_tokens(self, request: web.Request) -> web.Response:
        refused = self._owner_refusal(self._grant(request), request)
        if refused is not None:
            return refused
        body = codec.encode_token_list(self._access.token_list())
        return web.Response(body=body, content_type=PROTOBUF)

    async def async_revoke(self, request: web.Request) -> web.Response:
        refused = self._owner_refusal(self._grant(request), request)
        if refused is not None:
            return refused
        token_id = request.match_info["token_id"]
        try:
            found = self._access.revoke(token_id)
        except OSError as exc:  # the store could not save: nothing was revoked
            _LOG.error("could not revoke token %s: %s", token_id, exc)
            return failure_response(m.ErrorCode.INTERNAL, "the device could not save", 500)
        if not found:
            return failure_response(m.ErrorCode.NOT_FOUND, "no such token")
        self._end(token_id)
        return web.Response(status=204)

    async def async_pairing_code(self, request: web.Request) -> web.Response:
        refused = self._owner_refusal(self._grant(request), request)
        if refused is not None:
            return refused
        body = codec.encode_pairing_code(m.PairingCode(self._access.pairing_code))
        return web.Response(body=body, content_type=PROTOBUF)

    async def async_rename(self, request: web.Request) -> web.Response:
        refused = self._owner_refusal(self._grant(request), request)
        if refused is not None:
            return refused
        assert self._rename is not None  # the route exists only with a renamer
        wanted = await _read_body(request, codec.decode_rename_request)
        if isinstance(wanted, web.Response):
            return wanted
        try:
            info = await self._rename(wanted.name)
        except ValueError as exc:
            return failure_response(m.ErrorCode.INVALID_ARGUMENT, str(exc), 400)
        except OSError as exc:  # the new name could not be saved: the old one stays
            _LOG.error("could not rename the device: %s", exc)
            return failure_response(m.ErrorCode.INTERNAL, "the device could not save", 500)
        return web.Response(body=codec.encode_device_info(info), content_type=PROTOBUF)

    def _not_valid(self, request: web.Request) -> web.Response:
        """Refuse a request without a valid token: 401, REVOKED for a revoked one (as in Hello)."""
        bearer = _bearer(request)
        if bearer is not None and self._access.revoked(bearer):
            return failure_response(m.ErrorCode.REVOKED, "this controller's access was revoked")
        return failure_response(m.ErrorCode.UNAUTHENTICATED, "a valid owner token is needed")

    def _grant(self, request: web.Request) -> Grant | None:
        bearer = _bearer(request)
        return None if bearer is None else self._access.authenticate(bearer)

    def _owner_refusal(self, grant: Grant | None, request: web.Request) -> web.Response | None:
        if grant is None:
            return self._not_valid(request)
        if not pairing.may_manage_access(grant.role):
            return failure_response(m.ErrorCode.FORBIDDEN, "only an owner may do this")
        return None


def _bearer(request: web.Request) -> str | None:
    """Return the token of an `Authorization: Bearer` header, or None without one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


T = TypeVar("T")


async def _read_body(request: web.Request, decode: Callable[[bytes], T]) -> T | web.Response:
    """Return the decoded body, or the answer to give instead (a refusal, or nothing to say)."""
    try:
        return decode(await request.read())
    except ConnectionError:  # the client left mid-body: written to nobody, dropped quietly
        return web.Response(status=400)
    except web.RequestPayloadError as exc:  # e.g. a body that is not in its Content-Encoding
        return failure_response(m.ErrorCode.MALFORMED, f"unreadable body: {exc}")
    except web.HTTPRequestEntityTooLarge:
        return failure_response(m.ErrorCode.TOO_LARGE, "the request body is too large")
    except FrameError as exc:
        return failure_response(m.ErrorCode.MALFORMED, str(exc))
