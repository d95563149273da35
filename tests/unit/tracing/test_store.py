"""The SQLite store: de-duplication, retention by age and size, scoping by user."""

from __future__ import annotations

from tests.unit.tracing.support import ALICE_PHONE, ALICE_SPEAKER, BOB_CAR, BOB_PHONE
from tracing import samples
from tracing._otlp import decode
from tracing._query import EVERYTHING, Filters, Scope
from tracing._store import Store
from tracing.attributes import pseudonymise_user


def _records(sender, receiver, n):
    request = samples.traces_request(
        [samples.Message(sender, receiver, seq=i, session_id=f"s-{sender.user}") for i in range(n)]
    )
    return decode("traces", request.SerializeToString(), "application/x-protobuf")


def test_insert_returns_only_new_records_in_seq_order(tmp_path):
    store = Store(tmp_path / "db")
    records = _records(ALICE_PHONE, ALICE_SPEAKER, 3)
    first = store.insert(records)
    assert [r["seq"] for r in first] == [1, 2, 3, 4, 5, 6]
    assert store.insert(records) == []
    # Ignored duplicates may burn seq numbers (AUTOINCREMENT): seq grows, with gaps.
    new = store.insert(records[:2] + _records(ALICE_PHONE, ALICE_SPEAKER, 1))
    assert len(new) == 2
    assert 6 < new[0]["seq"] < new[1]["seq"]
    assert len(store.latest(EVERYTHING, Filters(), 100)) == 8
    store.close()


def test_retention_by_age_deletes_old_records(tmp_path):
    store = Store(tmp_path / "db")
    store.insert(_records(ALICE_PHONE, ALICE_SPEAKER, 5))
    assert store.enforce_retention(max_age_s=3600, max_bytes=1 << 30) == 0
    # Age 0: everything received before now is too old.
    assert store.enforce_retention(max_age_s=0, max_bytes=1 << 30) == 10
    assert store.deleted_through() == 10
    assert store.latest(EVERYTHING, Filters(), 100) == []
    store.close()


def test_retention_by_size_keeps_the_newest(tmp_path):
    store = Store(tmp_path / "db")
    for _ in range(20):
        store.insert(_records(ALICE_PHONE, ALICE_SPEAKER, 50))
    used = store.used_bytes()
    deleted = store.enforce_retention(max_age_s=3600, max_bytes=used // 3)
    assert deleted > 0
    assert store.used_bytes() <= used // 3
    remaining = store.latest(EVERYTHING, Filters(), 10_000)
    assert remaining[-1]["seq"] == 2000  # the newest survived
    assert store.oldest_seq() == remaining[0]["seq"] > 1
    store.close()


def test_scope_and_filters_restrict_queries(tmp_path):
    store = Store(tmp_path / "db")
    store.insert(_records(ALICE_PHONE, ALICE_SPEAKER, 2) + _records(BOB_PHONE, BOB_CAR, 3))
    alice = Scope(pseudonymise_user("Alice "))  # names are normalised before hashing
    assert {r["device_id"] for r in store.latest(alice, Filters(), 100)} == {
        "alice-phone",
        "alice-kitchen",
    }
    assert {d["device_id"] for d in store.devices(alice)} == {"alice-phone", "alice-kitchen"}
    assert [g["id"] for g in store.groups(alice, "session_id")] == ["s-alice"]
    assert len(store.latest(EVERYTHING, Filters(device="bob-car"), 100)) == 6
    assert store.latest(alice, Filters(device="bob-car"), 100) == []
    assert len(store.latest(EVERYTHING, Filters(text="handle"), 100)) == 5
    assert len(store.latest(EVERYTHING, Filters(text="100%"), 100)) == 0
    store.close()


def test_tokens_map_to_users_and_are_stored_hashed(tmp_path):
    store = Store(tmp_path / "db")
    token = store.add_user("alice")
    user = store.user_for_token(token)
    assert user is not None
    assert user.user_id == pseudonymise_user("alice")
    assert not user.admin
    assert store.user_for_token(token + "x") is None
    assert (tmp_path / "db").read_bytes().find(token.encode()) == -1
    new_token = store.add_user("alice")
    assert store.user_for_token(token) is None
    assert store.user_for_token(new_token) == user
    store.close()


def test_a_record_naming_its_own_device_is_filed_under_it(tmp_path):
    # The app's in-process "This computer" shares the app's resource and names itself per span.
    from tracing import attributes as a

    request = samples.traces_request([samples.Message(ALICE_PHONE, ALICE_SPEAKER)])
    handle = request.resource_spans[1].scope_spans[0].spans[0]
    handle.attributes.extend(
        samples.key_values(
            {a.DEVICE_ID: "alice-laptop", a.DEVICE_NAME: "This computer", a.DEVICE_TYPE: "receiver"}
        )
    )
    request.resource_spans[1].resource.CopyFrom(ALICE_PHONE.resource())  # the process's resource
    store = Store(tmp_path / "db")
    rows = store.insert(decode("traces", request.SerializeToString(), "application/x-protobuf"))
    assert {r["name"]: r["device_id"] for r in rows} == {
        "send Command": "alice-phone",
        "handle Command": "alice-laptop",
    }
    devices = {d["device_id"]: d for d in store.devices(Scope(pseudonymise_user("alice")))}
    assert devices["alice-laptop"]["name"] == "This computer"
    assert devices["alice-laptop"]["type"] == "receiver"
    assert devices["alice-phone"]["name"] == "Alice's phone"
    store.close()
