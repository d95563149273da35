"""A real receiver in `pin` mode, in this process, on 127.0.0.1 over TLS; and raw sessions.

The receiver runs in-process (libVLC writing to an afile WAV) so that its logs reach caplog
and the test can read its pairing code as an in-process UI would (`Receiver.pairing_code`).
Sessions are spoken by hand, frame by frame, so a test sees exactly what the device sends.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from connect.wire import codec
from connect.wire import messages as m
from devices.config import ReceiverConfig
from devices.receiver import Receiver

FRAME_TIMEOUT_S = 10.0


@dataclass
class PinDevice:
    """A started pin-mode receiver and an HTTPS client pinned to its certificate."""

    receiver: Receiver
    device_id: str
    base: str
    http: aiohttp.ClientSession
    state_dir: Path

    @property
    def pinned(self) -> aiohttp.Fingerprint:
        """Return the certificate pin: the device id is the certificate's SHA-256."""
        return aiohttp.Fingerprint(bytes.fromhex(self.device_id))

    async def pair(
        self,
        client: m.ClientIdentity,
        *,
        pin: str | None = None,
        role: m.Role | None = None,
        bearer: str = "",
    ) -> aiohttp.ClientResponse:
        """POST a pairing request (with the current code unless *pin* or *bearer* is given)."""
        if pin is None:
            pin = "" if bearer else self.receiver.pairing_code or ""
        body = codec.encode_pairing_request(m.PairingRequest(client, pin, role))
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        return await self.http.post(
            f"{self.base}/connect/v1/pair", data=body, headers=headers, ssl=self.pinned
        )

    async def paired_token(self, client: m.ClientIdentity, **kwargs: object) -> str:
        """Pair *client* and return its token (asserting success)."""
        response = await self.pair(client, **kwargs)  # type: ignore[arg-type]
        assert response.status == 200, await response.read()
        return codec.decode_pairing_response(await response.read()).token

    async def open_session(
        self, token: str, client: m.ClientIdentity, role: m.Role | None = None
    ) -> tuple[aiohttp.ClientWebSocketResponse, m.Body]:
        """Open a session with a Hello; return the socket and the device's first answer."""
        ws = await self.http.ws_connect(
            f"{self.base.replace('https', 'wss')}/connect/v1/ws", ssl=self.pinned
        )
        hello = m.Hello(m.PROTOCOL_V1, client, role, token)
        await ws.send_bytes(codec.encode(m.Envelope(1, uuid.uuid4().hex, hello)))
        return ws, await next_body(ws)


async def next_body(ws: aiohttp.ClientWebSocketResponse, skip: tuple[type, ...] = ()) -> m.Body:
    """Return the next frame's body from the device, skipping heartbeats and *skip* types."""
    while True:
        message = await ws.receive(timeout=FRAME_TIMEOUT_S)
        assert message.type is aiohttp.WSMsgType.BINARY, message
        body = codec.decode(message.data).body
        if not isinstance(body, (m.Heartbeat, *skip)):
            return body


def client(name: str) -> m.ClientIdentity:
    """Return a controller identity called *name*."""
    return m.ClientIdentity(f"{name}-id", name)


@pytest.fixture
async def device(tmp_path: Path) -> AsyncIterator[PinDevice]:
    config = ReceiverConfig(
        name="Secure Speaker",
        interfaces=("127.0.0.1",),
        audio_output=f"afile:{tmp_path / 'played.wav'}",
        state_dir=tmp_path / "state",
        pairing="pin",
        resume_window=0.0,
    )
    receiver = Receiver(config, advertise=False)
    listening = await receiver.async_start()
    try:
        async with aiohttp.ClientSession() as http:
            yield PinDevice(
                receiver,
                listening.device_id,
                f"https://127.0.0.1:{listening.port}",
                http,
                config.state_dir,
            )
    finally:
        await receiver.async_close()
