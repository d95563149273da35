"""The thread that ships encoded OTLP requests to the collector, in order, spooling them to
disk while the collector is away and replaying them, oldest first, when it is back."""

from __future__ import annotations

import enum
import logging
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Iterable
from typing import Any

from tracing import attributes as a
from tracing.spool import Spool

_LOG = logging.getLogger("tracing.setup")  # the name users know these lines by

SIGNALS = ("traces", "logs")
MAX_PENDING = 1000  # batches waiting for the shipper in memory; more drop the oldest


class _Outcome(enum.Enum):
    DELIVERED = "delivered"
    REFUSED = "refused"  # 400/413/415: sending it again cannot help
    TRANSIENT = "transient"  # not reachable, time-out, 5xx, 429, 401/403: keep it, retry


class Shipper:
    """One thread that sends batches in order, spooling them while the collector is away."""

    def __init__(
        self,
        base_url: str,
        spool: Spool,
        headers: dict[str, str],
        *,
        timeout_s: float,
        retry_s: tuple[float, float],
    ) -> None:
        self.spool = spool
        self._headers = {
            **headers,
            "Content-Type": "application/x-protobuf",
            "Content-Encoding": "gzip",
        }
        self._refused_token = False
        self.events: Any = None  # a Logger for the "dropped" report, set by setup
        self.dropped = 0  # memory-queue overflows and refused batches (the spool counts its own)
        self._urls = {signal: f"{base_url}/v1/{signal}" for signal in SIGNALS}
        self._timeout_s = timeout_s
        self._first_s, self._ceiling_s = retry_s  # the first retry's delay, and the longest
        # No proxy: the collector is on this machine or the local network by design.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._cond = threading.Condition()
        self._pending: deque[tuple[str, bytes]] = deque()
        self._spooled = len(spool) > 0  # batches from an earlier run wait to be replayed
        self._retry_at = 0.0
        self._delay_s = 0.0
        self._forced = self._closing = self._stopped = self._busy = False
        self._rounds = 0
        self._healthy = True
        self._reported_drops = spool.dropped
        self._thread = threading.Thread(target=self._run, name="baton-trace-shipper", daemon=True)
        self._thread.start()

    def submit(self, signal: str, body: bytes) -> None:
        """Queue one encoded request (any thread); never blocks on the network."""
        with self._cond:
            if len(self._pending) >= MAX_PENDING:
                self._pending.popleft()
                self.dropped += 1
            self._pending.append((signal, body))
            self._cond.notify()

    def flush(self, timeout_s: float) -> bool:
        """Try to deliver everything now, ignoring the back-off; True if nothing is left."""
        with self._cond:
            if self._stopped:
                return False
            self._forced = True
            # A round under way may have begun before the collector came back: wait for a
            # round that begins now.
            target = self._rounds + (2 if self._busy else 1)
            self._cond.notify()

            def settled() -> bool:
                # A round that began before this call may leave newer batches queued: those
                # get the next round, unless the collector just proved unreachable.
                idle = not self._busy and not self._pending
                return self._stopped or (self._rounds >= target and (idle or not self._healthy))

            self._cond.wait_for(settled, timeout_s)
            return self._rounds >= target and self._healthy and not self._pending and not self._busy

    def close(self, timeout_s: float) -> None:
        """Send (or spool) what is queued, then stop; the spool is closed by the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            _LOG.warning("trace shipper did not stop within %.1f s", timeout_s)

    # ------------------------------------------------------------ the thread

    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    while not self._has_work():
                        self._cond.wait(self._idle_timeout())
                    batch = list(self._pending)
                    self._pending.clear()
                    self._busy = True
                    forced, closing = self._forced, self._closing
                    self._forced = False
                if time.monotonic() < self._retry_at and not forced:
                    self._park(batch)  # known to be away: keep the order, try at retry time
                    ok = False
                else:
                    ok = self._deliver(batch)
                with self._cond:
                    self._healthy = ok
                    self._rounds += 1
                    self._busy = False
                    self._cond.notify_all()
                if ok:
                    self._report_drops()
                if closing:
                    return
        finally:
            self.spool.close()
            with self._cond:
                self._stopped = True
                self._cond.notify_all()

    def _has_work(self) -> bool:
        due = self._spooled and time.monotonic() >= self._retry_at
        return self._closing or self._forced or bool(self._pending) or due

    def _idle_timeout(self) -> float | None:
        return max(0.0, self._retry_at - time.monotonic()) if self._spooled else None

    def _deliver(self, batch: list[tuple[str, bytes]]) -> bool:
        """Replay the spool oldest first, then send *batch*; spool what could not go."""
        replayed = 0
        while self._spooled and (stored := self.spool.oldest()) is not None:
            outcome = self._post(stored.signal, stored.body)
            if outcome is _Outcome.TRANSIENT:
                self._park(batch)
                self._back_off()
                return False
            self.spool.remove(stored.id)
            replayed += 1
        if replayed:
            _LOG.info("trace collector reachable again: replayed %d spooled batch(es)", replayed)
        for index, (signal, body) in enumerate(batch):
            if self._post(signal, body) is _Outcome.TRANSIENT:
                self._park(batch[index:])
                self._back_off()
                return False
        self._spooled = False
        self._delay_s = self._retry_at = 0.0
        return True

    def _post(self, signal: str, body: bytes) -> _Outcome:
        request = urllib.request.Request(  # noqa: S310  (the scheme is checked by _base_url)
            self._urls[signal],
            data=body,
            method="POST",
            headers=self._headers,
        )
        try:
            with self._opener.open(request, timeout=self._timeout_s) as response:
                response.read()
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            exc.close()
            status = exc.code
        except (OSError, ValueError) as exc:  # refused, unreachable, timed out, reset
            if self._delay_s == 0.0:
                _LOG.warning(
                    "trace collector %s unreachable (%s): spooling", self._urls[signal], exc
                )
            return _Outcome.TRANSIENT
        if 200 <= status < 300:
            self._refused_token = False
            return _Outcome.DELIVERED
        if status in (401, 403):
            if not self._refused_token:
                _LOG.warning(
                    "trace collector %s refused this device's ingest token (HTTP %d): "
                    "spooling until it accepts one (trace-token, baton-traces ingest add)",
                    self._urls[signal],
                    status,
                )
                self._refused_token = True
            return _Outcome.TRANSIENT
        if status in (400, 413, 415):
            _LOG.warning("trace collector refused a batch (HTTP %d): dropped", status)
            self.dropped += 1
            return _Outcome.REFUSED
        return _Outcome.TRANSIENT

    def _park(self, batch: Iterable[tuple[str, bytes]]) -> None:
        for signal, body in batch:
            self.spool.append(signal, body)
            self._spooled = True

    def _back_off(self) -> None:
        self._delay_s = min(self._ceiling_s, self._delay_s * 2) if self._delay_s else self._first_s
        self._retry_at = time.monotonic() + self._delay_s

    def _report_drops(self) -> None:
        # Loss made visible in the viewer, once the collector can hear about it.
        total = self.spool.dropped + self.dropped
        if total > self._reported_drops and self.events is not None:
            self.events.emit(
                event_name=a.EVENT_ERROR,
                attributes={
                    a.EVENT_NAME: a.EVENT_ERROR,
                    a.ERROR_TYPE: "trace_batches_dropped",
                    a.SPOOL_DROPPED: total - self._reported_drops,
                },
            )
        self._reported_drops = max(self._reported_drops, total)
