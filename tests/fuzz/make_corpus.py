"""Write the seed corpus from the real encoders: `python -m tests.fuzz.make_corpus`.

Every seed is a valid input of its target, built with fixed values so that a refresh after a
protocol change shows as a readable diff of a few files. Regression seeds (`*-found-*.bin`)
are never touched.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from connect.paths import INFO_PATH, NAME_PATH, PAIR_PATH, TOKENS_PATH, WS_PATH
from connect.wire import codec
from connect.wire import messages as m
from tests.fuzz.seeds import CORPUS_DIR
from tracing import attributes as a
from tracing import samples

OWNER_TOKEN = "%OWNER-TOKEN%"  # a placeholder the pin-mode receiver harness replaces

VERSIONS = m.VersionRange(m.ProtocolVersion(1), m.ProtocolVersion(1, 3))
CLIENT = m.ClientIdentity("ctl-fuzz", "Fuzz controller", m.DeviceType.COMPUTER, "baton 0.1")
ITEMS = (
    m.QueueItem("u1", "http://127.0.0.1:8000/a.flac", "A", "Artist", "Album", 181_000),
    m.QueueItem(
        "u2", "http://127.0.0.1:8000/b.ogg", "B", duration_ms=94_000, content_type="audio/ogg"
    ),
)
STATE = m.PlaybackState(
    session_id="sess-1",
    revision=42,
    device_id="dev-1",
    queue=ITEMS,
    current_uid="u2",
    clock=m.PlaybackClock(12_345, 1_700_000_000_000_000, 1.0, True),
    status=m.PlaybackStatus.PLAYING,
    volume=35,
    shuffle=True,
    shuffle_seed=7,
    repeat=m.RepeatMode.ALL,
    active=True,
    last_command_id="cmd-1",
    restrictions=(m.Restriction(m.CommandKind.SEEK, ("live stream",)),),
)
DEVICE = m.DeviceInfo(
    id="dev-1",
    name="Kitchen",
    type=m.DeviceType.SPEAKER,
    protocol=VERSIONS,
    capabilities=m.Capabilities(audio_codecs=("flac", "mp3"), output_delay_us=20_000),
    model="Pi 4",
    manufacturer="Baton",
    software_version="0.1",
    pairing=m.PairingMode.PIN,
    revision=42,
)
FAILURE = m.Failure(m.ErrorCode.MALFORMED, "bad")
GROUP = m.Group(
    "grp-1",
    3,
    "dev-1",
    (
        m.GroupMember("dev-1", 0, m.GroupMemberPhase.PLAYING, 35),
        m.GroupMember("dev-2", 1, m.GroupMemberPhase.JOINING, 25, True),
    ),
)
TIMELINE = m.GroupTimeline(
    "grp-1", 3, "sess-1", 42, ITEMS[1], 1_700_000_000_000_000, 12_345_000, 1.0, True,
    ITEMS[0], -1_500_000, 250,
)  # fmt: skip
ACTIONS: dict[str, m.Action] = {
    "play": m.Play("u1", 1000),
    "pause": m.Pause(),
    "resume": m.Resume(),
    "seek": m.Seek(60_000),
    "next": m.SkipNext(),
    "previous": m.SkipPrevious(),
    "volume": m.SetVolume(20, True),
    "set-queue": m.SetQueue(ITEMS, "u1", 500, True),
    "add-to-queue": m.AddToQueue(ITEMS[:1], "u2"),
    "options": m.SetOptions(True, 9, m.RepeatMode.ONE),
    "remove-from-queue": m.RemoveFromQueue(("u1", "u2")),
    "move-in-queue": m.MoveInQueue("u2", "u1"),
    "clear-queue": m.ClearQueue(),
}
BODIES: dict[str, m.Body] = {
    "hello": m.Hello(VERSIONS, CLIENT, m.Role.CONTROLLER, "token-1"),
    "welcome": m.Welcome(m.ProtocolVersion(1, 3), m.Role.OWNER, DEVICE, "conn-1", 1000),
    "time-request": m.TimeRequest(1_000_000),
    "time-response": m.TimeResponse(1_000_000, 2_000_000, 2_000_100),
    "command-result": m.CommandResult("cmd-1", 43, FAILURE),
    "snapshot": m.StateSnapshot(STATE, m.StateChangeReason.COMMAND),
    "transfer-offer": m.TransferOffer("t-1", STATE, m.TransferOptions(), "dev-0", 5_000_000, 60),
    "transfer-ready": m.TransferReady("t-1", 12_500, 3_000_000, 20_000, 150_000),
    "transfer-rejected": m.TransferRejected("t-1", FAILURE),
    "transfer-commit": m.TransferCommit(
        "t-1", m.TransferRole.TARGET, 4_000_000, 12_600, 30, m.SourceAfter.PAUSE, 43
    ),
    "transfer-aborted": m.TransferAborted("t-1", FAILURE),
    "transfer-done": m.TransferDone(
        "t-1", m.TransferRole.TARGET, 4_000_100, 12_600, 44, m.TransferTimings(90, 40, 130, 800, 3)
    ),
    "heartbeat": m.Heartbeat(42),
    "goodbye": m.Goodbye(m.GoodbyeReason.VERSION, "too new", VERSIONS),
    "error": m.Error(m.ErrorCode.UNSUPPORTED, "what is this", 3, "msg-3"),
}
# Groups (protocol 1.2): after the commands, so their seeds kept their sequence numbers.
GROUP_BODIES: dict[str, m.Body] = {
    "group-lead": m.GroupLead(GROUP, STATE),
    "group-join": m.GroupJoin(GROUP, TIMELINE, 2_000_000, 30),
    "group-leave": m.GroupLeave("grp-1", 3, 2_500_000, 30),
    "group-timeline": TIMELINE,
    "group-volume": m.GroupVolume("grp-1", "dev-2", 25, False),
    "group-done": m.GroupDone("grp-1", m.GroupStep.JOIN, 3, 2_000_100, 12_600_000),
    "group-refused": m.GroupRefused("grp-1", m.GroupStep.JOIN, FAILURE, 3),
}
PAIRING = m.PairingRequest(CLIENT, "123456", m.Role.CONTROLLER)
TOKENS = m.TokenList(
    (m.TokenInfo("0123456789abcdef", CLIENT, m.Role.OWNER, 1_700_000_000_000, 1_700_000_100_000),)
)


def frames() -> dict[str, bytes]:
    """Return one frame per body type and per command action, traced like a real peer's."""
    out = {}
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    bodies = {
        **BODIES,
        **{f"command-{k}": m.Command(f"cmd-{k}", v, 41) for k, v in ACTIONS.items()},
        **GROUP_BODIES,
    }
    for seq, (name, body) in enumerate(bodies.items(), 1):
        envelope = m.Envelope(seq, f"msg-{seq}", body, traceparent, "baton=1")
        out[f"frame-{name}"] = codec.encode(envelope)
    return out


