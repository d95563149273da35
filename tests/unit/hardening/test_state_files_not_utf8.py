"""Every state file the receiver or a controller reads, filled with bytes that are not UTF-8.

Issue 13: a `tokens.json` that was not UTF-8 ended the receiver with a bare UnicodeDecodeError.
Each reader now refuses with a message naming the file and what to do, or, for a file that is
only a preference or a cache, goes on without it and says which file it set aside or ignored.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from client.app import settings_store
from client.app.core import remembered_port
from client.cli import main as baton
from connect.access import CredentialStore
from connect.errors import CredentialStoreError
from connect.wire import messages as m
from devices import cli as receiver_cli
from devices.check import check_access
from devices.config import ConfigError, ReceiverConfig, read_config_file
from devices.persistence import SessionStore, StateDirError
from devices.tokens import CorruptTokenFileError, TokenStore
from tracing.spool import Spool

NOT_UTF8 = b'{"version": 1, "name": "K\xfcche"}\n'  # Latin-1 "ü": the classic mix-up


def test_tokens_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tokens.json"
    path.write_bytes(NOT_UTF8)
    with pytest.raises(CorruptTokenFileError) as refused:
        TokenStore(tmp_path).load()
    said = str(refused.value)
    assert said.startswith(f"{path} is not UTF-8 text (byte 0xfc at offset 25): ")
    assert "move it away and pair the controllers again" in said
    # `baton-receiver tokens list` and `--check` say the same, and the file is left alone.
    assert receiver_cli.main(["tokens", "list", "--state-dir", str(tmp_path)]) == 1
    assert capsys.readouterr().err == f"baton-receiver: {said}\n"
    checked = check_access(ReceiverConfig(name="K", state_dir=tmp_path, pairing="pin"))
    assert not checked.ok
    assert said in checked.detail
    assert path.read_bytes() == NOT_UTF8


def test_credentials_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "credentials.json"
    path.write_bytes(NOT_UTF8)
    with pytest.raises(CredentialStoreError) as refused:
        CredentialStore(tmp_path).get("device")
    assert str(refused.value) == (
        f"credentials file {path} is damaged (not UTF-8 text (byte 0xfc at offset 25)); fix it, "
        "or move it away and pair again (`baton pair DEVICE`); Baton leaves it as it is"
    )
    monkeypatch.setenv("BATON_CONFIG_DIR", str(tmp_path))
    assert baton(["forget", "Kitchen"]) == 1
    assert capsys.readouterr().err == f"baton forget: {refused.value}\n"
    assert path.read_bytes() == NOT_UTF8


def test_the_saved_session(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = SessionStore(tmp_path)
    store.save_session(m.PlaybackState(session_id="sessionAAAA", revision=3), 0)
    path = tmp_path / "session.bin"
    path.write_bytes(path.read_bytes().replace(b"AAAA", b"\xff\xfe\xfd\xfc"))
    assert store.load_session() is None  # a fresh session, rather than no receiver
    assert not path.exists()
    assert (tmp_path / "session.unreadable").exists()
    assert f"saved session {path} is unreadable" in caplog.text
    assert f"kept as {tmp_path / 'session.unreadable'}" in caplog.text


def test_the_tls_certificate(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    store.tls_identity()
    cert = tmp_path / "tls" / "cert.pem"
    cert.write_bytes(b"\xfc" + cert.read_bytes())
    with pytest.raises(StateDirError) as refused:
        store.tls_identity()
    said = str(refused.value)
    assert "cert.pem is not ASCII text (byte 0xfc at offset 0)" in said
    assert str(tmp_path / "tls") in said
    assert "move key.pem and cert.pem away to make a new identity" in said


def test_the_legacy_device_id_and_the_name(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SessionStore(tmp_path)
    (tmp_path / "device-id").write_bytes(b"\xfc\xfd")
    identity = store.tls_identity()  # only logged, then removed
    assert not (tmp_path / "device-id").exists()
    assert identity.fingerprint in caplog.text
    (tmp_path / "name").write_bytes(b"K\xfcche")
    with caplog.at_level(logging.WARNING):
        assert store.load_name() is None
    assert (
        f"{tmp_path / 'name'} is not UTF-8 text (byte 0xfc at offset 1); using the configured "
        "name: rename the device, or remove the file"
    ) in caplog.text


def test_the_pairing_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "pairing-code"
    path.write_bytes(b"12\xfc456\n")
    assert receiver_cli.main(["pairing-code", "--state-dir", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        f"baton-receiver: {path} is not UTF-8 text (byte 0xfc at offset 2), so not a pairing "
        "code; the receiver writes a new one when it starts, and after every pairing\n"
    )


def test_the_receiver_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "receiver.toml"
    path.write_bytes(b'name = "K\xfcche"\n')
    with pytest.raises(ConfigError) as refused:
        read_config_file(path)
    said = f"config file {path} is not UTF-8 text (byte 0xfc at offset 9): save it as UTF-8"
    assert str(refused.value) == said
    assert receiver_cli.main(["--config", str(path)]) == 2
    assert capsys.readouterr().err == f"baton-receiver: {said}\n"


def test_the_apps_settings(tmp_path: Path) -> None:
    path = tmp_path / "app.toml"
    path.write_bytes(b'device-name = "K\xfcche"\n')
    stored = settings_store.load(path)
    assert stored == settings_store.StoredSettings()  # the defaults, and the app starts
    assert stored.problem == (
        f"Settings file {path} is not UTF-8 text (byte 0xfc at offset 16): the defaults are "
        "used; fix the file, or save in Settings to replace it"
    )
    path.write_text("device-name = \n")
    assert "is not valid TOML" in settings_store.load(path).problem
    assert settings_store.load(tmp_path / "absent.toml").problem == ""


def test_the_apps_media_port(tmp_path: Path) -> None:
    path = tmp_path / "media-port"
    path.write_bytes(b"80\xfc80\n")
    assert remembered_port(path) == 0  # only a preference: any free port
    path.write_text("8080\n")
    assert remembered_port(path) == 8080


def test_the_trace_spool(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "trace-spool.sqlite3"
    path.write_bytes(NOT_UTF8 * 100)
    spool = Spool(path)  # unsent telemetry is set aside, never a reason not to start
    spool.append("traces", b"body")
    assert spool.oldest() is not None
    assert (tmp_path / "trace-spool.unreadable").read_bytes() == NOT_UTF8 * 100
    assert f"trace spool {path} is not a spool" in caplog.text
