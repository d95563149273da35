"""CredentialStore: where it lives, what it writes, and how it treats a damaged file."""

from __future__ import annotations

import json
import multiprocessing
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connect.access import Credential, CredentialStore
from connect.access.credentials import config_dir
from connect.errors import CredentialStoreError
from connect.wire.messages import Role

DEVICE = "a" * 64
OTHER = "b" * 64
WHEN = datetime(2026, 11, 21, 22, 0, tzinfo=UTC)


def credential(device_id: str = DEVICE, token: str = "0badcafe.secret", **kw) -> Credential:
    fields = {"role": Role.OWNER, "device_name": "Kitchen", "paired_at": WHEN} | kw
    return Credential(device_id, token, **fields)


def test_config_dir_follows_the_environment(tmp_path: Path) -> None:
    assert config_dir({"BATON_CONFIG_DIR": str(tmp_path)}) == tmp_path
    assert config_dir({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "baton"
    both = {"BATON_CONFIG_DIR": str(tmp_path / "x"), "XDG_CONFIG_HOME": str(tmp_path)}
    assert config_dir(both) == tmp_path / "x"
    # a relative XDG_CONFIG_HOME is invalid by the spec: ignored
    assert config_dir({"XDG_CONFIG_HOME": "relative"}) == Path.home() / ".config" / "baton"
    assert config_dir({}) == Path.home() / ".config" / "baton"


def test_save_get_remove_round_trip(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path / "conf")
    assert store.get(DEVICE) is None
    assert store.token_for(DEVICE) == ""
    store.save(credential())
    store.save(credential(OTHER, "11111111.other", role=Role.GUEST, device_name="Car"))
    again = CredentialStore(tmp_path / "conf")  # another process reading the same file
    assert again.get(DEVICE) == credential()
    assert again.token_for(OTHER) == "11111111.other"
    assert [c.device_id for c in again.all()] == [DEVICE, OTHER]
    assert again.remove(DEVICE) is True
    assert again.remove(DEVICE) is False
    assert store.get(DEVICE) is None
    assert store.get(OTHER) is not None


def test_saving_again_replaces_the_device_credential(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path)
    store.save(credential(token="00000001.first"))
    store.save(credential(token="00000002.second", role=Role.CONTROLLER))
    held = store.get(DEVICE)
    assert held is not None
    assert (held.token, held.role) == ("00000002.second", Role.CONTROLLER)


def test_file_is_0600_in_a_0700_directory_and_holds_no_temporaries(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path / "new" / "baton")
    store.save(credential())
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    leftovers = [p.name for p in store.directory.iterdir() if p.name.startswith(".credentials-")]
    assert leftovers == []


def test_forget_token_keeps_a_newer_pairing(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path)
    store.save(credential(token="00000002.newer"))
    store.forget_token(DEVICE, "00000001.revoked")
    assert store.token_for(DEVICE) == "00000002.newer"
    store.forget_token(DEVICE, "00000002.newer")
    assert store.get(DEVICE) is None


def test_client_id_is_made_once_and_kept(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path)
    first = store.client_id()
    assert first
    store.save(credential())
    assert CredentialStore(tmp_path).client_id() == first


def test_repr_never_shows_the_token(tmp_path: Path) -> None:
    assert "secret" not in repr(credential(token="0badcafe.secret"))


def entry(**kw: str) -> dict[str, str]:
    return {"token": "t", "role": "owner", "paired_at": "2026-01-01T00:00:00+00:00"} | kw


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "[]",
        '{"format": 99, "devices": {}}',
        '{"format": 1, "devices": []}',
        json.dumps({"format": 1, "devices": {DEVICE: {"role": "owner"}}}),
        json.dumps({"format": 1, "devices": {DEVICE: entry(role="king")}}),
        json.dumps({"format": 1, "devices": {DEVICE: entry(paired_at="soon")}}),
        json.dumps({"format": 1, "devices": {DEVICE: entry(token="")}}),
        "\udcff",  # not UTF-8 once written with surrogateescape
    ],
)
def test_a_damaged_file_is_named_and_never_overwritten(tmp_path: Path, text: str) -> None:
    store = CredentialStore(tmp_path)
    store.path.write_bytes(text.encode("utf-8", "surrogateescape"))
    before = store.path.read_bytes()
    with pytest.raises(CredentialStoreError) as caught:
        store.get(DEVICE)
    assert str(store.path) in str(caught.value)
    assert caught.value.path == str(store.path)
    with pytest.raises(CredentialStoreError, match=r"pair again|cannot be read"):
        store.save(credential())
    with pytest.raises(CredentialStoreError):
        store.remove(DEVICE)
    assert store.path.read_bytes() == before


def test_an_unwritable_directory_gives_a_typed_error(tmp_path: Path) -> None:
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("x")
    with pytest.raises(CredentialStoreError, match="cannot create"):
        CredentialStore(blocked / "baton").save(credential())


def _save_many(directory: str, first: int) -> None:
    store = CredentialStore(Path(directory))
    for n in range(first, first + 20):
        store.save(credential(f"{n:064x}", token=f"{n:08x}.t"))


def test_two_processes_saving_at_once_lose_nothing(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_save_many, args=(str(tmp_path), s)) for s in (0, 100)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    stored = json.loads((tmp_path / "credentials.json").read_text())["devices"]
    assert len(stored) == 40
