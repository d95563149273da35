""" "This computer" as a device: an in-process `devices.Receiver` on the app's asyncio thread.

It is a whole receiver (the same libVLC player, session server and transfer roles as a
speaker), listening on loopback only and not advertised: the app's own controller reaches it by
address, so playback moves both ways between the computer and any receiver.

It runs in pin mode like any receiver: the app gives itself an owner token in-process
(`owner_credential`) and talks to it over TLS pinned to its id, so a phone paired with it (a
TV's "This computer") gets exactly the protection a speaker gives.

Traces: the process has one tracer provider, whose resource is the app's controller. The
receiver runs in a context tagged as its own device (`connect.telemetry.DeviceTag`), so its
spans and events reach the collector as "This computer", a lifeline of its own.
"""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import dataclass
from pathlib import Path

from connect import telemetry
from connect.access import Credential, paired_now
from connect.wire import messages as m
from devices.config import ReceiverConfig
from devices.errors import ReceiverError
from devices.receiver import Listening, Receiver

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class LocalDeviceSettings:
    """How "This computer" plays."""

    name: str
    state_dir: Path
    audio_output: str = "default"  # as baton-receiver's --audio-output
    device_type: str = "computer"  # "tv" in TV mode: other controllers show a TV


class LocalDevice:
    """Owns the in-process receiver; `async_` methods run on the app's asyncio thread."""

    def __init__(self, settings: LocalDeviceSettings) -> None:
        self.settings = settings
        self._receiver: Receiver | None = None
        self.listening: Listening | None = None

    async def async_start(self) -> Listening:
        """Start the receiver on loopback; raise ReceiverError/ConnectError if it cannot."""
        config = ReceiverConfig(
            name=self.settings.name,
            type=self.settings.device_type,
            interfaces=("lo",),
            audio_output=self.settings.audio_output,
            state_dir=self.settings.state_dir,
            pairing="pin",
        )
        self._receiver = Receiver(config, advertise=False)
        # Everything the receiver starts (its server's accept handler, hence every session
        # task) copies this context, tagged with the device; its id is known once it starts.
        tag = telemetry.DeviceTag(self.settings.name, "receiver")
        context = contextvars.copy_context()
        context.run(telemetry.enter_device, tag)
        try:
            self.listening = await asyncio.get_running_loop().create_task(
                self._receiver.async_start(), context=context
            )
            tag.device_id = self.listening.device_id
        except BaseException:
            await self._receiver.async_close()
            self._receiver = None
            raise
        return self.listening

    @property
    def device_id(self) -> str:
        """Return the device id ("" before start)."""
        return self.listening.device_id if self.listening else ""

    @property
    def pairing_code(self) -> str:
        """Return the current pairing code ("" before start)."""
        code = self._receiver.pairing_code if self._receiver is not None else None
        return code or ""

    def owner_credential(
        self, client: m.ClientIdentity, name: str, held: Credential | None = None
    ) -> Credential:
        """Return a new owner credential for *client* (the app's controller), without a PIN.

        *name* is the device's name as the credential records it. Raises ReceiverError
        (TokenStoreError when the token cannot be saved). The token of *held* (the credential
        the app kept for this device) is replaced if the device still knows it, so restarting
        the app leaves one token, not one per start.
        """
        if self._receiver is None:
            raise ReceiverError("This computer is not started")
        previous = held.token if held is not None and held.device_id == self.device_id else ""
        token = self._receiver.issue_token(client, m.Role.OWNER, replaces=previous)
        return Credential(self.device_id, token, m.Role.OWNER, name, paired_now())

    async def async_close(self) -> None:
        """Stop the receiver (idempotent)."""
        receiver, self._receiver = self._receiver, None
        if receiver is not None:
            await receiver.async_close()
