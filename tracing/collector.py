"""The trace collector: what it accepts, how it de-duplicates, what it serves.

Run it with `baton-traces serve [--host H] [--port N] [--db PATH] [--forward URL]
[--open-ingest]`, or in-process (tests, tools) with `Collector(CollectorConfig(db=...))`,
`await start()`, `await close()`.

Ingest contract (for `tracing.setup` and any OpenTelemetry SDK)
---------------------------------------------------------------
* `POST /v1/traces`, `/v1/logs` and `/v1/metrics`, as in the OTLP/HTTP specification: body an
  `Export{Trace,Logs,Metrics}ServiceRequest`, either protobuf (`Content-Type:
  application/x-protobuf`; also `application/protobuf`, or no Content-Type at all) or OTLP
  JSON (`application/json`: ids in hex, either case; keys lowerCamelCase, the proto's
  snake_case names read the same; unknown fields ignored), optionally `Content-Encoding: gzip`
  or `deflate`. Default port 4318, bound to 127.0.0.1: point `OTEL_EXPORTER_OTLP_ENDPOINT` (or
  the exporter's `endpoint`) at `http://HOST:4318`. Metrics are checked and answered, not
  kept: an SDK that exports them by default logs nothing.
* Authentication: `Authorization: Bearer INGEST_TOKEN` (`baton-traces ingest add USER
  [--label DEVICE]`; with any SDK, `OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20TOKEN`).
  The records are filed under the token's user: their `baton.user.id`, in the row and in the
  stored resource, is that user's whatever the device claimed. With `--open-ingest` a request
  without a token is taken, its records filed under the `baton.user.id` their resource names
  (anyone who can reach the port may then write into any user's view: a laptop's collector on
  loopback); a token given is still checked. A viewer token is not an ingest token.
* Answers, in the request's encoding (protobuf or JSON; protobuf when the Content-Type is not
  OTLP's): 200 with the export response once every record is committed to SQLite, so a 200
  means "stored"; its `partial_success` counts the records refused and says why (span ids or
  trace ids of the wrong length, all zero or missing; log ids of the wrong length; a sender
  over its resource cap), the rest being stored. Errors carry a `google.rpc.Status`: 400 a
  body that is not OTLP (do not retry); 401 no or an unknown ingest token (`tracing.setup`
  keeps the batch in its spool); 413 beyond 16 MiB as sent or 32 MiB after inflation (split
  the batch); 415 a Content-Type or Content-Encoding OTLP does not use; 503 the database
  failed to store it (`Retry-After: 1`, retry). Anything else transient (connection refused,
  5xx): keep the batch in the spool and send it again later. A browser page on another origin
  cannot post (see Limits below).
* Records are attributed to devices by resource attributes (`tracing.attributes`):
  `baton.device.id` (falling back to `service.instance.id`, then `service.name`), and with
  open ingest to users by `baton.user.id`. Send every attribute with the names in
  `tracing.attributes`. A resource over 2 KiB of JSON is stored reduced to those identity
  attributes (`baton.collector.reduced` counts what was dropped), and so are a sender's new
  resources beyond its first 1000; beyond 100 more, its records are refused.
* Requests are stored in group commits (`tracing._ingest`): whatever arrives while one
  transaction is written goes into the next, as one. While requests come faster than 400 a
  second, the group after one of fewer than 256 records starts no sooner than 20 ms after it
  (unless 256 KiB are waiting): a busy collector commits many small requests at once, while a
  quiet one, a lone client and large batches are stored as they come.

De-duplication contract
-----------------------
* A span is identified by (trace id, span id). The first copy to arrive is stored; later
  copies, in the same request or any other, are ignored silently and still answered with 200.
  So retries, replays from an offline spool and a batch sent twice are all safe: resend freely.
  Corollary: a span id must never be reused within a trace with different content (the later
  content would be dropped); the SDK's random ids guarantee this. The store compares 60 bits of
  each id (their last 15 hex digits, `tracing._query.id_key`): two spans that share a span id
  and those 60 bits of trace id count as one, which random ids make as good as never.
* A log record (an event) has no id in OTLP: its identity is a digest of its device id, time,
  trace and span ids, event name, body and attributes. Replaying the same record is ignored;
  two genuinely identical events at the same nanosecond count as one.
* Late data is welcome: records are stored whenever they arrive; each row keeps its receipt
  time (`received_ns`) and the viewer marks records received long after they ended as late.

What it serves
--------------
* The viewer at `/` (static files in `tracing/static/`).
* Users: `baton-traces user add NAME` prints a viewer token; requests carry it as
  `Authorization: Bearer TOKEN` or in the `baton_token` cookie set by `POST /api/login`
  (`{"token": ...}`). A missing or unknown token gets 401. A user sees only records whose
  `baton.user.id` equals `pseudonymise_user(NAME)`; `--admin` users see everything. Tokens are
  looked up on every request: `baton-traces user rotate|remove|role` and `ingest remove`
  count at once in a running collector, and a live stream whose token changed is closed
  within a second (its browser reconnects, and is asked to log in again).
* REST (JSON): `/api/whoami`, `/api/devices`, `/api/sessions`, `/api/transfers`, `/api/traces`,
  `/api/traces/{trace_id}` (records + paired arrows), `/api/search?q=&device=&kind=&session=
  &transfer=&trace=&limit=`, `/api/export?format=otlp-json|chrome|mermaid` (+ the same filters).
* Live stream: `GET /api/stream` (Server-Sent Events, same filters). Each stored record is one
  `event: record` whose `id:` is its `seq`, a number that only grows (with gaps). Reconnect
  with `Last-Event-ID` (browsers do it themselves) or `?after=SEQ` to get everything since;
  without either, the newest `?backlog=N` (default 200) come first. `event: reset` says
  retention deleted part of what was asked for; `event: overflow` says the client fell
  10 000 events behind and was cut off, so reconnect with its last id. Ingest never waits for
  a viewer.
* Exports (`/api/export?format=`, `baton-traces export --format`): `otlp-json` is the spans as
  one request `POST /v1/traces` accepts back, `otlp-json-logs` the events as one `/v1/logs`
  request (event names and severities kept), `chrome` (Perfetto) and `mermaid`.
* Retention (`tracing._retention`): every minute, and within a second or two of ingest going
  over the size, records older than `--retention-days` (default 7) by receipt go, then, until
  the data fits in `--retention-mb` (default 1024): records no viewer user can see, the
  largest sender first; then the largest sender's oldest records, where a sender is a
  `baton.user.id`, its last hour kept as long as it has anything older. Resources and devices
  no record uses any more go with them, and the freed pages go back to the filesystem
  (databases created since; an older file keeps its size and reuses the space). The database
  file is created readable by its owner only.

Limits and cross-site protection (`tracing._guard`)
---------------------------------------------------
* Request line and each header line at most 8 KiB, at most 100 headers: beyond, aiohttp's 400.
  Bodies other than OTLP (the login) at most 4 KiB: 413. The server keeps serving.
* Bound to a loopback address (the default), it answers only to loopback Host names
  (`127.0.0.1`, `localhost`, `[::1]`), and 421 to others: a page that rebinds its DNS name to
  127.0.0.1 looks same-origin to the browser, but still sends its own name.
* A request that changes state (any POST), and an `/api/` read authenticated by the cookie
  rather than a bearer header, gets 403 when a browser says it comes from another origin
  (`Origin` not this server's, or `Sec-Fetch-Site` other than `same-origin`/`none`). Another
  port on the same host counts as another origin: SameSite cookies do not tell ports apart.
  Requests with neither header (SDKs, curl) pass.
* Every response carries a Content-Security-Policy allowing only this origin and no framing,
  `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`.
* Tokens travel only in the cookie, the `Authorization` header or the login body, and are
  never logged; the access log (`tracing.access`, debug level) has method, path without the
  query string, status and duration.

Scaling out: `--forward URL`
----------------------------
Every accepted request is also posted, as received (inflated), to `URL/v1/traces` or
`URL/v1/logs`, from a bounded queue (1000 requests; when full, forwarding drops and logs):
an OpenTelemetry Collector's OTLP/HTTP receiver, which can feed Jaeger or Tempo. A minimal
OpenTelemetry Collector configuration (`otelcol-contrib --config otelcol.yaml`; run
`baton-traces serve --forward http://localhost:14318`)::

    receivers:
      otlp:
        protocols:
          http:
            endpoint: 127.0.0.1:14318
    processors:
      batch: {}
    exporters:
      otlp/jaeger:              # Jaeger v2 takes OTLP on its own (gRPC 4317)
        endpoint: jaeger:4317
        tls: {insecure: true}
      otlp/tempo:               # Grafana Tempo's distributor, OTLP gRPC
        endpoint: tempo:4317
        tls: {insecure: true}
    service:
      pipelines:
        traces:
          receivers: [otlp]
          processors: [batch]
          exporters: [otlp/jaeger, otlp/tempo]   # keep the one(s) you run

Forwarding is best effort; for guaranteed delivery point the devices at the OpenTelemetry
Collector instead and let it fan out to Jaeger/Tempo and to this collector (one more
`otlphttp` exporter with `endpoint: http://HOST:4318`).
"""

from __future__ import annotations

from tracing._server import Collector, CollectorConfig

__all__ = ["Collector", "CollectorConfig"]
