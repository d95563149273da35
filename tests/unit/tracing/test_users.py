"""Token lifetime: a change of users counts at once, in a running collector, without a restart."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from tests.unit.tracing.support import (
    ALICE_PHONE,
    ALICE_SPEAKER,
    BOB_CAR,
    BOB_PHONE,
    Running,
    SseReader,
    running_collector,
)
from tracing import cli, samples
from tracing._store import Store
from tracing.attributes import pseudonymise_user

# These collectors take traces without a token (--open-ingest), and say so.
pytestmark = pytest.mark.warning_logs(r"ingest is open \(--open-ingest\)")


async def _status(collector: Running, path: str, token: str) -> int:
    assert collector.http is not None
    headers = {"Authorization": f"Bearer {token}"}
    async with collector.http.get(collector.base + path, headers=headers) as response:
        return response.status


def _cli(db, *words: str) -> int:
    return cli.main([*words, "--db", str(db)])


async def _until_closed(stream: SseReader) -> None:
    """Read events until the collector ends the stream (fails after 10 s)."""
    with contextlib.suppress(EOFError):
        async with asyncio.timeout(10):
            while True:
                await stream.next()


async def _send(collector: Running, sender, receiver) -> None:
    request = samples.traces_request([samples.Message(sender, receiver)])
    assert (await collector.post("traces", request.SerializeToString())).status == 200


async def test_a_rotated_token_stops_working_at_once_and_the_new_one_works(tmp_path, capsys):
    db = tmp_path / "traces.db"
    async with running_collector(db) as collector:
        old = collector.tokens["alice"]
        assert await _status(collector, "/api/whoami", old) == 200
        assert _cli(db, "user", "rotate", "alice") == 0
        new = capsys.readouterr().out.strip().splitlines()[-1]
        assert await _status(collector, "/api/whoami", old) == 401
        assert await _status(collector, "/api/whoami", new) == 200
        # `user add` of an existing user re-keys too.
        assert _cli(db, "user", "add", "alice") == 0
        newer = capsys.readouterr().out.strip().splitlines()[-1]
        assert await _status(collector, "/api/whoami", new) == 401
        assert await _status(collector, "/api/whoami", newer) == 200


async def test_a_demoted_admin_sees_only_their_own_devices_at_once(tmp_path, capsys):
    db = tmp_path / "traces.db"
    async with running_collector(db) as collector:
        await _send(collector, ALICE_PHONE, ALICE_SPEAKER)
        await _send(collector, BOB_PHONE, BOB_CAR)
        assert len(await collector.get_json("/api/devices", "root")) == 4
        assert _cli(db, "user", "role", "root", "viewer") == 0
        assert await collector.get_json("/api/devices", "root") == []
        assert (await collector.get_json("/api/whoami", "root"))["admin"] is False
        assert _cli(db, "user", "role", "alice", "admin") == 0
        assert len(await collector.get_json("/api/devices", "alice")) == 4


async def test_a_removed_user_is_refused_and_their_ingest_tokens_too(tmp_path):
    db = tmp_path / "traces.db"
    async with running_collector(db, open_ingest=False) as collector:
        body = samples.traces_request([samples.Message(BOB_PHONE, BOB_CAR)]).SerializeToString()
        assert (await collector.post("traces", body, sender="bob")).status == 200
        assert _cli(db, "user", "remove", "bob") == 0
        assert await _status(collector, "/api/whoami", collector.tokens["bob"]) == 401
        assert (await collector.post("traces", body, sender="bob")).status == 401
        assert _cli(db, "user", "remove", "bob") == 1  # no such user any more: said, not raised


async def test_an_open_stream_of_a_demoted_admin_is_closed_and_reopens_narrower(tmp_path):
    db = tmp_path / "traces.db"
    async with running_collector(db, auth_check_interval_s=0.05) as collector:
        assert collector.http is not None
        headers = collector.auth("root")
        async with collector.http.get(
            collector.base + "/api/stream?backlog=0", headers=headers
        ) as response:
            stream = SseReader(response)
            await _send(collector, BOB_PHONE, BOB_CAR)
            assert len(await stream.records(2)) == 2  # an admin sees bob's devices
            assert _cli(db, "user", "role", "root", "viewer") == 0
            await _until_closed(stream)
        async with collector.http.get(
            collector.base + "/api/stream?backlog=0", headers=headers
        ) as response:
            stream = SseReader(response)
            await _send(collector, BOB_PHONE, BOB_CAR)  # no longer root's to see
            root_phone = samples.Device("root-phone", "Root's phone", "controller", "root")
            await _send(collector, root_phone, root_phone)
            records = await stream.records(2)
            assert {r["user_id"] for r in records} == {pseudonymise_user("root")}


async def test_a_revoked_token_ends_an_open_stream(tmp_path):
    db = tmp_path / "traces.db"
    async with running_collector(db, auth_check_interval_s=0.05) as collector:
        assert collector.http is not None
        async with collector.http.get(
            collector.base + "/api/stream?backlog=0", headers=collector.auth("alice")
        ) as response:
            stream = SseReader(response)
            assert _cli(db, "user", "rotate", "alice") == 0
            await _until_closed(stream)
        assert await _status(collector, "/api/stream", collector.tokens["alice"]) == 401


def test_user_list_shows_roles_and_ingest_labels(tmp_path, capsys):
    db = tmp_path / "traces.db"
    store = Store(db)
    store.add_user("alice")
    store.add_user("root", admin=True)
    store.add_ingest_token("alice", "kitchen")
    store.add_ingest_token("alice", "car")
    store.close()
    assert _cli(db, "user", "list") == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split("\t")[:3] == ["alice", "viewer", pseudonymise_user("alice")]
    assert lines[0].endswith("ingest tokens: car, kitchen")
    assert lines[1].split("\t")[:2] == ["root", "admin"]
    assert _cli(db, "ingest", "remove", "alice", "--label", "car") == 0
    assert _cli(db, "ingest", "remove", "alice", "--label", "car") == 1
    assert _cli(db, "ingest", "add", "nobody") == 1
    assert _cli(db, "user", "rotate", "nobody") == 1


def test_a_new_token_can_follow_an_option_on_a_command_line(monkeypatch) -> None:
    """A token drawn with a leading "-" is drawn again: argparse would take it for an option."""
    from tracing import _users

    drawn = iter(["-starts-like-an-option", "fine-token"])
    monkeypatch.setattr(_users.secrets, "token_urlsafe", lambda _n: next(drawn))
    assert _users.new_token() == "fine-token"
