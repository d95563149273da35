"""`tracing.setup`: a process's OpenTelemetry SDK, sending OTLP/HTTP protobuf to the collector.

Import and call it only when the user asked for tracing (`--trace-endpoint URL`): the SDK takes
about 100 ms to import, and with no SDK configured the instrumentation (OpenTelemetry API only,
connect/telemetry.py) does nothing at all.

    tracing = setup(TraceSettings("http://127.0.0.1:4318", device_id=..., user="alice"))
    ...
    tracing.shutdown()   # what is pending is sent, or spooled for the next run

What it configures
* Resource: `service.name` and the device's identity (`tracing.attributes`): device id, name
  and type, and `baton.user.id = pseudonymise_user(user)`. Without a user, the viewer shows the
  device's records to its admins only.
* Spans and events (log records with `event.name`) in batches every 250 ms (live-friendly:
  the SDK's default waits 5 s), from the SDK's batch processors' own threads.
* Allow-list: before a batch leaves the device every attribute not named in
  `RESOURCE_ATTRIBUTES` / `RECORD_ATTRIBUTES` is removed, and log bodies and status messages
  are emptied (free text may carry names or addresses). Fail-closed: a new attribute is sent
  only once it is listed here.
* Export: OTLP/HTTP protobuf, gzip, `POST ENDPOINT/v1/traces` and `/v1/logs`, encoded by the
  OTLP exporter's own encoders. The stock exporter's transport is not used: it retries for up
  to 10 s inside the batch thread, then drops the batch; here a batch that cannot be delivered
  goes to the offline spool (tracing/spool.py) at once, and one shipper thread sends in order.
* Ingest token: `TraceSettings.token` (a receiver's `trace-token`, the CLI's and app's
  setting) goes in `Authorization: Bearer TOKEN` on every request, as the collector asks
  (`baton-traces ingest add USER`). Without one, the headers of the standard
  `OTEL_EXPORTER_OTLP_HEADERS` (`Authorization=Bearer%20TOKEN`) are sent, if set.
* Offline spool: while the collector is unreachable (connection refused, time-out, 5xx, 429)
  batches go to a bounded SQLite file (drop-oldest, counted); it is retried after 1 s, doubling
  up to 30 s, and replayed oldest first when the collector answers; the collector
  de-duplicates, so each record is stored exactly once. A 401 or 403 (no or a wrong ingest
  token) is kept the same way, so nothing is lost while the token is being fixed, and said
  once in the log. A 400, 413 or 415 is final (dropped, counted). Drops are reported once the
  collector is back, as a `baton.error` event.
"""

from __future__ import annotations

import atexit
import gzip
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentelemetry import _logs, trace
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    LogRecordExporter,
    LogRecordExportResult,
)
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from tracing import attributes as a
from tracing._shipper import SIGNALS, Shipper
from tracing.spool import DEFAULT_MAX_BYTES, MEMORY, Spool

_LOG = logging.getLogger(__name__)

RESOURCE_ATTRIBUTES = frozenset(
    {
        a.DEVICE_ID, a.DEVICE_NAME, a.DEVICE_TYPE, a.USER_ID, a.CLOCK_OFFSET_MS,
        "service.name", "service.version", "service.instance.id",
        "telemetry.sdk.language", "telemetry.sdk.name", "telemetry.sdk.version",
    }
)  # fmt: skip
"""The resource attributes that may leave a device; every other one is removed."""

