"""The viewer's views through the API: the transfers list, one transfer's timeline, a session."""

from __future__ import annotations

import time

import pytest

from tests.unit.tracing.support import ALICE_PHONE, ALICE_SPEAKER, BOB_CAR, BOB_PHONE, Running
from tracing import attributes as a
from tracing import samples

pytestmark = pytest.mark.warning_logs(r"ingest is open \(--open-ingest\)")

LIVING_ROOM = samples.Device("alice-living", "Living Room", "speaker", "alice")
CAR = samples.Device("alice-car", "Car", "car", "alice")


async def _post(collector: Running, request) -> None:
    assert (await collector.post("traces", request.SerializeToString())).status == 200


def _transfer(**kw) -> samples.Transfer:
    return samples.Transfer(ALICE_PHONE, LIVING_ROOM, CAR, **kw)


async def test_the_transfers_list_names_devices_and_puts_failures_first(collector):
    now = time.time_ns()
    await _post(collector, _transfer(transfer_id="t-old", start_ns=now - 3_000_000_000).request())
    await _post(
        collector,
        _transfer(transfer_id="t-bad", outcome="failed", start_ns=now - 2_000_000_000).request(),
    )
    await _post(
        collector,
        _transfer(transfer_id="t-new", start_ns=now - 1_000_000_000, gap_us=-400).request(),
    )
    # A transfer run by an untraced controller: only its devices' halves of the messages.
    untraced = _transfer(transfer_id="t-dark", start_ns=now).request()
    del untraced.resource_spans[0]
    await _post(collector, untraced)

    listed = await collector.get_json("/api/transfers", "alice")
    assert [t["id"] for t in listed] == ["t-bad", "t-dark", "t-new", "t-old"]
    bad, dark, new, _ = listed
    assert (bad["outcome"], bad["error"], bad["latency_ms"]) == ("failed", "TIMEOUT", None)
    assert new["from"] == {"id": "alice-living", "name": "Living Room"}
    assert new["to"] == {"id": "alice-car", "name": "Car"}
    assert new["controller"] == {"id": "alice-phone", "name": "Alice's phone"}
    assert (new["outcome"], new["latency_ms"]) == ("ok", 262.0)
    assert (new["gap_ms"], new["position_error_ms"], new["clock_error_ms"]) == (-0.4, 2.0, 0.8)
    # A 0.4 ms overlap and a 2 ms position error with clocks known to ±0.8 ms: the overlap
    # could as well be none, the position error could not.
    assert new["gap_within_clock_error"] is True
    assert new["position_within_clock_error"] is False
    # The untraced controller's transfer: what the devices tell, and no outcome made up.
    assert (dark["outcome"], dark["traced"], dark["controller"]) == ("unknown", False, None)
    assert dark["to"]["name"] == "Car"
    assert dark["from"]["name"] == "Living Room"

    assert await collector.get_json("/api/transfers", "bob") == []
    bobs = samples.Transfer(BOB_PHONE, BOB_CAR, samples.Device("bob-tv", "TV", "tv", "bob"))
    await _post(collector, bobs.request())
    assert [t["id"] for t in await collector.get_json("/api/transfers", "bob")] == ["t-1"]
    assert "t-1" not in {t["id"] for t in await collector.get_json("/api/transfers", "alice")}


async def test_a_transfer_view_has_its_phases_on_one_time_axis(collector):
    await _post(collector, _transfer(transfer_id="t-7").request())
    body = await collector.get_json("/api/transfers/t-7", "alice")
    assert body["transfer"]["id"] == "t-7"
    line = body["timeline"]
    bars = {
        p["name"]: (p["lane"], p["device"]["name"], p["start_ms"], p["end_ms"])
        for p in line["phases"]
    }
    # Offer 12 ms, pre-roll 80, lead 60, start 110: audible at 262 ms after the request.
    assert bars["offer"] == ("target", "Car", 0.0, 12.0)
    assert bars["pre-roll"] == ("target", "Car", 12.0, 92.0)
    assert bars["lead"] == ("target", "Car", 92.0, 152.0)
    assert bars["start"] == ("target", "Car", 152.0, 262.0)
    # The source's 30 ms fade ends where the 1.5 ms gap begins.
    assert bars["fade"] == ("source", "Living Room", pytest.approx(230.5), pytest.approx(260.5))
    assert line["audible_ms"] == 262.0
    # Messages where the controller sent (offer at 0.4 ms) or received them (+1 ms each way).
    marks = [(m["label"], m["direction"], m["peer"]["name"], m["at_ms"]) for m in line["messages"]]
    assert marks[0] == ("TransferOffer", "to", "Car", pytest.approx(0.4))
    assert marks[1] == ("TransferReady", "from", "Car", pytest.approx(96.0))
    assert len(marks) == 7
    assert line["length_ms"] >= 263.0
    assert {(x["from"], x["to"], x["label"]) for x in body["arrows"]} >= {
        ("alice-phone", "alice-car", "TransferOffer"),
        ("alice-car", "alice-phone", "TransferDone"),
    }
    assert body["names"]["alice-living"] == "Living Room"
    assert collector.http is not None
    async with collector.http.get(
        collector.base + "/api/transfers/t-7", headers=collector.auth("bob")
    ) as response:
        assert response.status == 404


async def test_a_session_view_lists_commands_and_state_changes_with_revisions(collector):
    messages = [
        samples.Message(ALICE_PHONE, ALICE_SPEAKER, kind="Command", seq=n, session_id="s-9")
        for n in (1, 2)
    ]
    await _post(collector, samples.traces_request(messages))
    state = samples.logs_request(
        ALICE_SPEAKER,
        a.EVENT_STATE_CHANGED,
        {a.SESSION_ID: "s-9", a.REVISION: 3, a.REASON: "COMMAND"},
    )
    assert (await collector.post("logs", state.SerializeToString())).status == 200
    body = await collector.get_json("/api/sessions/s-9", "alice")
    entries = body["entries"]
    commands = [e for e in entries if e["kind"] == "command"]
    assert [(c["revision"], c["device"]["name"], c["peer"]["name"]) for c in commands] == [
        (1, "Alice's phone", "Kitchen speaker"),
        (2, "Alice's phone", "Kitchen speaker"),
    ]  # one entry per command, both halves merged
    (change,) = [e for e in entries if e["kind"] == "state"]
    assert (change["text"], change["revision"], change["device"]["name"]) == (
        "state changed: COMMAND",
        3,
        "Kitchen speaker",
    )
    assert collector.http is not None
    async with collector.http.get(
        collector.base + "/api/sessions/s-9", headers=collector.auth("bob")
    ) as response:
        assert response.status == 404


async def test_the_token_may_come_in_the_header_backstages_proxy_forwards(collector):
    assert collector.http is not None
    headers = {"X-Baton-Token": collector.tokens["alice"]}
    async with collector.http.get(collector.base + "/api/whoami", headers=headers) as response:
        assert (await response.json())["name"] == "alice"
    # It wins over an Authorization header that holds someone else's (Backstage's) token.
    headers["Authorization"] = "Bearer backstage-token"
    async with collector.http.get(collector.base + "/api/whoami", headers=headers) as response:
        assert response.status == 200
    async with collector.http.get(
        collector.base + "/api/whoami", headers={"X-Baton-Token": "nope"}
    ) as response:
        assert response.status == 401
