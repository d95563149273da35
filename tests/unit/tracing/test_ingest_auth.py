"""Ingest authentication: an ingest token in `Authorization`, records filed under its user;
`--open-ingest` keeps the old trust-the-resource behaviour, and says so."""

from __future__ import annotations

import logging

from google.rpc import status_pb2

from tests.unit.tracing.support import ALICE_PHONE, ALICE_SPEAKER, BOB_CAR, running_collector
from tracing import samples
from tracing._store import Store
from tracing.attributes import pseudonymise_user


def _alice_body() -> bytes:
    return samples.traces_request([samples.Message(ALICE_PHONE, ALICE_SPEAKER)]).SerializeToString()


async def test_closed_ingest_needs_an_ingest_token(tmp_path):
    async with running_collector(tmp_path / "db", open_ingest=False) as collector:
        none = await collector.post("traces", _alice_body())
        assert none.status == 401
        assert none.headers["WWW-Authenticate"] == "Bearer"
        status = status_pb2.Status()
        status.ParseFromString(await none.read())
        assert "ingest add" in status.message
        wrong = await collector.post("traces", _alice_body(), Authorization="Bearer nope")
        assert wrong.status == 401
        viewer = await collector.post(
            "logs", _alice_body(), Authorization=f"Bearer {collector.tokens['alice']}"
        )
        assert viewer.status == 401
        status.ParseFromString(await viewer.read())
        assert "viewer token" in status.message
        assert collector.collector.ingested == 0
        assert (await collector.post("traces", _alice_body(), sender="alice")).status == 200
        assert collector.collector.ingested == 2


async def test_records_are_filed_under_the_tokens_user_whatever_they_claim(tmp_path):
    async with running_collector(tmp_path / "db", open_ingest=False) as collector:
        # Bob's device claims to be Alice's (the pseudonym is computable from a name).
        forged = await collector.post("traces", _alice_body(), sender="bob")
        assert forged.status == 200
        assert await collector.get_json("/api/search", "alice") == []
        rows = await collector.get_json("/api/search", "bob")
        assert len(rows) == 2
        assert {r["user_id"] for r in rows} == {pseudonymise_user("bob")}
        assert {r["data"]["resource"]["baton.user.id"] for r in rows} == {pseudonymise_user("bob")}


async def test_a_revoked_ingest_token_is_refused_at_once(tmp_path):
    db = tmp_path / "db"
    async with running_collector(db, open_ingest=False) as collector:
        assert (await collector.post("traces", _alice_body(), sender="alice")).status == 200
        store = Store(db)
        from tracing import _users

        assert _users.remove_ingest_token(store.connection, "alice", "test")
        store.close()
        assert (await collector.post("traces", _alice_body(), sender="alice")).status == 401


async def test_open_ingest_trusts_the_resource_says_so_and_still_checks_a_given_token(
    tmp_path, caplog
):
    caplog.set_level(logging.WARNING, logger="tracing._server")
    async with running_collector(tmp_path / "db", open_ingest=True) as collector:
        assert any("--open-ingest" in r.getMessage() for r in caplog.records)
        assert (await collector.post("traces", _alice_body())).status == 200
        assert len(await collector.get_json("/api/search", "alice")) == 2
        bad = await collector.post("traces", _alice_body(), Authorization="Bearer nope")
        assert bad.status == 401
        car = samples.traces_request([samples.Message(BOB_CAR, BOB_CAR)]).SerializeToString()
        assert (await collector.post("traces", car, sender="alice")).status == 200
        assert {r["device_id"] for r in await collector.get_json("/api/search", "alice")} == {
            "alice-phone",
            "alice-kitchen",
            "bob-car",  # filed under alice: her token sent it
        }
