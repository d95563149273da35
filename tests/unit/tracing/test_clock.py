"""Clock offsets measured by the collector from cross-device span pairs, against injected skews."""

from __future__ import annotations

import random

import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from tests.unit.tracing.support import ALICE_PHONE, ALICE_SPEAKER, BOB_CAR, BOB_PHONE
from tracing import _clock, _clock_table, samples
from tracing._clock import LinkBounds, Sample, estimate_offsets, link_bounds
from tracing._otlp import decode
from tracing._query import EVERYTHING, Scope
from tracing._store import Store
from tracing.attributes import pseudonymise_user
from tracing.samples import Device

MS = 1_000_000
TOLERANCE_MS = 0.5  # with loopback-like delays of 0.3-4 ms and 200 messages each way


def _exchange(rng: random.Random, a: str, b: str, skew_ns: int, n: int = 200) -> list[Sample]:
    """Messages both ways between *a* and *b*, where clock(b) = clock(a) + skew."""
    out = []
    for _ in range(n):
        delay = rng.randint(300_000, 4 * MS)
        out.append(Sample(a, b, skew_ns + delay))  # sent on a's clock, handled on b's
        out.append(Sample(b, a, -skew_ns + rng.randint(300_000, 4 * MS)))
    return out


@pytest.mark.parametrize("skew_ms", [0.0, 37.5, -212.25, 3_600_000.0])
def test_the_estimate_is_within_tolerance_of_the_injected_skew(skew_ms):
    rng = random.Random(7)
    bounds = link_bounds(_exchange(rng, "phone", "speaker", round(skew_ms * MS)))
    estimates = estimate_offsets(bounds.values())
    speaker, phone = estimates["speaker"], estimates["phone"]
    assert phone.reference == speaker.reference == "phone"  # no controller named: smaller id
    assert speaker.offset_ms == pytest.approx(skew_ms, abs=TOLERANCE_MS)
    # The uncertainty is honest: the true skew lies within it.
    assert abs(speaker.offset_ms - skew_ms) <= speaker.uncertainty_ms
    assert speaker.uncertainty_ms <= TOLERANCE_MS
    assert speaker.consistent


def test_offsets_chain_through_the_most_linked_device_and_add_their_uncertainty():
    rng = random.Random(3)
    # The phone talks to both; the speaker and the car never talk to each other.
    links = _exchange(rng, "phone", "speaker", 12_500_000) + _exchange(rng, "car", "phone", 40 * MS)
    estimates = estimate_offsets(link_bounds(links).values())
    assert {e.reference for e in estimates.values()} == {"phone"}
    assert estimates["speaker"].offset_ms == pytest.approx(12.5, abs=TOLERANCE_MS)
    assert estimates["car"].offset_ms == pytest.approx(-40.0, abs=TOLERANCE_MS)


def test_on_a_tie_a_controller_is_the_reference():
    bounds = link_bounds(_exchange(random.Random(5), "a-speaker", "b-phone", 2 * MS))
    estimates = estimate_offsets(bounds.values(), preferred={"b-phone"})
    assert estimates["a-speaker"].reference == "b-phone"
    assert estimates["a-speaker"].offset_ms == pytest.approx(-2.0, abs=TOLERANCE_MS)


def test_one_way_traffic_gives_a_bound_but_no_estimate():
    bounds = link_bounds([Sample("phone", "speaker", 5 * MS), Sample("phone", "speaker", 4 * MS)])
    assert bounds[("phone", "speaker")] == LinkBounds("phone", "speaker", None, 4 * MS)
    assert estimate_offsets(bounds.values()) == {}


def test_crossed_bounds_are_flagged_inconsistent():
    # θ ≤ 1 ms from the first message, θ ≥ 5 ms from the second: a clock stepped in between.
    bounds = link_bounds([Sample("phone", "speaker", 1 * MS), Sample("speaker", "phone", -5 * MS)])
    speaker = estimate_offsets(bounds.values())["speaker"]
    assert not speaker.consistent
    assert speaker.offset_ms == pytest.approx(3.0)
    assert speaker.uncertainty_ms == pytest.approx(2.0)


