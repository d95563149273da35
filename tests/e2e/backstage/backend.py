"""A stand-in for the two routes of a Backstage backend that the plugin's dev app uses.

A real backend (`@backstage/backend-defaults` with `@backstage/plugin-proxy-backend` and the
guest auth module) would add some 600 npm packages and a native SQLite build to the suite
for two routes, so the browser test talks to this instead:

* `GET /api/auth/guest/refresh`: the guest sign-in of Backstage's own sign-in page
  (core-components' `ProxiedSignInIdentity`), issuing a token for the configured user.
* `/api/proxy/baton-traces/...`: the proxy endpoint of docs/backstage.md, applying what
  `@backstage/plugin-proxy-backend` 0.6 does with `credentials: require`,
  `allowedMethods: [GET, POST]` and `allowedHeaders: [X-Baton-Token]` (read in its
  `router.cjs.js`): a request without a Backstage token it issued is refused (401); only the
  CORS-safe headers and the allowed ones go on (never `Authorization`, which holds the
  Backstage token); the prefix is cut; only safe and allowed response headers come back.

And CORS for the dev app's origin, as `backend.cors` configures a real backend.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

import aiohttp
from aiohttp import web

PREFIX = "/api/proxy/baton-traces"
# plugin-proxy-backend's safeForwardHeaders: forwarded both ways without configuration.
SAFE_HEADERS = frozenset(
    {
        "cache-control", "content-language", "content-length", "content-type", "expires",
        "last-modified", "pragma", "host", "accept", "accept-language", "user-agent",
    }
)  # fmt: skip
ALLOWED_HEADERS = frozenset({"x-baton-token"})
ALLOWED_METHODS = frozenset({"GET", "POST"})


def _token_for(user_ref: str) -> str:
    """A JWT-shaped token (unsigned: only its expiry is read by the frontend)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    claims = {"sub": user_ref, "exp": int(time.time()) + 3600}
    return f"{part({'alg': 'none'})}.{part(claims)}.{secrets.token_urlsafe(16)}"


class BackstageStandIn:
    """The stand-in backend: start it, give its base URL to the dev app, close it."""

    def __init__(self, collector: str, app_origin: str, user: str) -> None:
        self.collector = collector.rstrip("/")
        self.app_origin = app_origin
        self.user_ref = f"user:default/{user}"
        self.user = user
        self.issued: set[str] = set()
        self.forwarded: list[dict[str, str]] = []  # the headers each proxied request went with
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None

    async def async_start(self, port: int = 0) -> None:
        """Serve on loopback, on *port* (0: any free one; `port` says which)."""
        app = web.Application(middlewares=[self._cors])
        app.router.add_get("/api/auth/guest/refresh", self._refresh)
        app.router.add_route("*", PREFIX + "/{tail:.*}", self._proxy)
        self._http = aiohttp.ClientSession(auto_decompress=False)
        # A proxied live stream outlives its browser tab until its next write: without a
        # short shutdown_timeout, cleanup() would wait aiohttp's default 60 s for it.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    @property
    def base(self) -> str:
        return f"http://localhost:{self.port}"

    async def async_close(self) -> None:
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _cors(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.method == "OPTIONS":
            response: web.StreamResponse = web.Response(status=204)
            asked = request.headers.get("Access-Control-Request-Headers", "")
            response.headers["Access-Control-Allow-Headers"] = asked
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        else:
            response = await handler(request)
        if request.headers.get("Origin") == self.app_origin and not response.prepared:
            response.headers["Access-Control-Allow-Origin"] = self.app_origin
            response.headers["Access-Control-Allow-Credentials"] = "true"
        return response

    async def _refresh(self, request: web.Request) -> web.Response:
        token = _token_for(self.user_ref)
        self.issued.add(token)
        return web.json_response(
            {
                "profile": {"displayName": self.user},
                "backstageIdentity": {
                    "token": token,
                    "identity": {
                        "type": "user",
                        "userEntityRef": self.user_ref,
                        "ownershipEntityRefs": [self.user_ref],
                    },
                },
            }
        )

    async def _proxy(self, request: web.Request) -> web.StreamResponse:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token not in self.issued:
            error = {"name": "AuthenticationError", "message": "Missing credentials"}
            return web.json_response({"error": error}, status=401)
        if request.method not in ALLOWED_METHODS:
            return web.Response(status=405)
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() in SAFE_HEADERS | ALLOWED_HEADERS and k.lower() != "host"
        }
        self.forwarded.append(headers)
        target = f"{self.collector}/{request.match_info['tail']}"
        if request.query_string:
            target += "?" + request.query_string
        assert self._http is not None
        async with self._http.request(
            request.method, target, headers=headers, data=await request.read() or None
        ) as upstream:
            response = web.StreamResponse(status=upstream.status)
            for k, v in upstream.headers.items():
                if k.lower() in SAFE_HEADERS | ALLOWED_HEADERS and k.lower() != "content-length":
                    response.headers[k] = v
            if request.headers.get("Origin") == self.app_origin:
                response.headers["Access-Control-Allow-Origin"] = self.app_origin
                response.headers["Access-Control-Allow-Credentials"] = "true"
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():  # an SSE stream: as it comes
                await response.write(chunk)
            await response.write_eof()
            return response
