"""A Baton receiver: libVLC player, Connect session server, mDNS advertisement, saved session.

The receiver is the `SessionHost` of its server. Commands are applied one at a time under a
lock: the session rules (connect.session.playback) give the new state and the player actions, the
player carries them out (devices/_commands.py), and only then does the new state go out to every
controller, so the state never claims what the player did not do. A refused command changes
nothing (state, revision, saved session); a media or output failure of an applied one becomes
a typed error in the state and in the CommandResult.

Its device id is the fingerprint of its TLS certificate (docs/security.md). In `pin` mode it
serves HTTPS only and lets in the controllers paired with it (devices/access.py); it watches
`tokens.json` so that `baton-receiver tokens revoke` ends the sessions of a revoked token.

Beside it: devices/_receiver_core.py does what happens between commands (the player's events,
publishing a new state, resuming, the mDNS record), devices/_session_saving.py keeps the
session across restarts (read at start, written as it changes), devices/_player_actions.py
carries out player actions and reads the player's clock back, devices/transfer.py takes part in
transfers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, replace
from typing import Any

from connect.access import pairing, tls
from connect.clock import Clock, monotonic_us
from connect.discovery.advertise import ServiceAdvertiser
from connect.discovery.interfaces import (
    NoUsableInterfaceError,
    advertised_addresses,
    describe_interfaces,
    list_interfaces,
    resolve_interfaces,
)
from connect.session import ControllerLink, SessionServer
from connect.wire import messages as m
from devices import resume
from devices._commands import async_run_command
from devices._decoders import offered_codecs
from devices._group_member import GroupBody, GroupSide
from devices._live import LiveWatch
from devices._queue_relay import QueueRelay
from devices._receiver_core import CLOCK_TOLERANCE_MS as CLOCK_TOLERANCE_MS
from devices._receiver_core import ReceiverCore
from devices._session_saving import SessionSaver
from devices._transfer_saving import load_ledger
from devices.access import ReceiverAccess
from devices.audio_output import parse_audio_output
from devices.config import ReceiverConfig, check_name
from devices.errors import ReceiverError
from devices.health import HealthFile
from devices.player import Player
from devices.transfer import TransferSide
from taskowner import TaskHealth, TaskOwner

_LOG = logging.getLogger(__name__)
_CLOSE_TIMEOUT_S = 2.0  # for its background tasks to end once cancelled

TOKEN_WATCH_INTERVAL_S = 0.5
"""How often tokens.json is checked for a revocation made by another process (stat only)."""


@dataclass(frozen=True)
class Listening:
    """Where a started receiver can be reached."""

    device_id: str
    addresses: tuple[str, ...]
    port: int


class Receiver(ReceiverCore):
    """One receiver process's devices-side logic (see the module docstring)."""

    def __init__(
        self, config: ReceiverConfig, *, clock: Clock = monotonic_us, advertise: bool = True
    ) -> None:
        self.config = config
        self.clock = clock
        self._advertise = advertise
        self._store = resume.ResumableStore(config.state_dir)
        self._saver = SessionSaver(self._store, config, clock)
        self._transfers = TransferSide(self)
        self._groups = GroupSide(self, self._tasks_spawn)
        self._queues = QueueRelay()
        self._live = LiveWatch(self)
        self._server = SessionServer(
            self,
            clock=clock,
            transfer_phase=self._transfers.phase,
            transfer_queue=self._queues.page,
        )
        self._player: Player | None = None
        self._advertiser: ServiceAdvertiser | None = None
        self.lock = asyncio.Lock()
        self._tasks = TaskOwner("receiver", _LOG)
        self.health_file = HealthFile(config.state_dir, self.health)
        self._tasks.watch_health(self.health_file.changed)
        self._closed = False
        self._device_id = ""
        self._name = config.name
        self._port = 0
        self._access: ReceiverAccess | None = None
        self._state = m.PlaybackState(session_id="", revision=0)

    # -------------------------------------------------------------------------- lifecycle

    async def async_start(self) -> Listening:
        """Start everything; raise ReceiverError/ConnectError subclasses saying what failed."""
        # Disk and key work (a first start makes the TLS key, files are fsynced): on a worker
        # thread, so the loop (in the app, shared with the UI's core) never stalls on it.
        identity, saved_name, access = await asyncio.to_thread(self._open_state_dir)
        self._transfers.restore(await asyncio.to_thread(load_ledger, self.config.state_dir))
        self._saver.before_session = self._ledger_to_save
        self._device_id = identity.fingerprint
        self._name = saved_name
        if access is not None:
            self._access = access
            # Replaces the open server made in __init__, before anything used it.
            self._server = SessionServer(
                self,
                clock=self.clock,
                access=self._access,
                ssl_context=tls.server_context(identity),
                rename=self.async_rename,
                transfer_phase=self._transfers.phase,
                transfer_queue=self._queues.page,
            )
        else:
            _LOG.warning(
                "pairing is open: anyone on the network may control this receiver "
                "(plain HTTP, no tokens); use --pairing pin unless you trust everyone here"
            )
        self._state = await asyncio.to_thread(self._saver.initial_state, self._device_id)
        present = list_interfaces()
        interfaces = resolve_interfaces(self.config.interfaces, present)
        addresses = advertised_addresses(interfaces)
        if not addresses and self.config.interfaces:
            raise NoUsableInterfaceError(
                f"no usable address on {', '.join(self.config.interfaces)}; present: "
                f"{describe_interfaces(present)}; name another with --interface"
            )
        if not addresses:
            raise NoUsableInterfaceError.default_found_none("be reached on", present)
        if self._advertise:
            # The mDNS name check takes a quarter second: let it run while libVLC starts.
            self._advertiser = self._new_advertiser()
            preparing = self._tasks.async_spawn(
                self._advertiser.async_prepare(), "mdns name check", awaited=True
            )
        self._player = Player(
            parse_audio_output(
                self.config.audio_output,
                simulated_drift_ppm=self.config.simulated_drift,
                drift_correction=self.config.drift_correction,
            ),
            listener=self._on_player_event,
        )
        await self._player.async_start()
        await self._player.async_set_volume(self._output_volume(self._state))
        port = self._port = await self._server.async_start(addresses, self.config.port)
        if self._advertiser is not None:
            await preparing
            await self._advertiser.async_start(port=port)
        # The loops the receiver lives on are supervised: one that fails (descriptors run out
        # under an attack, a bug) is logged once and started again with backoff, and health()
        # says it is failing until it runs well again (devices/health.py reports it).
        self._tasks.async_supervise(
            lambda: self._saver.async_save_loop(self.current_state), "session saving"
        )
        self._tasks.async_supervise(self._live.async_run, "live watch")
        self._tasks.async_supervise(self._groups.async_run, "group timeline")
        access = self._access
        if access is not None:
            self._tasks.async_supervise(lambda: self._watch_tokens(access), "token watch")
        self._tasks.async_supervise(
            lambda: resume.async_checkpoints(
                self.config.checkpoint_interval, self._is_playing, self._saver.want_save
            ),
            "checkpoints",
        )
        await self._resume_saved_session()
        self.health_file.write()  # `baton-receiver --check` now sees a running receiver
        return Listening(self._device_id, addresses, port)

    def _open_state_dir(self) -> tuple[tls.TlsIdentity, str, ReceiverAccess | None]:
        """Prepare the state directory; return the TLS identity, the name, the token desk."""
        self._store.prepare()
        identity = self._store.tls_identity()
        access = None
        if self.config.pairing_mode is m.PairingMode.PIN:
            access = ReceiverAccess(self.config.state_dir, identity.fingerprint)
            access.start()
        return identity, self._saver.saved_name(), access

    async def async_close(self) -> None:
        """Say goodbye on mDNS and to every controller, save the session, stop the player."""
        if self._closed:
            return
        self._closed = True
        if self._advertiser is not None:
            await self._advertiser.async_close()
        await self._server.async_close()
        await self._transfers.async_close()
        await self._tasks.async_close(_CLOSE_TIMEOUT_S)
        self._saver.save_now(self._state, self.clock(), self._ledger_to_save(), final=True)
        self.health_file.remove()
        if self._player is not None:
            await self._player.async_close()

    def health(self) -> tuple[TaskHealth, ...]:
        """How the receiver's supervised tasks are doing (its own and its advertiser's)."""
        advertiser = self._advertiser.health() if self._advertiser is not None else ()
        return self._tasks.health() + advertiser

    # -------------------------------------------------------------------------- SessionHost

    def device_info(self) -> m.DeviceInfo:
        """Return this receiver's description."""
        return m.DeviceInfo(
            id=self._device_id,
            name=self._name,
            type=self.config.device_type,
            protocol=m.PROTOCOL_V1,
            capabilities=m.Capabilities(
                audio_codecs=offered_codecs(), max_volume=self.config.max_volume, group_member=True
            ),
            model="baton-receiver",
            manufacturer="Baton",
            software_version=_software_version(),
            pairing=self.config.pairing_mode,
            revision=self._state.revision,
        )

    def current_state(self) -> m.PlaybackState:
        """Return the session as it is now."""
        return self._state

    async def async_handle_command(self, command: m.Command, role: m.Role) -> m.CommandResult:
        """Apply a controller's command and carry it out on the player."""
        # The server refuses these already; checked again so a host never acts on its own.
        refusal = pairing.command_refusal(role)
        if refusal is None and not isinstance(command.action, m.SetVolume):
            refusal = self._groups.refusal()  # a follower: what plays is the leader's
        if refusal is not None:
            return m.CommandResult(command.command_id, self._state.revision, refusal)
        async with self.lock:
            if self._transfers.take_player():
                # Media a device picker had prepared: the command's own media, or none, now.
                with contextlib.suppress(ReceiverError):
                    await self._require_player().async_stop()
            run = await async_run_command(
                self._state,
                command,
                self._require_player(),
                self.clock,
                max_volume=self.config.max_volume,
            )
            if run.failure is not None and not run.changed:
                # Refused: the state, its revision and the saved session stay as they were.
                _LOG.info("command %s refused: %s", command.command_id, run.failure.message)
                return m.CommandResult(command.command_id, self._state.revision, run.failure)
            if run.failure is not None:
                self._playback_failed(run.failure)
            self._state = run.state
            reason = m.StateChangeReason.ERROR if run.failure else m.StateChangeReason.COMMAND
            self._publish(reason, queue_change=run.queue_change)
            return m.CommandResult(command.command_id, self._state.revision, run.failure)

    async def async_handle_transfer(self, body: m.Body, link: ControllerLink) -> None:
        """Take part in a transfer, as its target or its source (devices/transfer.py)."""
        refusal = self._groups.refusal()
        if refusal is not None and isinstance(body, m.TransferOffer | m.TransferCommit):
            leader = self._groups.leader or ""
            link.send(m.TransferRejected(body.transfer_id, refusal, leader))
            return
        self._queues.note(body, self._state)  # a long queue's rest, either way (_queue_relay)
        await self._transfers.async_handle(body, link)

    async def async_handle_group(self, body: GroupBody, link: ControllerLink) -> None:
        """Take part in a group, leading or following (devices/_group_member.py)."""
        await self._groups.async_handle(body, link)

    # -------------------------------------------------------------------------- access

    @property
    def pairing_code(self) -> str | None:
        """Return the current pairing code (None on an open or not yet started receiver)."""
        return None if self._access is None else self._access.pairing_code

    def issue_token(self, client: m.ClientIdentity, role: m.Role, *, replaces: str = "") -> str:
        """Return a token for an in-process controller without a PIN (the app's own device).

        *replaces* is the token that controller held, replaced if still valid. Raises
        ReceiverError when the receiver is open or not started, TokenStoreError when the
        token cannot be saved.
        """
        if self._access is None:
            raise ReceiverError("this receiver has no tokens: it is open, or not started")
        return self._access.issue_token(client, role, replaces=replaces)

    async def async_rename(self, name: str) -> m.DeviceInfo:
        """Rename the device, keep the name across restarts, re-announce it on mDNS.

        Raises ConfigError (a ValueError) for a name mDNS cannot carry and StateDirError when
        it cannot be saved; either way the old name stays.
        """
        name = check_name(name.strip())
        await asyncio.to_thread(self._store.save_name, name)
        old, self._name = self._name, name
        _LOG.info("renamed from %r to %r", old, name)
        if self._advertiser is not None:
            # The instance name is the DNS name: say goodbye under the old one and announce
            # the new one (with its own name check), as a device that restarted would.
            await self._advertiser.async_close()
            self._advertiser = self._new_advertiser()
            await self._advertiser.async_start(port=self._port)
        return self.device_info()

    async def _watch_tokens(self, access: ReceiverAccess) -> None:
        """End the sessions of tokens revoked by another process (`baton-receiver tokens`)."""
        while True:
            await asyncio.sleep(TOKEN_WATCH_INTERVAL_S)  # a polling timer, cancelled on close
            for token_id in access.store.reload_if_changed():
                _LOG.info("token %s was revoked outside the receiver", token_id)
                self._server.end_sessions_of(token_id)

    # -------------------------------------------------------------------------- TransferHost

    @property
    def player(self) -> Player:
        """Return the started player."""
        return self._require_player()

    @property
    def state(self) -> m.PlaybackState:
        """Return the session as it is now."""
        return self._state

    @property
    def device_id(self) -> str:
        """Return this receiver's id (its certificate's fingerprint)."""
        return self._device_id

    def controller_links(self) -> tuple[ControllerLink, ...]:
        """Return the controllers connected now."""
        return self._server.links

    def _tasks_spawn(self, coro: Coroutine[Any, Any, None], what: str) -> object:
        return self._tasks.async_spawn(coro, what)

    @property
    def codecs(self) -> tuple[str, ...]:
        """Return the audio codecs this receiver plays."""
        return offered_codecs()

    def publish_state(self, state: m.PlaybackState, reason: m.StateChangeReason) -> None:
        """Adopt *state* (the caller holds the lock) and push it to every controller."""
        if reason is m.StateChangeReason.TRANSFER and state.active:
            state = self._queues.reuse(self._state, state)  # a transfer back: the queue held
        self._state = state
        self._publish(reason, active=state.active)
        if reason is m.StateChangeReason.TRANSFER and state.active:
            self._queues.session_taken()
        if self._queues.wants_fill(state):  # a window of a long queue: fetch the rest
            self._tasks.async_spawn(self._queues.async_fill(self, self.lock), "queue fill")

    def adopt_queue(self, state: m.PlaybackState) -> None:
        """Take *state*, the session with its whole queue now (the caller holds the lock)."""
        self._state = replace(state, revision=state.revision + 1)
        self._publish(m.StateChangeReason.PLAYBACK, active=state.active)


def _software_version() -> str:
    from connect.cli_common import baton_version

    return f"baton {baton_version()}"
