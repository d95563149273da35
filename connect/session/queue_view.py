"""A controller's live view of a device's queue: a `QueueMirror` kept by one session.

`QueueView` follows the snapshots of a `DeviceConnection` into its mirror and fetches the
rows a screen needs (`async_fetch`), a page per missing span, so a list of 50 000 rows costs a
window per state change and a page per screenful scrolled to. Listeners hear when the rows may
have changed (a snapshot that changed the queue or its window, a page that arrived); they read
`length` and `item(i)` (None: not fetched yet, show a placeholder and fetch). Loop thread only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from connect.errors import ConnectError
from connect.session._connection_types import ConnectionEvent, StateChanged
from connect.session.connection import DeviceConnection
from connect.session.queue_mirror import QueueMirror
from connect.wire import messages as m

__all__ = ["QueueView"]

_LOG = logging.getLogger(__name__)


class QueueView:
    """The queue of the device *connection* talks to, as far as fetched (see the docstring)."""

    def __init__(self, connection: DeviceConnection) -> None:
        self._connection = connection
        self.mirror = QueueMirror()
        self._listeners: list[Callable[[], None]] = []
        self._unsubscribe = connection.subscribe(self._on_event)
        if connection.state is not None:  # already connected: start from what it shows
            self.mirror.update(m.StateSnapshot(connection.state))

    @property
    def length(self) -> int:
        """Return the number of items in the device's whole queue."""
        return self.mirror.length

    def item(self, index: int) -> m.QueueItem | None:
        """Return the item at *index*, or None while it is not fetched."""
        return self.mirror.item(index)

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call *listener* whenever the rows may have changed; return an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    async def async_fetch(self, start: int, stop: int) -> int:
        """Fetch the rows from *start* to *stop* not held yet; return how many arrived.

        A page of an older queue revision (the queue changed meanwhile) is dropped: the next
        snapshot says what changed, and a later call fetches again. Raises nothing: a device
        that cannot answer leaves the rows unfetched (logged at debug).
        """
        arrived = 0
        for span in self.mirror.missing(start, stop):
            try:
                page = await self._connection.async_queue_page(span.start, span.stop - span.start)
            except ConnectError as exc:
                _LOG.debug("%s: queue page %s: %s", self._connection.device_id, span, exc)
                break
            if page.failure is not None:
                _LOG.debug("%s: queue page refused: %s", self._connection.device_id, page.failure)
                break
            if self.mirror.add_page(page):
                arrived += len(page.items)
        if arrived:
            self._changed()
        return arrived

    def close(self) -> None:
        """Stop following the connection."""
        self._unsubscribe()
        self._listeners.clear()

    def _on_event(self, event: ConnectionEvent) -> None:
        # After a reconnect, the first snapshot says whether the queue is still the same.
        if isinstance(event, StateChanged) and self.mirror.update(event.snapshot):
            self._changed()

    def _changed(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:  # one broken view must not stop the others
                _LOG.exception("queue view listener failed")