def codec_seeds() -> dict[str, bytes]:
    """Frames of every message, and the HTTP bodies the codec reads."""
    return {
        **frames(),
        "device-info": codec.encode_device_info(DEVICE),
        "device-info-json": codec.device_info_to_json(DEVICE).encode(),
        "pairing-request": codec.encode_pairing_request(PAIRING),
        "pairing-response": codec.encode_pairing_response(
            m.PairingResponse("token-1", m.Role.CONTROLLER, "dev-1", "ab" * 32)
        ),
        "pairing-code": codec.encode_pairing_code(m.PairingCode("123456")),
        "failure": codec.encode_failure(m.Failure(m.ErrorCode.RATE_LIMITED, "wait")),
        "token-list": codec.encode_token_list(TOKENS),
        "rename-request": codec.encode_rename_request(m.RenameRequest("Living room")),
    }


def http_request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    """Return a raw HTTP/1.1 request, as a client would send it."""
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    if body:
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def receiver_seeds() -> dict[str, bytes]:
    """Raw requests for each endpoint, and the session frames a controller sends."""
    upgrade = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    }
    pairing = codec.encode_pairing_request(PAIRING)
    controller_frames = ("hello", "time-request", "command-play", "command-set-queue", "heartbeat")
    all_frames = frames()
    return {
        "http-info": http_request("GET", INFO_PATH, {"Accept": "application/x-protobuf"}),
        "http-info-json": http_request("GET", INFO_PATH, {"Accept": "application/json"}),
        "http-ws-upgrade": http_request("GET", WS_PATH, upgrade),
        "http-pair": http_request(
            "POST", PAIR_PATH, {"Content-Type": "application/x-protobuf"}, pairing
        ),
        # The owner's token is put in by the pin-mode harness (test_receiver.OWNER_TOKEN).
        "http-rename": http_request(
            "PUT",
            NAME_PATH,
            {"Authorization": f"Bearer {OWNER_TOKEN}"},
            codec.encode_rename_request(m.RenameRequest("Living room")),
        ),
        "http-tokens": http_request("GET", TOKENS_PATH, {"Authorization": f"Bearer {OWNER_TOKEN}"}),
        "http-revoke": http_request(
            "DELETE", f"{TOKENS_PATH}/0123456789abcdef", {"Authorization": f"Bearer {OWNER_TOKEN}"}
        ),
        **{f"frame-{name}": all_frames[f"frame-{name}"] for name in controller_frames},
    }


