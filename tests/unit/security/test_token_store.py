"""The receiver's token store: hashes only, private, atomic, typed errors, sees other writers."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import pytest

from connect.wire import messages as m
from devices.tokens import MAX_REVOKED, CorruptTokenFileError, TokenStore, TokenStoreError

ANNA = m.ClientIdentity("anna-laptop", "Anna's laptop")
BEN = m.ClientIdentity("ben-phone", "Ben's phone", m.DeviceType.PHONE, "baton 0.1")


def store_in(path: Path) -> TokenStore:
    store = TokenStore(path, wall_ms=lambda: 1_700_000_000_000)
    store.load()
    return store


def test_a_token_is_found_by_its_text_and_only_its_hash_is_on_disk(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    token = store.issue(ANNA, m.Role.OWNER)
    record = store.find(token)
    assert record is not None
    assert (record.role, record.client, record.created_unix_ms) == (
        m.Role.OWNER, ANNA, 1_700_000_000_000,
    )  # fmt: skip
    text = store.path.read_text()
    assert token not in text
    assert token.split(".")[1] not in text
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store.find(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert store.find("garbage") is None


def test_tokens_survive_a_restart_and_only_the_token_named_is_replaced(
    tmp_path: Path,
) -> None:
    store = store_in(tmp_path)
    first = store.issue(ANNA, m.Role.OWNER)
    guest = store.issue(BEN, m.Role.GUEST)
    # The same client id is a label, not a claim on the token issued under it.
    claimed = store.issue(ANNA, m.Role.CONTROLLER)
    again = store_in(tmp_path)
    assert again.find(first) is not None
    assert again.find(claimed) is not None
    second = again.issue(ANNA, m.Role.OWNER, replaces=first.split(".")[0])
    again = store_in(tmp_path)
    assert again.find(first) is None
    assert again.find(second) is not None
    assert again.find(claimed) is not None
    assert again.find(guest) is not None
    assert [r.client.id for r in again.records()].count(ANNA.id) == 2
    assert again.has_owner()


def test_revoking_removes_the_token_for_good(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    token = store.issue(BEN, m.Role.CONTROLLER)
    token_id = token.split(".")[0]
    assert store.revoke(token_id)
    assert store.find(token) is None
    assert not store.revoke(token_id)
    assert store_in(tmp_path).find(token) is None


def test_a_revoked_or_replaced_token_is_remembered_as_revoked(tmp_path: Path) -> None:
    now = [1_700_000_000_000]
    store = TokenStore(tmp_path, wall_ms=lambda: now[0])
    store.load()
    revoked = store.issue(BEN, m.Role.CONTROLLER)
    replaced = store.issue(ANNA, m.Role.OWNER)
    assert not store.is_revoked(revoked)
    store.revoke(revoked.split(".")[0])
    store.issue(ANNA, m.Role.OWNER, replaces=replaced.split(".")[0])
    again = store_in(tmp_path)  # a restart: still known as revoked, and never valid
    for token in (revoked, replaced):
        assert again.is_revoked(token)
        assert again.find(token) is None
    guess = revoked.split(".")[0] + "." + "A" * 43  # the public id alone proves nothing
    assert not again.is_revoked(guess)
    assert "sha256" in json.loads(store.path.read_text())["revoked"][0]
    assert revoked not in store.path.read_text()


def test_only_the_newest_revoked_tokens_are_remembered(tmp_path: Path) -> None:
    now = [1_700_000_000_000]
    store = TokenStore(tmp_path, wall_ms=lambda: now[0])
    store.load()
    tokens = [store.issue(BEN, m.Role.GUEST) for _ in range(MAX_REVOKED + 2)]
    for token in tokens:
        now[0] += 1
        store.revoke(token.split(".")[0])
    assert [store.is_revoked(t) for t in tokens[:3]] == [False, False, True]
    assert store.is_revoked(tokens[-1])
    assert len(json.loads(store.path.read_text())["revoked"]) == MAX_REVOKED


def test_a_revocation_by_another_process_is_seen(tmp_path: Path) -> None:
    running = store_in(tmp_path)
    token = running.issue(BEN, m.Role.CONTROLLER)
    keep = running.issue(ANNA, m.Role.OWNER)
    assert running.reload_if_changed() == ()  # its own writes are not news
    cli = store_in(tmp_path)
    assert cli.revoke(token.split(".")[0])
    assert running.reload_if_changed() == (token.split(".")[0],)
    assert running.find(token) is None
    assert running.find(keep) is not None


def test_a_use_by_the_receiver_does_not_undo_a_revocation_by_the_cli(tmp_path: Path) -> None:
    running = store_in(tmp_path)
    token = running.issue(BEN, m.Role.CONTROLLER)
    token_id = token.split(".")[0]
    store_in(tmp_path).revoke(token_id)  # the CLI, before the receiver noticed
    running.touch(token_id)  # a write from a stale view must start from the file
    assert store_in(tmp_path).find(token) is None


def test_a_full_disk_is_a_typed_error_and_nothing_is_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = store_in(tmp_path)
    kept = store.issue(ANNA, m.Role.OWNER)
    before = store.path.read_bytes()

    def no_space(fd: int) -> None:  # where a full disk shows with delayed allocation
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(TokenStoreError, match="No space left"):
        store.issue(BEN, m.Role.GUEST)
    with pytest.raises(TokenStoreError):
        store.revoke(kept.split(".")[0])
    monkeypatch.undo()
    assert store.path.read_bytes() == before
    assert [r.client for r in store.records()] == [ANNA]
    assert store.find(kept) is not None
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_an_unusable_state_dir_is_a_typed_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(TokenStoreError):
        TokenStore(blocker).load()


@pytest.mark.warning_logs(r"is not a token file")
def test_a_corrupt_file_is_refused_not_emptied(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    store.issue(ANNA, m.Role.OWNER)
    store.path.write_text('{"version": 1, "tokens": [{"id": 3}]}')
    with pytest.raises(CorruptTokenFileError):
        store_in(tmp_path)
    # A running receiver keeps what it knew rather than locking everyone out.
    assert store.reload_if_changed() == ()
    assert store.has_owner()


def test_the_file_is_readable_json_for_people(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    store.issue(BEN, m.Role.GUEST)
    document = json.loads(store.path.read_text())
    (entry,) = document["tokens"]
    assert entry["role"] == "guest"
    assert entry["client"] == {
        "id": BEN.id,
        "name": BEN.name,
        "type": "phone",
        "software": "baton 0.1",
    }
    assert len(entry["sha256"]) == 64


def test_last_use_is_saved_to_the_minute(tmp_path: Path) -> None:
    now = [1_700_000_000_000]
    store = TokenStore(tmp_path, wall_ms=lambda: now[0])
    store.load()
    token_id = store.issue(ANNA, m.Role.OWNER).split(".")[0]
    store.touch(token_id)
    written = store.path.stat().st_mtime_ns, store.path.read_text()
    now[0] += 30_000
    store.touch(token_id)  # within the minute: no write
    assert (store.path.stat().st_mtime_ns, store.path.read_text()) == written
    now[0] += 31_000
    store.touch(token_id)
    (record,) = store_in(tmp_path).records()
    assert record.last_used_unix_ms == now[0]