def _per_device_requests(messages: list[samples.Message]) -> list[bytes]:
    """One request per device, as each device's SDK exports its own half."""
    request = samples.traces_request(messages)
    return [
        trace_service_pb2.ExportTraceServiceRequest(resource_spans=[group]).SerializeToString()
        for group in request.resource_spans
    ]


def _messages(rng: random.Random, a: Device, b: Device, skew_ns: int, n: int):
    out = []
    for i in range(n):
        out.append(samples.Message(a, b, seq=i, latency_ns=skew_ns + rng.randint(300_000, 4 * MS)))
        out.append(samples.Message(b, a, seq=i, latency_ns=-skew_ns + rng.randint(300_000, 4 * MS)))
    return out


def test_the_collector_measures_offsets_from_spans_arriving_in_either_order(tmp_path):
    rng = random.Random(11)
    store = Store(tmp_path / "db")
    alice = _messages(rng, ALICE_PHONE, ALICE_SPEAKER, 37_500_000, 50)
    bob = _messages(rng, BOB_PHONE, BOB_CAR, -90 * MS, 50)
    # Receivers' halves first for Alice (paired from the sender's side), senders' first for Bob.
    for body in _per_device_requests(alice)[::-1] + _per_device_requests(bob):
        store.insert(decode("traces", body, "application/x-protobuf"))
    alice_scope = Scope(pseudonymise_user("alice"))

    def alice_relative() -> float:
        view = {d["device_id"]: d["clock"] for d in store.devices(alice_scope)}
        assert view.keys() == {"alice-phone", "alice-kitchen"}
        kitchen, phone = view["alice-kitchen"], view["alice-phone"]
        assert kitchen["consistent"]
        assert phone["consistent"]
        return float(kitchen["offset_ms"] - phone["offset_ms"])  # whichever is the reference

    assert alice_relative() == pytest.approx(37.5, abs=TOLERANCE_MS)
    # And one batch holding both halves (paired inside the batch).
    both = samples.traces_request(_messages(rng, ALICE_PHONE, ALICE_SPEAKER, 37_500_000, 5))
    store.insert(decode("traces", both.SerializeToString(), "application/x-protobuf"))
    assert alice_relative() == pytest.approx(37.5, abs=TOLERANCE_MS)

    everyone = {d["device_id"]: d["clock"] for d in store.devices(EVERYTHING)}
    assert everyone["bob-car"]["offset_ms"] - everyone["bob-phone"]["offset_ms"] == pytest.approx(
        -90.0, abs=TOLERANCE_MS
    )
    # No link between two users' devices: each user's devices have their own reference.
    assert everyone["bob-car"]["reference"] in ("bob-car", "bob-phone")
    store.close()


def test_devices_without_two_way_messages_have_no_clock(tmp_path):
    store = Store(tmp_path / "db")
    one_way = samples.traces_request([samples.Message(ALICE_PHONE, ALICE_SPEAKER)])
    store.insert(decode("traces", one_way.SerializeToString(), "application/x-protobuf"))
    assert [d["clock"] for d in store.devices(EVERYTHING)] == [None, None]
    store.close()


def test_each_link_keeps_its_newest_window_of_samples(tmp_path, monkeypatch):
    store = Store(tmp_path / "t.db")
    db = store.connection
    for n in range(_clock.WINDOW + 5):
        pairs = {("u", "a", "b"): n, ("u", "b", "a"): -n}
        monkeypatch.setattr(_clock_table, "_tightest_pairs", lambda *_, pairs=pairs: pairs)
        _clock_table.add_samples(db, [], 0)
    kept = db.execute(
        "SELECT delta_ns FROM clock_samples WHERE from_device = 'a' ORDER BY id"
    ).fetchall()
    assert [d for (d,) in kept] == list(range(5, _clock.WINDOW + 5))
    (other,) = db.execute("SELECT COUNT(*) FROM clock_samples WHERE from_device = 'b'").fetchone()
    assert other == _clock.WINDOW
