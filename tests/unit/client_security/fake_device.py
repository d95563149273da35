"""A scripted Baton device on loopback for controller-side security tests: info, a session
WebSocket that checks Hello.token, and the pairing and owner endpoints, over TLS (pin mode,
with a real self-signed certificate) or plain HTTP (open mode). Hand-written and small: it
follows docs/security.md only as far as the controller can observe."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import WSMsgType, web

from connect.access.tls import load_or_create_identity, server_context
from connect.paths import INFO_PATH, PAIR_PATH, PAIRING_CODE_PATH, TOKENS_PATH, WS_PATH
from connect.wire import codec
from connect.wire import messages as m


@dataclass
class FakeDevice:
    """One device; tweak the public fields between requests to script its answers."""

    directory: Path
    pairing: m.PairingMode = m.PairingMode.PIN
    name: str = "Fake Speaker"
    pin: str = "123456"
    claimed_id: str = ""  # what it says its id is; default: its certificate's fingerprint
    tokens: dict[str, m.Role] = field(default_factory=dict)  # token -> role
    rate_limited_for_s: int = 0  # >0: every pairing attempt gets 429 with this Retry-After
    hellos: list[m.Hello] = field(default_factory=list)
    port: int = 0
    fingerprint: str = ""
    _runner: web.AppRunner | None = None
    _sessions: list[web.WebSocketResponse] = field(default_factory=list)

    async def start(self) -> FakeDevice:
        # key generation and file writes: off the loop the controller under test runs on
        identity = await asyncio.to_thread(load_or_create_identity, self.directory / "tls")
        self.fingerprint = identity.fingerprint
        self.claimed_id = self.claimed_id or identity.fingerprint
        tls: ssl.SSLContext | None = None
        if self.pairing is m.PairingMode.PIN:
            tls = server_context(identity)
        app = web.Application()
        app.router.add_get(INFO_PATH, self._info)
        app.router.add_get(WS_PATH, self._session)
        app.router.add_post(PAIR_PATH, self._pair)
        app.router.add_get(TOKENS_PATH, self._tokens)
        app.router.add_delete(TOKENS_PATH + "/{id}", self._revoke)
        app.router.add_get(PAIRING_CODE_PATH, self._code)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=tls)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        for ws in list(self._sessions):
            with contextlib.suppress(Exception):
                await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def info(self) -> m.DeviceInfo:
        return m.DeviceInfo(
            id=self.claimed_id,
            name=self.name,
            type=m.DeviceType.SPEAKER,
            protocol=m.PROTOCOL_V1,
            pairing=self.pairing,
        )

    async def revoke_all(self) -> None:
        """End every session with Goodbye(REVOKED) and forget every token."""
        self.tokens.clear()
        for ws in list(self._sessions):
            goodbye = m.Goodbye(m.GoodbyeReason.REVOKED, "revoked")
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_bytes(codec.encode(m.Envelope(99, "bye", goodbye)))

    # ------------------------------------------------------------------ handlers

    async def _info(self, request: web.Request) -> web.Response:
        return web.Response(body=codec.encode_device_info(self.info()))

    async def _session(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        message = await ws.receive(timeout=5)
        assert message.type is WSMsgType.BINARY
        hello = codec.decode(message.data).body
        assert isinstance(hello, m.Hello)
        self.hellos.append(hello)
        role = self.tokens.get(hello.token)
        if role is None and self.pairing is m.PairingMode.PIN:
            goodbye = m.Goodbye(m.GoodbyeReason.UNAUTHENTICATED, "pair first")
            await ws.send_bytes(codec.encode(m.Envelope(1, "bye", goodbye)))
            await ws.close()
            return ws
        welcome = m.Welcome(
            m.ProtocolVersion(1, 0), role or m.Role.CONTROLLER, self.info(), "conn-1", 1000
        )
        await ws.send_bytes(codec.encode(m.Envelope(1, "welcome", welcome)))
        self._sessions.append(ws)
        try:
            async for frame in ws:
                if frame.type is not WSMsgType.BINARY:
                    break
                body = codec.decode(frame.data).body
                if isinstance(body, m.TimeRequest):
                    t = body.client_send_us  # the same clock as the controller: offset 0
                    reply = m.TimeResponse(t, t, t)
                    await ws.send_bytes(codec.encode(m.Envelope(2, "time", reply)))
        except ConnectionError:
            pass  # the controller went away mid-answer: its session is over, as for a device
        finally:
            self._sessions.remove(ws)
        return ws

    async def _pair(self, request: web.Request) -> web.Response:
        if self.rate_limited_for_s:
            return _failure(429, m.ErrorCode.RATE_LIMITED, str(self.rate_limited_for_s))
        asked = codec.decode_pairing_request(await request.read())
        if asked.pin != self.pin:
            return _failure(401, m.ErrorCode.UNAUTHENTICATED)
        role = asked.requested_role or (m.Role.OWNER if not self.tokens else m.Role.CONTROLLER)
        token = f"{len(self.tokens) + 1:08x}.secret-{len(self.tokens) + 1}"
        self.tokens[token] = role
        answer = m.PairingResponse(token, role, self.claimed_id, self.fingerprint)
        return web.Response(body=codec.encode_pairing_response(answer))

    def _owner(self, request: web.Request) -> web.Response | None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        role = self.tokens.get(token)
        if role is None:
            return _failure(401, m.ErrorCode.UNAUTHENTICATED)
        if role is not m.Role.OWNER:
            return _failure(403, m.ErrorCode.FORBIDDEN)
        return None

    async def _tokens(self, request: web.Request) -> web.Response:
        if (refused := self._owner(request)) is not None:
            return refused
        listed = tuple(
            m.TokenInfo(t.partition(".")[0], m.ClientIdentity("c", "C"), role)
            for t, role in self.tokens.items()
        )
        return web.Response(body=codec.encode_token_list(m.TokenList(listed)))

    async def _revoke(self, request: web.Request) -> web.Response:
        if (refused := self._owner(request)) is not None:
            return refused
        for token in list(self.tokens):
            if token.partition(".")[0] == request.match_info["id"]:
                del self.tokens[token]
                return web.Response(status=204)
        return _failure(404, m.ErrorCode.NOT_FOUND)

    async def _code(self, request: web.Request) -> web.Response:
        if (refused := self._owner(request)) is not None:
            return refused
        return web.Response(body=codec.encode_pairing_code(m.PairingCode(self.pin)))


def _failure(status: int, code: m.ErrorCode, retry_after: str = "") -> web.Response:
    headers = {"Retry-After": retry_after} if retry_after else None
    body = codec.encode_failure(m.Failure(code, code.name.lower()))
    return web.Response(status=status, body=body, headers=headers)


async def started(directory: Path, **kw: object) -> FakeDevice:
    """Return a started FakeDevice (a helper for fixtures)."""
    return await FakeDevice(directory, **kw).start()  # type: ignore[arg-type]


__all__ = ["FakeDevice", "started"]
