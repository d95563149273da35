"""The devices the app lists and the one it follows: their views, from the registry and sessions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from client.app import views as v
from client.app.access_desk import AccessDesk
from client.app.groups import where_playing
from client.app.local_device import LocalDevice
from client.app.queue_follow import QueueFollower
from client.app.rescue import playback_lost
from client.app.views import DeviceGone
from connect.clock import monotonic_us
from connect.controller import Controller
from connect.discovery import DeviceAdded, DeviceEntry, DeviceEvent, DeviceRemoved, DeviceUpdated
from connect.errors import AccessError
from connect.session import AccessDenied, Connected, ConnectionEvent, Disconnected, StateChanged
from connect.transfer import why_not_target
from connect.wire import messages as m


class DeviceFollowing:
    """The device cards and the followed session of an `AppCore` (client/app/core.py)."""

    controller: Controller
    local: LocalDevice
    access: AccessDesk
    queue: QueueFollower
    _emit: Callable[[object], None]
    _views: dict[str, v.DeviceView]
    _followed: str
    _lost: v.PlaybackLost | None
    _shown: v.SessionView | None

    # -------------------------------------------------------------------------- events

    def _on_device_event(self, event: DeviceEvent) -> None:
        entry = event.entry
        if entry.id == self._followed and not entry.online:
            # The registry hears of a goodbye or a dead heartbeat first, and may drop the
            # device from the list before its session's Disconnected arrives.
            self._followed_left(entry.id, entry.offline_reason)
        if isinstance(event, DeviceRemoved) or not entry.listed:
            if self._views.pop(entry.id, None) is not None:
                self._emit(DeviceGone(entry.id))
            return
        view = self._view_from_entry(entry)
        # A device that would refuse us gets no session until it is paired.
        wanted = not entry.id.startswith("manual:") and not view.locked
        if isinstance(event, DeviceAdded | DeviceUpdated) and wanted:
            self.controller.connection(entry.id)  # starts (once) the session
        self._put(view)

    def _on_connection_event(self, event: ConnectionEvent) -> None:
        view = self._views.get(event.device_id)
        if view is None:
            return
        if isinstance(event, Connected):
            if self._lost is not None and self._lost.device_id == event.device_id:
                self._lost = None  # it is back: a later departure is news again
            info = event.welcome.device
            view = self.access.on_connected(view, event.welcome)
            self._put(replace(view, info=info, online=True, why_not=self._verdict(info)))
        elif isinstance(event, AccessDenied):
            self._put(self.access.on_denied(view, event))
        elif isinstance(event, Disconnected):
            self._put(replace(view, online=False, offline_reason=event.reason, group=None))
            if event.device_id == self._followed:
                self._followed_left(event.device_id, event.reason)
        elif isinstance(event, StateChanged):
            state = event.snapshot.state
            self._put(
                replace(
                    view, active=state.active, status=state.status, volume=state.volume,
                    group=state.group,
                )
            )  # fmt: skip
            takes_over = state.status is m.PlaybackStatus.PLAYING and not self._followed_active()
            if state.active and (not self._followed or takes_over):
                self._followed = event.device_id
            if event.device_id == self._followed:
                self._emit_session(event.device_id, event.snapshot)

    def _followed_left(self, device_id: str, reason: str) -> None:
        """The playing device went away: say so at once, with what stopped (the screens
        offer to start it elsewhere), and stop the progress bar. Once per departure."""
        if self._lost is not None and self._lost.device_id == device_id:
            return
        conn = self.controller.known_connection(device_id)
        if conn is not None and isinstance(conn.stopped_by, AccessError):
            return  # it plays on, it just will not take our commands: not a departure
        # The session as last shown: a connection that ended may be gone, or be a fresh one.
        shown = (
            self._shown if self._shown is not None and self._shown.device_id == device_id else None
        )
        lost = playback_lost(
            device_id,
            self._name(device_id),
            reason,
            shown.state if shown else None,
            shown.estimate if shown else None,
            monotonic_us(),
        )
        if lost is None:
            return
        self._lost = lost
        self._emit(lost)
        self._emit(v.SessionView(device_id, lost.device_name, lost.state, None))

    def _verdict(self, info: m.DeviceInfo) -> str:
        state = self.controller.connection(self._followed).state if self._followed else None
        return why_not_target(info, state.current_item if state else None)

    def _followed_active(self) -> bool:
        view = self._views.get(self._followed)
        return view is not None and view.active

    def _follow(self, device_id: str) -> None:
        self._followed = device_id
        conn = self.controller.connection(device_id)
        if conn.state is not None:
            self._emit_session(device_id, m.StateSnapshot(conn.state))

    def _emit_session(self, device_id: str, snapshot: m.StateSnapshot) -> None:
        self.queue.follow(device_id)
        item = snapshot.state.current_item
        for view in list(self._views.values()):
            verdict = why_not_target(view.info, item) if view.info is not None else ""
            self._put(replace(view, why_not=verdict))
        conn = self.controller.connection(device_id)
        # Where it plays, for every screen: the group's name when it leads or follows one.
        where = where_playing(self._views.values(), device_id, self._name(device_id))
        self._shown = v.SessionView(device_id, where, snapshot.state, conn.clock, snapshot.reason)
        self._emit(self._shown)

    def _put(self, view: v.DeviceView) -> None:
        if self._views.get(view.id) != view:
            self._views[view.id] = view
            self._emit(view)

    def _view_from_entry(self, entry: DeviceEntry) -> v.DeviceView:
        old = self._views.get(entry.id)
        port = entry.port
        host = entry.addresses[0] if entry.addresses else ""
        view = v.DeviceView(
            id=entry.id,
            name=entry.name,
            type=entry.type,
            online=entry.online,
            address=f"{host}:{port}" if host else "",
            last_seen=entry.last_seen,
            is_local=entry.id == self.local.device_id and bool(entry.id),
            offline_reason=entry.offline_reason,
        )
        if old is not None:
            view = replace(
                view, info=old.info, active=old.active, status=old.status, why_not=old.why_not,
                volume=old.volume, group=old.group,
            )  # fmt: skip
        return self.access.view_access(view, entry)

    def _named(self, text: str) -> str:
        """Return *text* with device ids replaced by device names (for the listener)."""
        for view in self._views.values():
            text = text.replace(view.id, view.name)
        return text

    def _name(self, device_id: str) -> str:
        view = self._views.get(device_id)
        return view.name if view else device_id[:8]