def _rich_traces_request() -> Any:
    """Two devices' span pair plus one span with an event, a link, a status and nested values."""
    message = samples.Message(
        samples.Device("dev-a", "Phone", "controller", "alice"),
        samples.Device("dev-b", "Kitchen", "speaker", "alice", 12.5),
        transfer_id="t-1",
        start_ns=1_700_000_000_000_000_000,
    )
    request = samples.traces_request([message])
    for n, resource_spans in enumerate(request.resource_spans):
        for span in resource_spans.scope_spans[0].spans:
            span.trace_id = bytes(range(16))
            span.span_id = bytes([n + 1] * 8)
            if span.parent_span_id:
                span.parent_span_id = bytes([1] * 8)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    span.status.code = trace_pb2.Status.STATUS_CODE_ERROR
    span.status.message = "timed out"
    span.events.add(name="retry", time_unix_nano=1_700_000_000_000_500_000)
    span.links.add(trace_id=bytes(range(16)), span_id=bytes([9] * 8))
    nested = common_pb2.AnyValue()
    nested.array_value.values.add(int_value=1)
    nested.array_value.values.add().kvlist_value.values.add(key="k", value={"bytes_value": b"\1"})
    span.attributes.add(key="fuzz.nested", value=nested)
    return request


def _logs_request() -> Any:
    device = samples.Device("dev-b", "Kitchen", "speaker", "alice")
    request = samples.logs_request(device, a.EVENT_STATE_CHANGED, {a.SESSION_ID: "sess-1"})
    record = request.resource_logs[0].scope_logs[0].log_records[0]
    record.time_unix_nano = record.observed_time_unix_nano = 1_700_000_000_000_000_000
    record.trace_id = bytes(range(16))
    record.span_id = bytes([2] * 8)
    return request


def collector_seeds() -> dict[str, bytes]:
    """OTLP export requests of both signals in protobuf and JSON, and gzip-compressed ones."""
    traces, logs = _rich_traces_request(), _logs_request()
    plain = {
        "traces-protobuf": traces.SerializeToString(),
        "traces-json": samples.to_otlp_json(traces),
        "logs-protobuf": logs.SerializeToString(),
        "logs-json": samples.to_otlp_json(logs),
    }
    # mtime=0: the same bytes on every refresh.
    gzipped = {f"{k}.gz": gzip.compress(v, mtime=0) for k, v in plain.items() if "traces" in k}
    return {**plain, **gzipped}


def write(target: str, seeds: dict[str, bytes]) -> None:
    """Write *seeds* as tests/fuzz/corpus/<target>/<name>.bin."""
    folder = CORPUS_DIR / target
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in seeds.items():
        Path(folder / f"{name}.bin").write_bytes(data)
    total = sum(map(len, seeds.values()))
    print(f"{target}: {len(seeds)} seeds, {total} bytes in {folder}")


def main() -> None:
    write("codec", codec_seeds())
    write("receiver", receiver_seeds())
    write("collector", collector_seeds())


if __name__ == "__main__":
    main()
