"""One transfer's steps, for connect.transfer: offer, pre-roll, commit, done, and faults."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from connect import messages as m
from connect import telemetry
from connect._checks import check_transfer_target
from connect.clock import Clock, ClockEstimate
from connect.connection import ConnectionEvent, DeviceConnection, Disconnected, TransferReply
from connect.controller import Controller
from connect.errors import AccessError, ConnectError, ConnectionLostError
from tracing import attributes as a

_LOG = logging.getLogger(__name__)

OFFER_DEADLINE_S = 3.0
COMMIT_LEAD_US = 60_000  # the least time between sending Commit and the switch instant
ACK_MARGIN_US = 10_000  # the source's acknowledgement must come this long before the target's lead
LOST_SOURCE_WAIT_S = 0.5  # how long a source whose session dropped gets to reconnect
DONE_TIMEOUT_S = 3.0  # after the switch instant, how long the target has to report Done
DEFAULT_OPTIONS = m.TransferOptions()

_CODECS_BY_TYPE = {
    "audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/mpeg": "mp3",
    "audio/flac": "flac", "audio/x-flac": "flac", "audio/ogg": "ogg", "audio/opus": "opus",
    "audio/aac": "aac", "audio/mp4": "aac",
}  # fmt: skip


@dataclass(frozen=True)
class TransferOutcome:
    """How a transfer ended: ok, or the failure, with timings when the target started."""

    transfer_id: str
    mode: m.TransferMode
    source_id: str
    target_id: str
    failure: m.Failure | None = None
    timings: m.TransferTimings | None = None
    # False: the source could not be reached; a success went on from its last known state,
    # a failure left it as it was (playing, if it was)
    source_reachable: bool = True
    rolled_back: bool = False  # the target failed after commit and the source resumed
    revision: int = 0  # the session's revision on the target

    @property
    def ok(self) -> bool:
        """Return True when the target now plays the session."""
        return self.failure is None


def codec_of(item: m.QueueItem) -> str:
    """Return the codec name of an item from its content type or URL ("" if unknown)."""
    if item.content_type:
        return _CODECS_BY_TYPE.get(item.content_type.split(";")[0].strip().lower(), "")
    path = item.url.split("?", 1)[0].rsplit("/", 1)[-1]
    return path.rsplit(".", 1)[-1].lower() if "." in path else ""


def why_not_target(device: m.DeviceInfo, item: m.QueueItem | None) -> str:
    """Return why *device* cannot take *item* over ("" if it can), in plain words."""
    if not device.capabilities.transfer_target:
        return f"{device.name} does not take transfers"
    if item is None:
        return ""
    codec = codec_of(item)
    if codec and codec not in device.capabilities.audio_codecs:
        return f"{device.name} cannot play {codec} audio"
    return ""


class StepFailedError(ConnectError):
    """Internal: a step failed; `failure` is what the caller is told."""

    def __init__(self, code: m.ErrorCode, message: str) -> None:
        super().__init__(message)
        self.failure = m.Failure(code, message)


class TransferRun:
    """One transfer's state: its connections, replies and instants (all in the local clock)."""

    def __init__(
        self,
        controller: Controller,
        clock: Clock,
        tid: str,
        source_id: str,
        target_id: str,
        options: m.TransferOptions,
        timeout_s: float,
    ) -> None:
        self.controller, self.clock, self.tid = controller, clock, tid
        self.source_id, self.target_id, self.options = source_id, target_id, options
        self.timeout_s = timeout_s
        self.requested_at = clock()
        self.replies: dict[tuple[str, type], asyncio.Future[m.Body]] = {}
        self.source_reachable = True
        self.rolled_back = False
        self.revision = 0
        self._unsubscribe: list[Callable[[], None]] = []

    def outcome(
        self, *, failure: m.Failure | None = None, timings: m.TransferTimings | None = None
    ) -> TransferOutcome:
        return TransferOutcome(
            self.tid, self.options.mode, self.source_id, self.target_id, failure, timings,
            self.source_reachable, self.rolled_back, self.revision,
        )  # fmt: skip

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        for future in self.replies.values():
            if future.done() and not future.cancelled():
                # A reply failed by a lost session that no step went on to await: its error
                # is known (the outcome says what happened), not "never retrieved".
                future.exception()
            future.cancel()

    # -------------------------------------------------------------------------- steps

    async def execute(self) -> TransferOutcome:
        if self.source_id == self.target_id:
            raise StepFailedError(
                m.ErrorCode.INVALID_ARGUMENT, "source and target are the same device"
            )
        target = await self._connect(self.target_id)
        source = await self._source()
        self._check_roles(source, target)
        state = source.state
        if state is None or state.current_item is None:
            raise StepFailedError(
                m.ErrorCode.INVALID_ARGUMENT, "the source has nothing to transfer"
            )
        assert target.welcome is not None
        reason = why_not_target(target.welcome.device, state.current_item)
        if reason:
            raise StepFailedError(m.ErrorCode.MEDIA_UNSUPPORTED, reason)
        options = replace(self.options, paused=self.options.paused or not state.clock.playing)
        # Every reply gets its future before anything is sent, so none can arrive unheard.
        for device_id, kind in (
            (self.target_id, m.TransferReady),
            (self.target_id, m.TransferRejected),
            (self.target_id, m.TransferDone),
            (self.source_id, m.TransferReady),
            (self.source_id, m.TransferRejected),
            (self.source_id, m.TransferDone),
        ):
            self._expect(device_id, kind)
        if options.mode is m.TransferMode.STOP_FIRST:
            return await self._stop_first(source, target, state, options)
        return await self._handoff(source, target, state, options)

    async def _handoff(
        self,
        source: DeviceConnection,
        target: DeviceConnection,
        state: m.PlaybackState,
        options: m.TransferOptions,
    ) -> TransferOutcome:
        src, tgt = self._estimate(source), self._estimate(target)
        ready = await self._offer(target, state, options, src, tgt, source)
        ready_at = self.clock()
        switch_at, position = self._switch(state, src, tgt, ready, options)
        self.revision = max(state.revision, (target.state.revision if target.state else 0)) + 1
        if not target.connected:  # it died after Ready: nothing has changed anywhere yet
            raise StepFailedError(
                m.ErrorCode.TIMEOUT, f"lost {self._name(self.target_id)} after it was ready"
            )
        if self.source_reachable and not source.connected:
            self._lose_source("it went away during the offer")
        if self.source_reachable:
            await self._commit_source(source, target, src, switch_at, position, options, ready)
        try:
            await self._commit(
                target, m.TransferRole.TARGET, tgt.to_device(switch_at), position, options
            )
        except StepFailedError:
            await self._roll_back(source, "the target went away at the switch")
            raise StepFailedError(
                m.ErrorCode.TIMEOUT, f"{self._name(self.target_id)} did not start playing"
            ) from None
        target_done = await self._target_done(source, switch_at)
        source_done = await self._source_done(source, options)
        timings = self._timings(ready_at, target_done, tgt, source_done, src)
        return self.outcome(timings=timings)

    async def _commit_source(
        self,
        source: DeviceConnection,
        target: DeviceConnection,
        src: ClockEstimate,
        switch_at: int,
        position: int,
        options: m.TransferOptions,
        ready: m.TransferReady,
    ) -> None:
        """Commit the source first and wait for its acknowledgement (a TransferReady).

        The target is committed only once the source has promised to fade out, so a source
        that cannot hear the commit (a dropped link) keeps the music: the target is called off.
        A source known to be gone (its session closed) is not waited for: the target takes
        over from its last known state.
        """
        ack = self._expect(self.source_id, m.TransferReady)
        refused = self._expect(self.source_id, m.TransferRejected)
        try:
            await self._commit(
                source, m.TransferRole.SOURCE, src.to_device(switch_at), position, options,
                ask=self._target_address(),
            )  # fmt: skip
        except StepFailedError:
            self._lose_source("it went away before the commit")
            return
        # The target still needs its start lead after hearing its own commit.
        ack_by = switch_at - ready.start_lead_us - ACK_MARGIN_US
        done, _ = await asyncio.wait(
            {ack, refused},
            timeout=max(0.0, (ack_by - self.clock()) / 1e6),
            return_when=asyncio.FIRST_COMPLETED,
        )
        if ack in done and ack.exception() is None:
            return
        code = m.ErrorCode.TIMEOUT
        if refused in done and refused.exception() is None:
            body = refused.result()
            assert isinstance(body, m.TransferRejected)
            code = body.failure.code  # e.g. FORBIDDEN: say so, not "timeout"
            why = f"{self._name(self.source_id)} refused the switch: {body.failure.message}"
        elif done:  # its session closed: the device is gone, the target takes over
            self._lose_source("it went away during the commit")
            return
        else:
            self.source_reachable = False
            why = (
                f"{self._name(self.source_id)} did not confirm the switch in time; it keeps playing"
            )
        await self._abort(target, code, why)
        await self._abort(source, code, why)
        raise StepFailedError(code, why)

    def _lose_source(self, why: str) -> None:
        self.source_reachable = False
        telemetry.phase("source unreachable")
        _LOG.warning(
            "transfer %s: source %s unreachable (%s); going on from its last known state",
            self.tid[:8], self.source_id, why,
        )  # fmt: skip

    async def _roll_back(self, source: DeviceConnection, why: str) -> None:
        """Tell a committed source to resume (it holds the media paused until told)."""
        if self.source_reachable:
            await self._abort(source, m.ErrorCode.TIMEOUT, why)
            self.rolled_back = True
            telemetry.phase("rolled back")

    async def _stop_first(
        self,
        source: DeviceConnection,
        target: DeviceConnection,
        state: m.PlaybackState,
        options: m.TransferOptions,
    ) -> TransferOutcome:
        src, tgt = self._estimate(source), self._estimate(target)
        stop = replace(options, fade_ms=0)
        await self._commit(source, m.TransferRole.SOURCE, src.to_device(self.clock()), 0, stop)
        source_done = await self._source_done(source, options, confirm=False)
        if source_done is not None:
            frozen = m.PlaybackClock(source_done.position_ms, source_done.edge_at_us, 1.0, False)
            state = replace(state, clock=frozen, status=m.PlaybackStatus.PAUSED)
        ready = await self._offer(target, state, stop, src, tgt, source)
        ready_at = self.clock()
        self.revision = max(state.revision, (target.state.revision if target.state else 0)) + 1
        paused = options.paused
        start = self.clock() + max(COMMIT_LEAD_US, ready.start_lead_us)
        play = replace(stop, paused=paused)
        await self._commit(
            target, m.TransferRole.TARGET, tgt.to_device(start), ready.prerolled_position_ms, play
        )
        target_done = await self._target_done(source, start)
        await self._confirm(source)
        timings = self._timings(ready_at, target_done, tgt, source_done, src)
        return self.outcome(timings=timings)

    # -------------------------------------------------------------------------- pieces

    async def _connect(self, device_id: str, timeout_s: float | None = None) -> DeviceConnection:
        try:
            conn = await self.controller.async_connect(device_id, timeout_s or self.timeout_s)
        except AccessError as exc:  # not paired, or revoked: the device is there and says no
            raise StepFailedError(m.ErrorCode.UNAUTHENTICATED, str(exc)) from exc
        except ConnectError as exc:
            raise StepFailedError(
                m.ErrorCode.TIMEOUT, f"cannot reach {self._name(device_id)}: {exc}"
            ) from exc
        self._unsubscribe.append(conn.subscribe(self._on_event))
        if conn.clock is None or conn.clock.samples < 3:
            with contextlib.suppress(ConnectError):
                await conn.sync_clock(samples=3)
        return conn

    async def _source(self) -> DeviceConnection:
        """Connect to the source; if it is unreachable, go on from its last known state."""
        known = self.controller.connection(self.source_id)
        # A source whose session was up and is now down is most likely gone (a dead process, a
        # lost link): give it a moment to come back, not the listener's full patience.
        lost = known.state is not None and not known.connected
        try:
            return await self._connect(
                self.source_id, min(self.timeout_s, LOST_SOURCE_WAIT_S) if lost else None
            )
        except StepFailedError as exc:
            if exc.failure.code is m.ErrorCode.UNAUTHENTICATED:
                raise  # a source refusing us is not gone: it plays on, so must not the target
            conn = self.controller.connection(self.source_id)
            if conn.state is None or conn.clock is None:
                raise
            self.source_reachable = False
            _LOG.warning("transfer %s: source unreachable, using its last known state", self.tid)
            return conn

    def _check_roles(self, source: DeviceConnection, target: DeviceConnection) -> None:
        """Refuse up front what the devices would refuse (docs/security.md, Roles): no pre-roll
        on the target for a transfer the source will not let go of."""
        held = source.welcome.role if source.welcome and self.source_reachable else None
        if held in (m.Role.GUEST, m.Role.OBSERVER):
            assert held is not None
            raise StepFailedError(
                m.ErrorCode.FORBIDDEN,
                f"this controller is {held.name.lower()} on {self._name(self.source_id)}: only "
                "its owner or a controller may move its music away",
            )
        if target.welcome is not None and target.welcome.role is m.Role.OBSERVER:
            raise StepFailedError(
                m.ErrorCode.FORBIDDEN,
                f"this controller is observer on {self._name(self.target_id)}: it may not "
                "move music to it",
            )

    def _estimate(self, conn: DeviceConnection) -> ClockEstimate:
        if conn.clock is None:
            raise StepFailedError(m.ErrorCode.TIMEOUT, f"no clock estimate for {conn.device_id}")
        return conn.clock

    async def _offer(
        self,
        target: DeviceConnection,
        state: m.PlaybackState,
        options: m.TransferOptions,
        src: ClockEstimate,
        tgt: ClockEstimate,
        source: DeviceConnection,
    ) -> m.TransferReady:
        as_of = tgt.to_device(src.to_local(state.clock.as_of_us))
        offered = replace(state, clock=replace(state.clock, as_of_us=as_of))
        deadline = tgt.to_device(self.clock() + round(self.timeout_s * 1e6))
        offer = m.TransferOffer(self.tid, offered, options, self.source_id, deadline, state.volume)
        ready = self._expect(self.target_id, m.TransferReady)
        rejected = self._expect(self.target_id, m.TransferRejected)
        await self._send(target, offer)
        done, _ = await asyncio.wait(
            {ready, rejected}, timeout=self.timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
        if any(future.exception() is not None for future in done):
            raise StepFailedError(
                m.ErrorCode.TIMEOUT, f"lost {self._name(self.target_id)} during the offer"
            )
        if rejected in done:
            body = rejected.result()
            assert isinstance(body, m.TransferRejected)
            raise StepFailedError(
                body.failure.code, f"{self._name(self.target_id)} refused: {body.failure.message}"
            )
        if ready not in done:
            await self._abort(target, m.ErrorCode.TIMEOUT, "the target was not ready in time")
            raise StepFailedError(
                m.ErrorCode.TIMEOUT, f"{self._name(self.target_id)} was not ready in time"
            )
        body = ready.result()
        assert isinstance(body, m.TransferReady)
        telemetry.phase("target ready", {a.TRANSFER_ROLE: "target"})
        return body

    def _switch(
        self,
        state: m.PlaybackState,
        src: ClockEstimate,
        tgt: ClockEstimate,
        ready: m.TransferReady,
        options: m.TransferOptions,
    ) -> tuple[int, int]:
        """Return the switch instant (local clock) and the content position to be heard then."""
        # Room for the source's commit and acknowledgement, then the target's commit and lead.
        round_trips = 2 * src.delay_us + tgt.delay_us
        lead = ready.start_lead_us + ACK_MARGIN_US + round_trips
        earliest = self.clock() + max(COMMIT_LEAD_US, lead)
        clock = state.clock
        if options.paused or not clock.playing:
            return earliest, ready.prerolled_position_ms
        # When does the source's clock reach the pre-rolled position?
        reach = src.to_local(
            clock.as_of_us
            + round((ready.prerolled_position_ms - clock.position_ms) * 1000 / clock.rate)
        )
        if reach >= earliest:
            return reach, ready.prerolled_position_ms
        # Ready came too late for that position: switch as soon as possible further on (the
        # target seeks there; slower, still continuous).
        return earliest, clock.position_at(src.to_device(earliest))

    async def _commit(
        self,
        conn: DeviceConnection,
        role: m.TransferRole,
        switch_at: int,
        position: int,
        options: m.TransferOptions,
        *,
        ask: tuple[str, str] = ("", ""),
    ) -> None:
        """Send a Commit; *ask* is the target's (device id, base URL) for a source to ask."""
        commit = m.TransferCommit(
            self.tid, role, switch_at, position,
            0 if options.paused else options.fade_ms, options.source_after, self.revision,
            *ask,
        )  # fmt: skip
        await self._send(conn, commit)

    def _target_address(self) -> tuple[str, str]:
        """Return where the source can ask the target about this transfer (empty if unknown).

        The address this controller reaches the target at; TLS pinned to its id iff the
        target is in pin mode, as this controller's own session to it.
        """
        entry = self.controller.registry.get(self.target_id)
        if entry is None:
            return "", ""
        try:
            endpoint = self.controller.endpoint(entry)
            address = self.target_id, endpoint.http_url("")
            check_transfer_target(*address)
        except (ConnectError, ValueError):
            return "", ""  # the source cannot ask it safely: it falls back to its hold
        return address

    async def _target_done(self, source: DeviceConnection | None, switch_at: int) -> m.TransferDone:
        """Wait for the target's Done; if it never comes, roll the source back and fail."""
        done = self._expect(self.target_id, m.TransferDone)
        wait_s = max(0.0, (switch_at - self.clock()) / 1e6) + DONE_TIMEOUT_S
        try:
            body = await asyncio.wait_for(done, wait_s)
        except (TimeoutError, ConnectionLostError):
            target = self.controller.connection(self.target_id)
            await self._abort(target, m.ErrorCode.TIMEOUT, "it did not start in time")
            if source is not None:
                await self._roll_back(source, "the target did not start")
            raise StepFailedError(
                m.ErrorCode.TIMEOUT,
                # `rolled_back` says whether the source took the session back.
                f"{self._name(self.target_id)} did not start playing",
            ) from None
        assert isinstance(body, m.TransferDone)
        # The revision the target really gave the session (its own may have been ahead of
        # what this controller had seen of it).
        self.revision = body.revision or self.revision
        telemetry.phase("target playing", {a.TRANSFER_ROLE: "target", a.REVISION: self.revision})
        return body

    async def _source_done(
        self, source: DeviceConnection, options: m.TransferOptions, *, confirm: bool = True
    ) -> m.TransferDone | None:
        """Collect the source's Done (None if it is gone), and confirm the switch to it."""
        if not self.source_reachable:
            return None
        future = self._expect(self.source_id, m.TransferDone)
        try:
            body = await asyncio.wait_for(future, DONE_TIMEOUT_S + options.fade_ms / 1000)
        except (TimeoutError, ConnectionLostError):
            return None
        assert isinstance(body, m.TransferDone)
        telemetry.phase("source silent", {a.TRANSFER_ROLE: "source"})
        if confirm:
            await self._confirm(source)
        return body

    async def _confirm(self, source: DeviceConnection) -> None:
        """Tell the source the target plays: it may let go now (stop, or stay paused)."""
        if self.source_reachable:
            with contextlib.suppress(ConnectError):
                await self._send(source, m.TransferDone(self.tid, m.TransferRole.SOURCE, 0))

    def _timings(
        self,
        ready_at: int,
        target: m.TransferDone,
        tgt: ClockEstimate,
        source: m.TransferDone | None,
        src: ClockEstimate,
    ) -> m.TransferTimings:
        audible = tgt.to_local(target.edge_at_us)
        gap_us, position_error = 0, 0
        if source is not None:
            silent = src.to_local(source.edge_at_us)
            gap_us = audible - silent
            # What the source would have been playing at the target's first instant.
            expected = source.position_ms + (audible - silent) // 1000
            position_error = target.position_ms - expected
        return m.TransferTimings(
            request_to_ready_ms=max(0, (ready_at - self.requested_at) // 1000),
            ready_to_audible_ms=max(0, (audible - ready_at) // 1000),
            request_to_audible_ms=max(0, (audible - self.requested_at) // 1000),
            gap_us=gap_us,
            position_error_ms=position_error,
        )

    def _name(self, device_id: str) -> str:
        """Return the device's name for messages the user reads (its id if unknown)."""
        entry = self.controller.registry.get(device_id)
        return entry.name if entry is not None and entry.name else device_id

    async def _abort(self, conn: DeviceConnection, code: m.ErrorCode, why: str) -> None:
        with contextlib.suppress(ConnectError):
            await self._send(conn, m.TransferAborted(self.tid, m.Failure(code, why)))

    async def _send(self, conn: DeviceConnection, body: m.Body) -> None:
        try:
            await conn.send(body)
        except ConnectError as exc:
            raise StepFailedError(
                m.ErrorCode.TIMEOUT, f"lost {self._name(conn.device_id)}: {exc}"
            ) from exc

    # -------------------------------------------------------------------------- replies

    def _expect(self, device_id: str, kind: type) -> asyncio.Future[m.Body]:
        """Return the future for a reply, made once: a reply that came early stays answered."""
        key = (device_id, kind)
        if key not in self.replies:
            self.replies[key] = asyncio.get_running_loop().create_future()
        return self.replies[key]

    def _on_event(self, event: ConnectionEvent) -> None:
        if isinstance(event, TransferReply) and event.body.transfer_id == self.tid:
            future = self.replies.get((event.device_id, type(event.body)))
            if future is not None and not future.done():
                future.set_result(event.body)
        elif isinstance(event, Disconnected):
            # Fail whatever waits on that device, at once rather than at its timeout.
            for (device_id, _), future in self.replies.items():
                if device_id == event.device_id and not future.done():
                    future.set_exception(ConnectionLostError(f"{device_id} disconnected"))