RECORD_ATTRIBUTES = frozenset(
    {
        a.SESSION_ID, a.TRANSFER_ID, a.COMMAND_ID, a.REVISION, a.ENVELOPE_SEQ, a.MESSAGE_KIND,
        a.PEER_DEVICE_ID, a.CLOCK_OFFSET_MS, a.EVENT_NAME, a.REASON, a.ERROR_TYPE,
        a.COMMAND_ACTION, a.TRANSFER_ROLE, a.SPOOL_DROPPED,
        a.DEVICE_ID, a.DEVICE_NAME, a.DEVICE_TYPE,
        a.TRANSFER_SOURCE, a.TRANSFER_TARGET, a.TRANSFER_MODE, a.TRANSFER_MODE_REASON,
        a.TRANSFER_OUTCOME,
        a.TRANSFER_LATENCY_MS, a.TRANSFER_GAP_US, a.TRANSFER_POSITION_ERROR_MS,
        a.TRANSFER_OFFER_US, a.TRANSFER_PREROLL_US, a.TRANSFER_LEAD_US, a.TRANSFER_START_US,
        a.TRANSFER_FADE_MS, a.TRANSFER_CLOCK_ERROR_US,
        a.BRIDGE_KIND, a.BRIDGE_SENT, a.BRIDGE_ANSWER,
        a.GROUP_ID, a.GROUP_EPOCH, a.GROUP_STEP, a.GROUP_LEADER, a.GROUP_MEMBERS, a.GROUP_PHASES,
        a.GROUP_SKEW_US, a.GROUP_SKEW_FROM, a.GROUP_ROLE,
    }
)  # fmt: skip
"""The span, event, link and log-record attributes that may leave a device. The device's own
identity appears here for a second device in one process (connect.telemetry.DeviceTag)."""

SCHEDULE_DELAY_MS = 250.0


@dataclass(frozen=True)
class TraceSettings:
    """What `setup` needs: where to send, who this device is, where to spool."""

    endpoint: str  # the collector's base URL, e.g. http://192.168.1.5:4318
    device_id: str
    device_name: str = ""
    device_type: str = "other"  # one of tracing.attributes.DEVICE_TYPES
    user: str = ""  # sent only as pseudonymise_user(user)
    token: str = ""  # the collector's ingest token for this device ("": none, or the env's)
    service_name: str = "baton"
    spool: Path | str = MEMORY  # a file under the state or cache directory, in real use
    spool_max_bytes: int = DEFAULT_MAX_BYTES
    schedule_delay_ms: float = SCHEDULE_DELAY_MS
    send_timeout_s: float = 2.0
    retry_first_s: float = 1.0
    retry_ceiling_s: float = 30.0


