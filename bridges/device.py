"""A device people already own, presented as a Baton device: its own session server and mDNS.

`BridgedDevice` is the `SessionHost` of a `SessionServer` (connect/session/server.py), as a
receiver is, so controllers, the CLI, the app and the transfer coordinator use it with no
bridge-specific code. The session (queue, clock, volume, revision) is Baton's, kept here by
connect.session.playback's rules; the device plays its current item through a `BridgedPlayer`
(bridges/player.py). Commands run one at a time under a lock: the rules give the new state and
the player actions, the player carries them out, the state's clock is anchored on the status
the device answered, and only then is the state published. What the device does on its own
(its song ends, another of its clients pauses it) is followed by bridges/following.py.

Its DeviceInfo says what it cannot do: `no_timed_start` (transfers to and from it are
stop-first), its position's uncertainty, a fixed volume. It is open (no pairing): see
docs/architecture.md, "bridges/".
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, replace

from bridges._transfer import BridgeTransfers
from bridges.errors import PlayerError
from bridges.following import anchored, followed, next_item
from bridges.player import BridgedPlayer, PlayerStatus
from connect import telemetry
from connect.access import pairing
from connect.clock import Clock, monotonic_us
from connect.discovery import ServiceRecord, capability_hash
from connect.discovery.advertise import ServiceAdvertiser
from connect.discovery.interfaces import (
    NoUsableInterfaceError,
    advertised_addresses,
    describe_interfaces,
    list_interfaces,
    resolve_interfaces,
)
from connect.media_formats import legacy_codec_names
from connect.session import ControllerLink, SessionServer, playback
from connect.wire import messages as m
from taskowner import TaskOwner
from tracing import attributes as a

__all__ = ["BridgedDevice", "Listening"]

_LOG = logging.getLogger(__name__)
_CLOSE_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Listening:
    """Where a started bridged device can be reached."""

    device_id: str
    addresses: tuple[str, ...]
    port: int


class BridgedDevice:
    """One bridged device's Baton side (see the module docstring)."""

    def __init__(
        self,
        player: BridgedPlayer,
        *,
        interfaces: tuple[str, ...] = (),
        port: int = 0,
        name: str = "",
        clock: Clock = monotonic_us,
        advertise: bool = True,
    ) -> None:
        self.player = player
        self.clock = clock
        self.lock = asyncio.Lock()
        self._device_id = ""  # the player's, once it is started
        self._interfaces = interfaces
        self._port = port
        self._name = name
        self._advertise = advertise
        self._transfers = BridgeTransfers(self)
        self._server = SessionServer(self, clock=clock, transfer_phase=self._transfers.phase)
        self._advertiser: ServiceAdvertiser | None = None
        self._tasks = TaskOwner("bridged device", _LOG)
        self._next_url = ""  # the item the device was given to go on to by itself
        self._following = False  # a read of the device's status is on its way
        self._follow_again = False
        self._closed = False
        self._state = m.PlaybackState(session_id="", revision=0)

    @property
    def device_id(self) -> str:
        """Return the device's Baton id ("" until started)."""
        return self._device_id

    # -------------------------------------------------------------------------- lifecycle

    async def async_start(self) -> Listening:
        """Reach the device, then serve and advertise it; raise BridgeError/ConnectError."""
        present = list_interfaces()
        addresses = advertised_addresses(resolve_interfaces(self._interfaces, present))
        if not addresses:
            raise NoUsableInterfaceError(
                f"no usable address on {', '.join(self._interfaces) or 'the default interfaces'}"
                f"; present: {describe_interfaces(present)}; name another with --interface"
            )
        await self.player.async_start(self._device_changed)
        described = self.player.describe()
        self._device_id = described.device_id
        self._name = self._name or described.name
        status = await self.player.async_status()
        self._state = self._first_state(status)
        self._port = await self._server.async_start(addresses, self._port)
        if self._advertise:
            self._advertiser = ServiceAdvertiser(self._record(), interfaces=self._interfaces)
            await self._advertiser.async_start(port=self._port)
        _LOG.info("%s: %s bridged as %r", self._device_id, described.kind, self._name)
        return Listening(self._device_id, addresses, self._port)

    async def async_close(self) -> None:
        """Say goodbye on mDNS and to every controller, then let the device go (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._advertiser is not None:
            await self._advertiser.async_close()
        await self._server.async_close()
        await self._transfers.async_close()
        await self._tasks.async_close(_CLOSE_TIMEOUT_S)
        await self.player.async_close()

    # -------------------------------------------------------------------------- SessionHost

    def device_info(self) -> m.DeviceInfo:
        """Return the bridged device's description, with what it cannot do."""
        described = self.player.describe()
        return m.DeviceInfo(
            id=self._device_id,
            name=self._name,
            type=described.type,
            protocol=m.PROTOCOL_V1_ALONE,
            capabilities=m.Capabilities(
                audio_codecs=self.codecs,
                volume=_volume(described.volume_settable),
                seek=described.seek,
                no_timed_start=True,
                position_uncertainty_ms=described.position_uncertainty_ms,
            ),
            restrictions=self._restrictions(),
            model=f"{described.model} (bridged)",
            manufacturer=described.manufacturer,
            software_version=described.software_version,
            pairing=m.PairingMode.OPEN,
            revision=self._state.revision,
        )

    def current_state(self) -> m.PlaybackState:
        """Return the session as it is now."""
        return self._state

    async def async_handle_command(self, command: m.Command, role: m.Role) -> m.CommandResult:
        """Apply a controller's command with the session rules, then on the device."""
        refusal = pairing.command_refusal(role)
        if refusal is not None:
            return m.CommandResult(command.command_id, self._state.revision, refusal)
        async with self.lock:
            state = self._state
            try:
                outcome = playback.apply_command(
                    state, command, self.clock(), media_length_ms=self._known_length(state)
                )
            except playback.CommandRejectedError as exc:
                return m.CommandResult(command.command_id, state.revision, exc.failure)
            failure = await self._carry_out(outcome)
            if failure is not None and failure.code is m.ErrorCode.INVALID_ARGUMENT:
                _LOG.info("%s: command refused by the device: %s", self._device_id, failure)
                return m.CommandResult(command.command_id, state.revision, failure)
            reason = m.StateChangeReason.ERROR if failure else m.StateChangeReason.COMMAND
            self._publish(reason, queue_change=outcome.queue_change)
            return m.CommandResult(command.command_id, self._state.revision, failure)

    async def async_handle_transfer(self, body: m.Body, link: ControllerLink) -> None:
        """Take part in a transfer, as its target or its source (bridges/_transfer.py)."""
        await self._transfers.async_handle(body, link)

    # -------------------------------------------------------------------------- TransferHost

    @property
    def state(self) -> m.PlaybackState:
        """Return the session as it is now."""
        return self._state

    @property
    def codecs(self) -> tuple[str, ...]:
        """Return the codecs the device plays (with protocol 1.0's name for Vorbis)."""
        return legacy_codec_names(self.player.describe().audio_codecs)

    def publish_state(self, state: m.PlaybackState, reason: m.StateChangeReason) -> None:
        """Adopt *state* (the caller holds the lock) and push it to every controller."""
        self._state = state
        self._publish(reason, active=state.active)

    # -------------------------------------------------------------------------- internals

    async def _carry_out(self, outcome: playback.Outcome) -> m.Failure | None:
        """Make the device match *outcome*; set the state (its clock the device's)."""
        status: PlayerStatus | None = None
        try:
            for action in outcome.actions:
                status = await self._perform(action)
        except PlayerError as exc:
            failure = exc.failure
            self._state = playback.after_failure(outcome.state, failure, self.clock())
            telemetry.emit_event(a.EVENT_ERROR, {a.ERROR_TYPE: failure.code.name})
            return failure
        self._state = outcome.state if status is None else anchored(outcome.state, status)
        return None

    async def _perform(self, action: playback.PlayerAction) -> PlayerStatus:
        player = self.player
        if isinstance(action, playback.Load | playback.StopPlayer):
            self._next_url = ""  # a device loading or stopping forgets the next item it had
        if isinstance(action, playback.Load):
            item = action.item
            return await player.async_load(
                item.url, action.position_ms, play=action.play, title=item.title,
                content_type=item.content_type, artist=item.artist,
            )  # fmt: skip
        if isinstance(action, playback.PausePlayer):
            return await player.async_pause()
        if isinstance(action, playback.ResumePlayer):
            return await player.async_resume()
        if isinstance(action, playback.SeekPlayer):
            return await player.async_seek(action.position_ms)
        if isinstance(action, playback.StopPlayer):
            return await player.async_stop()
        return await player.async_set_volume(action.volume)

    def _device_changed(self) -> None:
        """The device changed on its own: read its status (one read at a time, coalesced)."""
        if self._following:
            self._follow_again = True
            return
        self._following = True
        self._tasks.async_spawn(self._follow_device(), "follow")

    async def _follow_device(self) -> None:
        try:
            while True:
                self._follow_again = False
                async with self.lock:
                    await self._follow_once()
                if not self._follow_again:
                    return
        finally:
            self._following = False

    async def _follow_once(self) -> None:
        try:
            status = await self.player.async_status()
        except PlayerError as exc:
            # Gone (or failing): a session that played or held music there stops, and says why.
            _LOG.warning("%s: %s", self._device_id, exc)
            if self._state.status is not m.PlaybackStatus.STOPPED:
                self._state = playback.after_failure(self._state, exc.failure, self.clock())
                self._publish(m.StateChangeReason.ERROR)
            return
        outcome = followed(self._state, status, self.clock())
        if outcome is None:
            return
        failure = await self._carry_out(outcome) if outcome.actions else None
        if not outcome.actions:
            self._state = outcome.state
        reason = m.StateChangeReason.ERROR if failure or outcome.state.error else None
        self._publish(reason or m.StateChangeReason.PLAYBACK)

    def _publish(
        self,
        reason: m.StateChangeReason,
        *,
        active: bool | None = None,
        queue_change: m.QueueChange | None = None,
    ) -> None:
        if active is None:
            active = bool(self._state.queue)
        self._state = replace(self._state, active=active)
        telemetry.emit_event(
            a.EVENT_STATE_CHANGED,
            {a.SESSION_ID: self._state.session_id, a.REVISION: self._state.revision,
             a.REASON: reason.name},
        )  # fmt: skip
        self._server.broadcast(m.StateSnapshot(self._state, reason, queue_change))
        self._give_next()
        if self._advertiser is not None:
            self._tasks.async_spawn(
                self._advertiser.async_update(revision=self._state.revision), "mdns revision"
            )

    def _give_next(self) -> None:
        """A device that goes on to the next item by itself (UPnP's SetNextAVTransportURI) is
        given it ahead, so it plays on with no gap; the others start it after the end."""
        state = self._state
        if not self.player.describe().next_item or state.status is not m.PlaybackStatus.PLAYING:
            return
        following = next_item(state)
        url = following.url if following is not None and following != state.current_item else ""
        if url == self._next_url:
            return
        self._next_url = url
        title = following.title if following is not None else ""
        kind = following.content_type if following is not None else ""
        self._tasks.async_spawn(self._async_give_next(url, title, kind), "next item")

    async def _async_give_next(self, url: str, title: str, content_type: str) -> None:
        try:
            await self.player.async_set_next(url, title=title, content_type=content_type)
        except PlayerError as exc:
            _LOG.info("%s: no next item given: %s", self._device_id, exc)
            self._next_url = ""

    def _first_state(self, status: PlayerStatus) -> m.PlaybackState:
        """A new session, its volume the device's; what the device plays is not Baton's."""
        return m.PlaybackState(
            session_id=uuid.uuid4().hex,
            revision=1,
            device_id=self._device_id,
            epoch=1,
            volume=status.volume if status.volume >= 0 else 100,
            restrictions=self._restrictions(),
        )

    def _restrictions(self) -> tuple[m.Restriction, ...]:
        if self.player.describe().volume_settable:
            return ()
        return (m.Restriction(m.CommandKind.SET_VOLUME, ("volume_fixed",)),)

    def _known_length(self, state: m.PlaybackState) -> int:
        item = state.current_item
        return item.duration_ms if item is not None else 0

    def _record(self) -> ServiceRecord:
        described = self.player.describe()
        return ServiceRecord(
            name=self._name,
            id=self._device_id,
            type=described.type,
            model=f"{described.model} (bridged)",
            revision=self._state.revision,
            caps_hash=capability_hash(self.codecs),
            pairing=m.PairingMode.OPEN,
        )


def _volume(settable: bool) -> m.VolumeCapabilities:
    """A mixer's volume is set and reported in 100 steps; without one it is neither."""
    return m.VolumeCapabilities(settable, settable, 100 if settable else 0)
