""" "This computer" as a device: an in-process `devices.Receiver` on the app's asyncio thread.

It is a whole receiver (the same libVLC player, session server and transfer roles as a
speaker), listening on loopback only and not advertised: the app's own controller reaches it by
address, so playback moves both ways between the computer and any receiver.

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
from devices.config import ReceiverConfig
from devices.receiver import Listening, Receiver

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class LocalDeviceSettings:
    """How "This computer" plays."""

    name: str
    state_dir: Path
    audio_output: str = "default"  # as baton-receiver's --audio-output


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
            type="computer",
            interfaces=("lo",),
            audio_output=self.settings.audio_output,
            state_dir=self.settings.state_dir,
            pairing="open",  # for now; the app switches to pin with its pairing screens
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

    async def async_close(self) -> None:
        """Stop the receiver (idempotent)."""
        receiver, self._receiver = self._receiver, None
        if receiver is not None:
            await receiver.async_close()
