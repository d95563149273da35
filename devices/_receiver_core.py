"""The receiver's internals: its player's events, how a new state goes out, resuming, mDNS."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace

from connect import telemetry
from connect.clock import Clock
from connect.discovery import ServiceRecord, capability_hash
from connect.discovery.advertise import ServiceAdvertiser
from connect.session import SessionServer, playback
from connect.wire import messages as m
from devices import resume
from devices._decoders import offered_codecs
from devices._group_member import GroupSide
from devices._live import LiveWatch
from devices._player_actions import async_carry_out
from devices._session_saving import SessionSaver
from devices._transfer_saving import ledger_writer
from devices.config import ReceiverConfig
from devices.errors import ReceiverError
from devices.failures import failure_from
from devices.health import HealthFile
from devices.player import Player
from devices.player_types import (
    LengthKnown,
    OutputStarted,
    PlaybackFailed,
    PlayerEvent,
    TrackChanged,
    TrackEnded,
)
from devices.transfer import TransferSide
from taskowner import TaskOwner
from tracing import attributes as a

_LOG = logging.getLogger("devices.receiver")  # the name it logged under before the split

CLOCK_TOLERANCE_MS = 5
"""A published clock further than this from the first sample really heard gets corrected."""


class ReceiverCore:
    """What a `Receiver` (devices/receiver.py) does between commands: events, publishing, mDNS."""

    config: ReceiverConfig
    clock: Clock
    lock: asyncio.Lock
    health_file: HealthFile
    _store: resume.ResumableStore
    _saver: SessionSaver
    _transfers: TransferSide
    _groups: GroupSide
    _live: LiveWatch
    _server: SessionServer
    _player: Player | None
    _advertiser: ServiceAdvertiser | None
    _tasks: TaskOwner
    _device_id: str
    _name: str
    _state: m.PlaybackState

    async def _carry_out(self, outcome: playback.Outcome) -> m.Failure | None:
        """Make the player match *outcome*; set the state; return a failure if the player failed."""
        self._state, failure = await async_carry_out(self._require_player(), outcome, self.clock)
        if failure is not None:
            self._playback_failed(failure)
        return failure

    def _following_url(self) -> str | None:
        """Return the URL of the item that plays after the current one (repeat and shuffle)."""
        state = self._state
        if state.repeat is m.RepeatMode.ONE:
            following = state.current_item
        else:
            following = playback.neighbour(state, +1, wrap=state.repeat is m.RepeatMode.ALL)
        return following.url if following is not None else None

    def _prepare_next(self) -> None:
        """Gapless: have the player open the item that follows the current one before it ends."""
        player = self._player
        if player is None or not self._is_playing() or self._state.live:
            return
        if self._groups.following:
            return  # the group's timeline says what follows (devices/_group_member.py)
        url = self._following_url()
        if url != player.next_url:  # None too: a next track the queue no longer has goes
            self._tasks.async_spawn(self._async_set_next(player, url), "gapless next")

    async def _async_set_next(self, player: Player, url: str | None) -> None:
        try:
            await player.async_set_next(url)
        except (ReceiverError, RuntimeError) as exc:  # RuntimeError: the thread closed
            _LOG.debug("no gapless next: %s", exc)

    def _playback_failed(self, failure: m.Failure) -> None:
        _LOG.warning("playback failed: %s", failure.message)
        telemetry.emit_event(a.EVENT_ERROR, {a.ERROR_TYPE: failure.code.name})

    def _on_player_event(self, event: PlayerEvent) -> None:
        self._transfers.on_player_event(event)
        self._groups.on_player_event(event)
        if self._groups.following and isinstance(event, TrackEnded | TrackChanged):
            return  # a follower's items are the leader's: its timelines say what comes next
        if isinstance(event, OutputStarted) and event.exact:
            self._tasks.async_spawn(self._realign_clock(event), "clock realignment")
        elif isinstance(event, TrackEnded):
            self._tasks.async_spawn(self._after_track_ended(event), "track end")
        elif isinstance(event, TrackChanged):
            self._tasks.async_spawn(self._after_track_changed(event), "gapless track change")
        elif isinstance(event, LengthKnown):
            self._tasks.async_spawn(self._learn_length(event), "length found")
        elif isinstance(event, PlaybackFailed):
            self._tasks.async_spawn(self._after_playback_failed(event), "playback failure")

    async def _realign_clock(self, started: OutputStarted) -> None:
        """Correct the published clock to the instant the first sample was really heard."""
        async with self.lock:
            state = self._state
            if state.status is not m.PlaybackStatus.PLAYING or not state.clock.playing:
                return
            if state.live:
                return  # its clock counts listening time, not the player's place in a stream
            drift = state.clock.position_at(started.at_us) - started.position_ms
            if abs(drift) <= CLOCK_TOLERANCE_MS:
                return
            clock = m.PlaybackClock(started.position_ms, started.at_us, state.clock.rate, True)
            self._state = replace(state, revision=state.revision + 1, clock=clock)
            self._publish(m.StateChangeReason.PLAYBACK, active=state.active)

    async def _after_track_ended(self, event: TrackEnded) -> None:
        async with self.lock:
            current = self._state.current_item
            if current is None or current.url != event.url:
                return  # a stale end from media already replaced
            if self._state.live and self._state.status is m.PlaybackStatus.PLAYING:
                # A live stream has no end: it dropped. Open it again (devices/_live.py).
                self._tasks.async_spawn(self._live.async_reconnect(event.url), "live reconnect")
                return
            outcome = playback.after_item_ended(self._state, self.clock())
            await self._carry_out(outcome)
            self._publish(m.StateChangeReason.PLAYBACK)

    async def _after_track_changed(self, event: TrackChanged) -> None:
        """Gapless: the next item's first sample was heard at the event's instant."""
        async with self.lock:
            current = self._state.current_item
            if current is None or current.url != event.previous_url:
                return  # a stale change from media already replaced
            outcome = playback.after_item_ended(self._state, event.at_us)
            following = outcome.state.current_item
            if following is not None and following.url == event.url:
                self._state = outcome.state  # the player plays it already, from that instant
            else:
                await self._carry_out(outcome)  # the queue changed meanwhile: play what it says
            self._publish(m.StateChangeReason.PLAYBACK)

    async def _learn_length(self, event: LengthKnown) -> None:
        """Put the length the player found into the state, for an item queued without one."""
        async with self.lock:
            known = playback.with_length(self._state, event.url, event.length_ms)
            if known is not None:  # a length never moves the session: `active` stays
                self._state = known
                self._publish(m.StateChangeReason.PLAYBACK, active=known.active)

    async def _after_playback_failed(self, event: PlaybackFailed) -> None:
        async with self.lock:
            failure = failure_from(event.error)
            _LOG.warning("playback of %s failed: %s", event.url, event.error)
            telemetry.emit_event(a.EVENT_ERROR, {a.ERROR_TYPE: failure.code.name})
            self._state = playback.after_failure(self._state, failure, self.clock())
            self._publish(m.StateChangeReason.ERROR)

    def _publish(
        self,
        reason: m.StateChangeReason,
        *,
        active: bool | None = None,
        queue_change: m.QueueChange | None = None,
    ) -> None:
        # A device that has a queue holds the session; a transfer says otherwise explicitly.
        if active is None:
            active = bool(self._state.queue)
        self._state = replace(self._state, active=active)
        telemetry.emit_event(
            a.EVENT_STATE_CHANGED,
            {
                a.SESSION_ID: self._state.session_id,
                a.REVISION: self._state.revision,
                a.REASON: reason.name,
            },
        )
        self._server.broadcast(m.StateSnapshot(self._state, reason, queue_change))
        self._groups.state_changed(self._state)
        self._prepare_next()
        self._saver.want_save()
        if self._advertiser is not None:
            self._tasks.async_spawn(
                self._advertiser.async_update(revision=self._state.revision), "mdns revision"
            )

    async def _resume_saved_session(self) -> None:
        """Play on from the saved position if the session was playing (devices/resume.py)."""
        decision = resume.decide(self._store.saved, self.config.resume_window, resume.Instant.now())
        _LOG.info("resume at start: %s (%s)", "yes" if decision.resume else "no", decision.reason)
        if decision.resume:
            async with self.lock:
                await self._carry_out(resume.resume_outcome(self._state, self.clock()))
                self._publish(m.StateChangeReason.RESTORED)

    def _ledger_to_save(self) -> Callable[[], None] | None:
        record = self._transfers.changed_ledger()
        return None if record is None else ledger_writer(self.config.state_dir, record)

    def _is_playing(self) -> bool:
        return self._state.status is m.PlaybackStatus.PLAYING

    def _output_volume(self, state: m.PlaybackState) -> int:
        return 0 if state.muted else state.volume

    def _service_record(self) -> ServiceRecord:
        return ServiceRecord(
            name=self._name,
            id=self._device_id,
            type=self.config.device_type,
            model="baton-receiver",
            revision=self._state.revision,
            caps_hash=capability_hash(offered_codecs()),
            pairing=self.config.pairing_mode,
        )

    def _new_advertiser(self) -> ServiceAdvertiser:
        advertiser = ServiceAdvertiser(self._service_record(), interfaces=self.config.interfaces)
        advertiser.watch_health(self.health_file.changed)
        return advertiser

    def _require_player(self) -> Player:
        if self._player is None:
            raise RuntimeError("receiver not started")
        return self._player