def cache_spool_path() -> Path:
    """Return the spool file of an app or CLI process: `$XDG_CACHE_HOME/baton/...`."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "baton" / "trace-spool.sqlite3"


def setup(settings: TraceSettings, *, install: bool = True) -> Tracing:
    """Configure the SDK for this process; with `install`, make it the global one (once).

    Raises ValueError for an endpoint that is not http(s)://, RuntimeError when another SDK
    is already installed in this process.
    """
    base = _base_url(settings.endpoint)
    headers = otlp_headers(os.environ.get("OTEL_EXPORTER_OTLP_HEADERS", ""))
    if settings.token.strip():
        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        headers["Authorization"] = f"Bearer {settings.token.strip()}"
    if install and not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        raise RuntimeError("tracing is already set up in this process")
    resource = Resource.create(_resource_attributes(settings))
    shipper = Shipper(
        base,
        Spool(settings.spool, settings.spool_max_bytes),
        headers,
        timeout_s=settings.send_timeout_s,
        retry_s=(settings.retry_first_s, settings.retry_ceiling_s),
    )
    tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    tracer_provider.add_span_processor(
        BatchSpanProcessor(
            _SpanExporter(shipper),
            schedule_delay_millis=settings.schedule_delay_ms,
            max_queue_size=4096,
        )
    )
    logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(
            _LogExporter(shipper), schedule_delay_millis=settings.schedule_delay_ms
        )
    )
    shipper.events = logger_provider.get_logger("baton.tracing")
    handle = Tracing(tracer_provider, logger_provider, shipper)
    if install:
        trace.set_tracer_provider(tracer_provider)
        _logs.set_logger_provider(logger_provider)
    return handle


class Tracing:
    """The configured SDK of one process: flush it, shut it down (idempotent, bounded)."""

    def __init__(
        self, tracer_provider: TracerProvider, logger_provider: LoggerProvider, shipper: Shipper
    ) -> None:
        self.tracer_provider = tracer_provider
        self.logger_provider = logger_provider
        self._shipper = shipper
        self._closed = False
        atexit.register(self.shutdown)

    @property
    def spool(self) -> Spool:
        """Return the offline spool (for its counters)."""
        return self._shipper.spool

    @property
    def dropped(self) -> int:
        """Return how many batches were dropped: the spool's, the full memory queue's, refused."""
        return self._shipper.spool.dropped + self._shipper.dropped

    def force_flush(self, timeout_s: float = 5.0) -> bool:
        """Send everything now, the spool included; return True if all of it was delivered."""
        deadline = time.monotonic() + timeout_s
        millis = int(timeout_s * 1000)
        ok = self.tracer_provider.force_flush(millis) and self.logger_provider.force_flush(millis)
        return self._shipper.flush(max(0.0, deadline - time.monotonic())) and ok

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Flush the batch processors, send or spool what is left, stop every thread."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.shutdown)
        self.tracer_provider.shutdown()
        self.logger_provider.shutdown()
        self._shipper.close(timeout_s)


# ---------------------------------------------------------------- exporters


class _SpanExporter(SpanExporter):
    """Encodes a batch of spans as OTLP protobuf, applies the allow-list, hands it on."""

    def __init__(self, shipper: Shipper) -> None:
        self._shipper = shipper

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        request = encode_spans(spans)
        for resource_spans in request.resource_spans:
            _keep(resource_spans.resource.attributes, RESOURCE_ATTRIBUTES)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    _keep(span.attributes, RECORD_ATTRIBUTES)
                    span.status.message = ""
                    for event in span.events:
                        _keep(event.attributes, RECORD_ATTRIBUTES)
                    for link in span.links:
                        _keep(link.attributes, RECORD_ATTRIBUTES)
        self._shipper.submit("traces", _gzip(request.SerializeToString()))
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """The shipper belongs to the `Tracing` handle, which stops it last."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class _LogExporter(LogRecordExporter):
    """Encodes a batch of events (log records) as OTLP protobuf, applies the allow-list."""

    def __init__(self, shipper: Shipper) -> None:
        self._shipper = shipper

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        request = encode_logs(batch)
        for resource_logs in request.resource_logs:
            _keep(resource_logs.resource.attributes, RESOURCE_ATTRIBUTES)
            for scope_logs in resource_logs.scope_logs:
                for record in scope_logs.log_records:
                    _keep(record.attributes, RECORD_ATTRIBUTES)
                    record.ClearField("body")
        self._shipper.submit("logs", _gzip(request.SerializeToString()))
        return LogRecordExportResult.SUCCESS

    def shutdown(self) -> None:
        """The shipper belongs to the `Tracing` handle, which stops it last."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _keep(key_values: Any, allowed: frozenset[str]) -> None:
    # A repeated protobuf field of KeyValue: rebuilt with the allowed keys only.
    kept = [kv for kv in key_values if kv.key in allowed]
    if len(kept) != len(key_values):
        copies = [type(kv)() for kv in kept]
        for copy, kv in zip(copies, kept, strict=True):
            copy.CopyFrom(kv)
        del key_values[:]
        key_values.extend(copies)


def _gzip(body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=5, mtime=0)


def otlp_headers(value: str) -> dict[str, str]:
    """Parse `OTEL_EXPORTER_OTLP_HEADERS`: `key=value` pairs, comma-separated, URL-encoded."""
    headers = {}
    for pair in value.split(","):
        key, sep, raw = pair.partition("=")
        if sep and key.strip():
            headers[urllib.parse.unquote(key.strip())] = urllib.parse.unquote(raw.strip())
    return headers


def _base_url(endpoint: str) -> str:
    base = endpoint.strip().rstrip("/")
    for signal in SIGNALS:
        base = base.removesuffix(f"/v1/{signal}")
    if not base.startswith(("http://", "https://")):
        raise ValueError(f"trace endpoint must be an http:// or https:// URL, not {endpoint!r}")
    return base


def _resource_attributes(settings: TraceSettings) -> dict[str, str]:
    kind = settings.device_type if settings.device_type in a.DEVICE_TYPES else "other"
    attributes = {
        SERVICE_NAME: settings.service_name,
        a.DEVICE_ID: settings.device_id,
        a.DEVICE_TYPE: kind,
    }
    if settings.device_name:
        attributes[a.DEVICE_NAME] = settings.device_name
    if settings.user.strip():
        attributes[a.USER_ID] = a.pseudonymise_user(settings.user)
    return attributes
