"""Interoperability: Debian's protoc, reading only proto/, agrees with the codec both ways."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from connect.wire import codec
from connect.wire import messages as m

ROOT = Path(__file__).resolve().parents[3]
PROTOC = shutil.which("protoc")
pytestmark = pytest.mark.skipif(
    PROTOC is None, reason="Debian's protoc is missing: ./dev setup installs protobuf-compiler"
)


def protoc(mode: str, data: bytes) -> bytes:
    result = subprocess.run(
        [
            PROTOC or "protoc",
            "-Iproto",
            f"--{mode}=baton.connect.v1.Envelope",
            "baton/connect/v1/connect.proto",
        ],
        input=data,
        capture_output=True,
        cwd=ROOT,
        check=True,
    )
    return result.stdout


SNAPSHOT = m.Envelope(
    seq=5,
    msg_id="msg-5",
    traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    body=m.StateSnapshot(
        m.PlaybackState(
            session_id="sess-1",
            revision=42,
            device_id="dev-car",
            queue=(
                m.QueueItem(
                    "q1",
                    "http://127.0.0.1:8000/a.wav",
                    "Tone A",
                    "Baton",
                    duration_ms=2000,
                    content_type="audio/wav",
                ),
                m.QueueItem("q2", "http://127.0.0.1:8000/b.wav"),
            ),
            current_uid="q1",
            clock=m.PlaybackClock(1500, 1_000_000, 1.0, True),
            status=m.PlaybackStatus.PLAYING,
            volume=35,
            active=True,
            last_command_id="cmd-7",
        ),
        m.StateChangeReason.COMMAND,
    ),
)

SNAPSHOT_TEXT = """\
seq: 5
msg_id: "msg-5"
traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
state_snapshot {
  state {
    session_id: "sess-1"
    revision: 42
    queue {
      items {
        uid: "q1"
        url: "http://127.0.0.1:8000/a.wav"
        title: "Tone A"
        artist: "Baton"
        duration_ms: 2000
        content_type: "audio/wav"
      }
      items {
        uid: "q2"
        url: "http://127.0.0.1:8000/b.wav"
      }
    }
    current_uid: "q1"
    clock {
      position_ms: 1500
      as_of_us: 1000000
      rate: 1
      playing: true
    }
    status: PLAYBACK_STATUS_PLAYING
    volume: 35
    repeat: REPEAT_MODE_OFF
    active: true
    last_command_id: "cmd-7"
    device_id: "dev-car"
  }
  reason: STATE_CHANGE_REASON_COMMAND
}
"""


def test_protoc_decodes_a_codec_snapshot_to_the_expected_text() -> None:
    # The snapshot path splices cached queue bytes in by hand: the strictest check we have.
    assert protoc("decode", codec.encode(SNAPSHOT)).decode() == SNAPSHOT_TEXT


def test_protoc_decodes_a_codec_command() -> None:
    command = m.Envelope(9, "m9", m.Command("cmd-1", m.SetVolume(70, muted=False), 41))
    assert protoc("decode", codec.encode(command)).decode() == (
        "seq: 9\n"
        'msg_id: "m9"\n'
        "command {\n"
        '  command_id: "cmd-1"\n'
        "  expected_revision: 41\n"
        "  set_volume {\n"
        "    volume: 70\n"
        "    muted: false\n"
        "  }\n"
        "}\n"
    )


def test_codec_decodes_what_protoc_encodes_from_text() -> None:
    assert codec.decode(protoc("encode", SNAPSHOT_TEXT.encode())) == SNAPSHOT


# Groups (protocol 1.2): a join as a device maker's protoc-generated code would read it.
GROUP_JOIN = m.Envelope(
    seq=11,
    msg_id="m11",
    body=m.GroupJoin(
        m.Group(
            "grp-1",
            2,
            "dev-a",
            (
                m.GroupMember("dev-a", 0, m.GroupMemberPhase.PLAYING, 40),
                m.GroupMember("dev-b", 1, m.GroupMemberPhase.JOINING, 30),
            ),
        ),
        m.GroupTimeline(
            "grp-1",
            2,
            "sess-1",
            42,
            m.QueueItem("q1", "http://127.0.0.1:8000/a.wav"),
            anchor_us=1_000_000,
            position_us=1_500_000,
            rate=1.0,
            playing=True,
            clock_offset_us=-3_000,
            offset_uncertainty_us=120,
        ),
        start_at_us=2_250_000,
        fade_ms=30,
    ),
)

GROUP_JOIN_TEXT = """\
seq: 11
msg_id: "m11"
group_join {
  group {
    group_id: "grp-1"
    group_epoch: 2
    leader_device_id: "dev-a"
    members {
      device_id: "dev-a"
      phase: GROUP_MEMBER_PHASE_PLAYING
      volume: 40
    }
    members {
      device_id: "dev-b"
      rank: 1
      phase: GROUP_MEMBER_PHASE_JOINING
      volume: 30
    }
  }
  timeline {
    group_id: "grp-1"
    group_epoch: 2
    session_id: "sess-1"
    revision: 42
    item {
      uid: "q1"
      url: "http://127.0.0.1:8000/a.wav"
    }
    anchor_us: 1000000
    position_us: 1500000
    rate: 1
    playing: true
    clock_offset_us: -3000
    offset_uncertainty_us: 120
  }
  start_at_us: 2250000
  fade_ms: 30
}
"""


def test_protoc_reads_a_codec_group_join_and_the_codec_reads_protocs() -> None:
    assert protoc("decode", codec.encode(GROUP_JOIN)).decode() == GROUP_JOIN_TEXT
    assert codec.decode(protoc("encode", GROUP_JOIN_TEXT.encode())) == GROUP_JOIN


def test_the_codec_reads_a_protoc_refusal_of_a_join() -> None:
    text = """\
seq: 4
msg_id: "m4"
group_refused {
  group_id: "grp-1"
  step: GROUP_STEP_JOIN
  failure {
    code: ERROR_CODE_TIMEOUT
    message: "not ready by the instant"
  }
}
"""
    body = codec.decode(protoc("encode", text.encode())).body
    assert body == m.GroupRefused(
        "grp-1", m.GroupStep.JOIN, m.Failure(m.ErrorCode.TIMEOUT, "not ready by the instant")
    )
