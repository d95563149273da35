"""The followed device's whole queue for the screens, however long: the core's side.

A queue may hold 50 000 items while a snapshot carries a window of 64 (docs/architecture.md,
"Queues as large as a library"). `QueueFollower` keeps the controller's `QueueView` of the
followed device on the core's loop and sends its rows to the screens as `QueueRows` each time
they may have changed (a snapshot moved the window or edited the queue, a page arrived); the
screens' list model asks for the rows it lacks (`async_fetch`), a page per screenful. Loop
thread only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from client.app.views import QueueRows
from connect.controller import Controller
from connect.session import DeviceConnection
from connect.session.queue_view import QueueView

_LOG = logging.getLogger(__name__)

Emit = Callable[[object], None]


class QueueFollower:
    """One `QueueView` at a time, of the device the app follows (see the module docstring)."""

    def __init__(self, controller: Controller, emit: Emit) -> None:
        self._controller = controller
        self._emit = emit
        self._device = ""
        self._view: QueueView | None = None
        self._session: DeviceConnection | None = None  # the connection the view follows
        self._unsubscribe: Callable[[], None] = lambda: None
        self._in_flight: set[tuple[int, int]] = set()  # spans asked for and not answered

    @property
    def device_id(self) -> str:
        """Return the id of the device whose queue is followed ("" when none)."""
        return self._device

    def follow(self, device_id: str) -> None:
        """Follow *device_id*'s queue (a no-op when it is followed already on its session)."""
        connection = self._controller.known_connection(device_id) if device_id else None
        if self._view is not None and device_id == self._device and connection is self._session:
            return
        self.close()
        if not device_id:
            return
        self._device = device_id
        self._view = self._controller.queue_view(device_id)
        self._session = self._controller.known_connection(device_id)
        self._unsubscribe = self._view.subscribe(self._changed)
        self._changed()

    async def async_fetch(self, device_id: str, start: int, stop: int) -> None:
        """Fetch the rows *start* to *stop* of *device_id*'s queue if it is the one followed.

        The rows arrive as `QueueRows` through the view's listener; a span already asked
        for is not asked again until its answer is in.
        """
        view = self._view
        span = (start, stop)
        if view is None or device_id != self._device or span in self._in_flight:
            return
        self._in_flight.add(span)
        try:
            await view.async_fetch(start, stop)
        finally:
            self._in_flight.discard(span)

    def close(self) -> None:
        """Stop following (idempotent)."""
        self._unsubscribe()
        self._unsubscribe = lambda: None
        if self._view is not None:
            self._view.close()
        self._view = self._session = None
        self._device = ""
        self._in_flight.clear()

    def _changed(self) -> None:
        view = self._view
        if view is None:
            return
        mirror = view.mirror
        self._emit(QueueRows(self._device, mirror.session_id, mirror.revision, tuple(mirror)))
