"""Exports (OTLP JSON, Chrome trace JSON, Mermaid) and the `baton-traces` commands."""

from __future__ import annotations

import json

from tests.unit.tracing.support import ALICE_PHONE, ALICE_SPEAKER, BOB_CAR
from tracing import _export, attributes, cli, samples
from tracing._otlp import decode
from tracing._query import EVERYTHING, Filters
from tracing._store import Store


def _stored(tmp_path):
    store = Store(tmp_path / "db")
    request = samples.traces_request(
        [
            samples.Message(
                ALICE_PHONE, ALICE_SPEAKER, kind="Command", seq=1, latency_ns=4_000_000
            ),
            samples.Message(ALICE_SPEAKER, ALICE_PHONE, kind="StateSnapshot", seq=1),
        ]
    )
    lost_send, _ = samples.Message(ALICE_PHONE, BOB_CAR, kind="TransferOffer").spans()
    request.resource_spans[0].scope_spans[0].spans.append(lost_send)
    store.insert(decode("traces", request.SerializeToString(), "application/x-protobuf"))
    logs = samples.logs_request(ALICE_SPEAKER, attributes.EVENT_STATE_CHANGED)
    store.insert(decode("logs", logs.SerializeToString(), "application/x-protobuf"))
    rows = store.latest(EVERYTHING, Filters(), 1000)
    store.close()
    return rows


def test_arrows_pair_sender_and_receiver_and_keep_unanswered_sends(tmp_path):
    arrows = _export.pair_arrows(_stored(tmp_path))
    pairs = {(a.from_device, a.to_device, a.label): a.latency_ms for a in arrows}
    assert pairs[("alice-phone", "alice-kitchen", "Command")] == 4.0
    assert pairs[("alice-kitchen", "alice-phone", "StateSnapshot")] == 3.0
    assert pairs[("alice-phone", "bob-car", "TransferOffer")] is None


def test_otlp_json_export_reads_back_as_the_same_spans_and_events(tmp_path):
    rows = _stored(tmp_path)
    traces_line = _export.render("otlp-json", rows)
    logs_line = _export.render("otlp-json-logs", rows)
    spans = decode("traces", traces_line.encode(), "application/json")
    assert {s.uid for s in spans} == {
        f"{r['trace_id']}:{r['span_id']}" for r in rows if r["kind"] == "span"
    }
    by_uid = {f"{r['trace_id']}:{r['span_id']}": r for r in rows}
    for span in spans:
        row = by_uid[span.uid]
        assert (span.parent_id, span.start_ns, span.device_id, span.user_id, span.envelope_seq) == (
            row["parent_id"],
            row["start_ns"],
            row["device_id"],
            row["user_id"],
            row["envelope_seq"],
        )
    (log,) = decode("logs", logs_line.encode(), "application/json")
    assert log.name == attributes.EVENT_STATE_CHANGED


def test_chrome_export_has_a_process_per_device_and_flows_for_arrows(tmp_path):
    trace = _export.to_chrome(_stored(tmp_path))
    events = trace["traceEvents"]
    names = {e["args"]["name"] for e in events if e.get("name") == "process_name"}
    assert names == {"Alice's phone", "Kitchen speaker"}  # names, never raw ids
    labels = {e["args"]["labels"] for e in events if e.get("name") == "process_labels"}
    assert labels == {"alice-phone", "alice-kitchen"}  # the ids, beside them
    assert sum(e["ph"] == "X" for e in events) == 5
    assert sum(e["ph"] == "i" for e in events) == 1
    starts = [e for e in events if e["ph"] == "s"]
    finishes = [e for e in events if e["ph"] == "f"]
    assert len(starts) == len(finishes) == 2
    assert {e["id"] for e in starts} == {e["id"] for e in finishes}
    json.dumps(trace)  # serialisable as is


def test_mermaid_export_is_a_sequence_diagram_of_named_participants(tmp_path):
    text = _export.to_mermaid(_stored(tmp_path))
    lines = [line.strip() for line in text.splitlines()]
    assert lines[0] == "sequenceDiagram"
    participants = [line for line in lines if line.startswith("participant")]
    assert any(line.endswith(" as Kitchen speaker") for line in participants)
    assert not any("alice-kitchen" in line for line in participants)  # the id is a comment
    assert any(line.startswith("%%") and "alice-kitchen" in line for line in lines)
    assert any("->>" in line and "Command (4.0 ms)" in line for line in lines)
    assert any("Note over" in line and "baton.state.changed" in line for line in lines)
    # bob-car never sent a record: the offer to it went to an untraced device, not lost.
    assert any(line.endswith(" as bob-car (not traced)") for line in participants)
    assert any("->>" in line and "TransferOffer (not traced)" in line for line in lines)


def test_mermaid_marks_a_message_to_a_traced_device_never_received_as_lost(tmp_path):
    # The collector knows bob-car (it sent records once): the offer to it was not received.
    text = _export.to_mermaid(_stored(tmp_path), {"bob-car": "Bob's car"})
    assert "-x" in text
    assert "TransferOffer (not received)" in text
    assert "participant d2 as Bob's car" in text


def test_mermaid_labels_cannot_break_the_diagram():
    assert _export._mermaid_text("end; #x\nnext") == "End   x next"


def test_cli_user_add_prints_the_token_last_and_export_writes_files(tmp_path, capsys):
    db = tmp_path / "db"
    assert cli.main(["user", "add", "carol", "--db", str(db)]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    store = Store(db)
    user = store.user_for_token(token)
    assert user is not None
    assert user.user_id == attributes.pseudonymise_user("carol")
    request = samples.traces_request([samples.Message(ALICE_PHONE, ALICE_SPEAKER)])
    rows = store.insert(decode("traces", request.SerializeToString(), "application/x-protobuf"))
    store.close()
    out = tmp_path / "out.json"
    trace_id = rows[0]["trace_id"]
    assert (
        cli.main(
            [
                "export",
                "--db",
                str(db),
                "--format",
                "chrome",
                "--trace-id",
                trace_id,
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert len([e for e in json.loads(out.read_text())["traceEvents"] if e["ph"] == "X"]) == 2
    assert cli.main(["export", "--db", str(db), "--format", "mermaid"]) == 0
    assert capsys.readouterr().out.startswith("sequenceDiagram")
    assert cli.main(["export", "--db", str(tmp_path / "missing"), "--format", "mermaid"]) == 1


def test_receivers_linking_to_one_sender_give_one_arrow_each(tmp_path):
    store = Store(tmp_path / "db")
    speaker_b = samples.Device("alice-bedroom", "Bedroom", "speaker", "alice")
    request = samples.fan_out_request(ALICE_PHONE, [ALICE_SPEAKER, speaker_b])
    rows = store.insert(decode("traces", request.SerializeToString(), "application/x-protobuf"))
    store.close()
    arrows = _export.pair_arrows(rows)
    assert [(a.from_device, a.to_device, a.latency_ms) for a in arrows] == [
        ("alice-phone", "alice-kitchen", 2.0),
        ("alice-phone", "alice-bedroom", 4.0),
    ]
