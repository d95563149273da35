"""Before a transfer's first message: both devices connected and checked, the machine's Plan.

What the devices would refuse is refused here, up front (the same device twice, roles, nothing
to move, a target that cannot play the item), so no target pre-rolls for a transfer that cannot
happen. A source whose session is down is given LOST_SOURCE_WAIT_S to come back; after that the
transfer goes on from its last known state (`source_reachable=False`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import replace

from connect.clock import ClockEstimate
from connect.controller import Controller
from connect.errors import AccessError, ConnectError
from connect.session.connection import ConnectionEvent, DeviceConnection
from connect.transfer.coordination import Plan
from connect.transfer.rules import transfer_mode, why_not_source, why_not_target
from connect.wire import messages as m
from connect.wire._checks import check_transfer_target

_LOG = logging.getLogger("connect.transfer.coordinator")

OFFER_DEADLINE_S = 3.0
LOST_SOURCE_WAIT_S = 0.5  # how long a source whose session dropped gets to reconnect


class StepFailedError(ConnectError):
    """Internal: a step failed; `failure` is what the caller is told."""

    def __init__(self, code: m.ErrorCode, message: str) -> None:
        super().__init__(message)
        self.failure = m.Failure(code, message)


class Preflight:
    """Connects to a transfer's two devices and checks it can be tried; builds its Plan."""

    def __init__(
        self,
        controller: Controller,
        transfer_id: str,
        source_id: str,
        target_id: str,
        timeout_s: float,
        listener: Callable[[ConnectionEvent], None],
    ) -> None:
        self.controller = controller
        self.transfer_id = transfer_id
        self.source_id, self.target_id = source_id, target_id
        self.timeout_s = timeout_s
        self.source_reachable = True
        self.holder = ""  # the device that holds the session, when the source does not
        self.mode_reason = ""  # why the transfer runs in its mode (rules.transfer_mode)
        self._listener = listener
        self.unsubscribe: list[Callable[[], None]] = []

    async def async_plan(self, options: m.TransferOptions, requested_at: int) -> Plan:
        """Connect and check; return the Plan, or raise StepFailedError saying why not."""
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
        refused = why_not_source(
            self.source_id, state, self._known_states(), reachable=self.source_reachable
        )
        if refused is not None:
            failure, holder = refused
            self.holder = holder
            where = f" any more: it is on {self.name(holder)} now" if holder else " any more"
            if holder == self.target_id:
                raise StepFailedError(failure.code, f"{self.name(holder)} has the music already")
            raise StepFailedError(
                failure.code, f"{self.name(self.source_id)} does not have the music{where}"
            )
        assert target.welcome is not None
        reason = why_not_target(target.welcome.device, state.current_item)
        if reason:
            raise StepFailedError(m.ErrorCode.MEDIA_UNSUPPORTED, reason)
        # Make-before-break only where both devices can start at an instant (rules.py).
        source_info = source.welcome.device if source.welcome is not None else None
        mode, self.mode_reason = transfer_mode(options.mode, source_info, target.welcome.device)
        if mode is not options.mode:
            _LOG.info("transfer %s: %s", self.transfer_id[:8], self.mode_reason)
        return Plan(
            transfer_id=self.transfer_id,
            source_id=self.source_id,
            target_id=self.target_id,
            options=replace(options, mode=mode, paused=options.paused or not state.clock.playing),
            state=state,
            src=_estimate(source),
            tgt=_estimate(target),
            requested_at=requested_at,
            timeout_us=round(self.timeout_s * 1e6),
            source_name=self.name(self.source_id),
            target_name=self.name(self.target_id),
            source_reachable=self.source_reachable,
            target_revision=target.state.revision if target.state else 0,
            target_address=target_address(self.controller, self.target_id),
            source_address=target_address(self.controller, self.source_id),
            names={e.id: e.name for e in self.controller.registry.entries() if e.name},
            mode_reason=self.mode_reason,
        )

    def _known_states(self) -> dict[str, m.PlaybackState]:
        """Return the last state this controller saw of each device it has a session with."""
        known = {}
        for entry in self.controller.registry.entries():
            conn = self.controller.known_connection(entry.id)
            if conn is not None and conn.state is not None:
                known[entry.id] = conn.state
        return known

    def name(self, device_id: str) -> str:
        """Return the device's name for messages the user reads (its id if unknown)."""
        entry = self.controller.registry.get(device_id)
        return entry.name if entry is not None and entry.name else device_id

    async def _connect(self, device_id: str, timeout_s: float | None = None) -> DeviceConnection:
        try:
            conn = await self.controller.async_connect(device_id, timeout_s or self.timeout_s)
        except AccessError as exc:  # not paired, or revoked: the device is there and says no
            raise StepFailedError(m.ErrorCode.UNAUTHENTICATED, str(exc)) from exc
        except ConnectError as exc:
            raise StepFailedError(
                m.ErrorCode.TIMEOUT, f"cannot reach {self.name(device_id)}: {exc}"
            ) from exc
        # Subscribed before anything is sent, so no reply can arrive unheard.
        self.unsubscribe.append(conn.subscribe(self._listener))
        if conn.clock is None or conn.clock.samples < 3:
            with contextlib.suppress(ConnectError):
                await conn.async_sync_clock(samples=3)
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
            _LOG.warning(
                "transfer %s: source unreachable, using its last known state", self.transfer_id
            )
            self.unsubscribe.append(conn.subscribe(self._listener))
            return conn

    def _check_roles(self, source: DeviceConnection, target: DeviceConnection) -> None:
        """Refuse up front what the devices would refuse (docs/security.md, Roles): no pre-roll
        on the target for a transfer the source will not let go of."""
        held = source.welcome.role if source.welcome and self.source_reachable else None
        if held in (m.Role.GUEST, m.Role.OBSERVER):
            assert held is not None
            raise StepFailedError(
                m.ErrorCode.FORBIDDEN,
                f"this controller is {held.name.lower()} on {self.name(self.source_id)}: only "
                "its owner or a controller may move its music away",
            )
        if target.welcome is not None and target.welcome.role is m.Role.OBSERVER:
            raise StepFailedError(
                m.ErrorCode.FORBIDDEN,
                f"this controller is observer on {self.name(self.target_id)}: it may not "
                "move music to it",
            )


def target_address(controller: Controller, target_id: str) -> tuple[str, str]:
    """Return where a source can ask the target about a transfer (empty if unknown).

    The address this controller reaches the target at; TLS pinned to its id iff the target is
    in pin mode, as this controller's own session to it.
    """
    entry = controller.registry.get(target_id)
    if entry is None:
        return "", ""
    try:
        endpoint = controller.endpoint(entry)
        address = target_id, endpoint.http_url("")
        check_transfer_target(*address)
    except (ConnectError, ValueError):
        return "", ""  # the source cannot ask it safely: it falls back to its hold
    return address


def _estimate(conn: DeviceConnection) -> ClockEstimate:
    if conn.clock is None:
        raise StepFailedError(m.ErrorCode.TIMEOUT, f"no clock estimate for {conn.device_id}")
    return conn.clock
