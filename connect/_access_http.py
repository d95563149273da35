"""The pairing and owner endpoints of a `pin`-mode device (docs/security.md, "Owner endpoints").

Private to connect/server.py. Every answer is protobuf; every refusal is a `Failure` with its
4xx status, and nothing changes on a refusal. Tokens arrive as `Authorization: Bearer TOKEN`
and are never logged, nor echoed in an answer.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

from connect import codec, pairing
from connect import messages as m
from connect.errors import FrameError
from connect.pairing import AccessControl, AccessDeniedError, Grant

_LOG = logging.getLogger(__name__)

PAIR_PATH = "/connect/v1/pair"
TOKENS_PATH = "/connect/v1/tokens"
PAIRING_CODE_PATH = "/connect/v1/pairing-code"
NAME_PATH = "/connect/v1/name"


PROTOBUF = "application/x-protobuf"

_STATUS = {
    m.ErrorCode.MALFORMED: 400,
    m.ErrorCode.UNAUTHENTICATED: 401,
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
    app.router.add_post(PAIR_PATH, endpoints.pair)
    app.router.add_get(TOKENS_PATH, endpoints.tokens)
    app.router.add_delete(TOKENS_PATH + "/{token_id}", endpoints.revoke)
    app.router.add_get(PAIRING_CODE_PATH, endpoints.pairing_code)
    if rename is not None:
        app.router.add_put(NAME_PATH, endpoints.rename)


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
    headers = {"Retry-After": str(max(1, math.ceil(retry_after_s)))} if retry_after_s else None
    return web.Response(
        status=status or _STATUS.get(code, 400),
        body=codec.encode_failure(m.Failure(code, message)),
        content_type=PROTOBUF,
        headers=headers,
    )


class _AccessEndpoints:
    def __init__(self, access: AccessControl, end: EndSessions, rename: Renamer | None) -> None:
        self._access = access
        self._end = end
        self._rename = rename

    async def pair(self, request: web.Request) -> web.Response:
        bearer = _bearer(request)
        owner: Grant | None = None
        if bearer is not None:
            refused = self._owner_refusal(grant := self._access.authenticate(bearer))
            if refused is not None:
                return refused
            owner = grant
        pairing_request = await _read_body(request, codec.decode_pairing_request)
        if isinstance(pairing_request, web.Response):
            return pairing_request
        try:
            response = self._access.pair(pairing_request, owner)
        except AccessDeniedError as exc:
            return failure_response(
                exc.failure.code, exc.failure.message, exc.status, exc.retry_after_s
            )
        return web.Response(body=codec.encode_pairing_response(response), content_type=PROTOBUF)

    async def tokens(self, request: web.Request) -> web.Response:
        refused = self._owner_refusal(self._grant(request))
        if refused is not None:
            return refused
        body = codec.encode_token_list(self._access.token_list())
        return web.Response(body=body, content_type=PROTOBUF)

    async def revoke(self, request: web.Request) -> web.Response:
        refused = self._owner_refusal(self._grant(request))
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

    async def pairing_code(self, request: web.Request) -> web.Response:
        refused = self._owner_refusal(self._grant(request))
        if refused is not None:
            return refused
        body = codec.encode_pairing_code(m.PairingCode(self._access.pairing_code))
        return web.Response(body=body, content_type=PROTOBUF)

    async def rename(self, request: web.Request) -> web.Response:
        refused = self._owner_refusal(self._grant(request))
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

    def _grant(self, request: web.Request) -> Grant | None:
        bearer = _bearer(request)
        return None if bearer is None else self._access.authenticate(bearer)

    @staticmethod
    def _owner_refusal(grant: Grant | None) -> web.Response | None:
        if grant is None:
            return failure_response(m.ErrorCode.UNAUTHENTICATED, "a valid owner token is needed")
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
