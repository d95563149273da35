"""Receiver settings (file + flags) and the saved session (atomic, validated, never fatal)."""

from __future__ import annotations

from pathlib import Path

import pytest

from connect.wire import messages as m
from devices.cli import with_environment
from devices.config import ConfigError, build_config, read_config_file
from devices.persistence import SESSION_FILE, SessionStore, StateDirError


def test_flags_win_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "receiver.toml"
    path.write_text('name = "Kitchen"\ntype = "tv"\nmax-volume = 80\ninterfaces = ["eth0"]\n')
    config = build_config(read_config_file(path), {"name": "Car", "type": None, "port": 4000})
    assert (config.name, config.type, config.port) == ("Car", "tv", 4000)
    assert config.max_volume == 80
    assert config.interfaces == ("eth0",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("volume = 3\n", "unknown setting"),
        ("name = \n", "receiver.toml"),  # TOML syntax error names the file
        ('type = "fridge"\n', "type must be one of"),
        ("max_volume = 101\n", "max-volume must be 0..100"),
        ('pairing = "qr"\n', "pairing must be pin or open"),
    ],
)
def test_bad_settings_are_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "receiver.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        build_config(read_config_file(path), {})


def test_a_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        read_config_file(tmp_path / "nope.toml")


def test_session_round_trips_with_its_position_frozen(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "state")
    store.prepare()
    item = m.QueueItem("u1", "http://h/a.wav")
    state = m.PlaybackState(
        "sess", 9, queue=(item,), current_uid="u1", volume=30,
        clock=m.PlaybackClock(1000, 5_000_000, 1.0, True), status=m.PlaybackStatus.PLAYING,
    )  # fmt: skip
    store.save_session(state, now_us=7_000_000)
    loaded = store.load_session()
    assert loaded is not None
    assert loaded.clock == m.PlaybackClock(3000, 0, 1.0, False)  # 1 s + 2 s played
    assert (loaded.session_id, loaded.revision, loaded.queue, loaded.volume) == (
        "sess", 9, (item,), 30,
    )  # fmt: skip


def test_the_device_id_is_stable(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    assert store.device_id() == SessionStore(tmp_path).device_id()


def test_pairing_defaults_to_pin() -> None:
    assert build_config({}, {}).pairing_mode is m.PairingMode.PIN
    assert build_config({"pairing": "OPEN"}, {}).pairing_mode is m.PairingMode.OPEN


def test_the_device_id_is_the_certificate_fingerprint_and_replaces_an_old_id(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "device-id").write_text("0123abcd")  # a state dir from before TLS
    store = SessionStore(tmp_path)
    device_id = store.device_id()
    assert device_id == store.tls_identity().fingerprint
    assert len(device_id) == 64
    assert not (tmp_path / "device-id").exists()
    assert "device id changed from 0123abcd" in caplog.text


@pytest.mark.warning_logs(r"saved session .* is unreadable")
def test_an_unreadable_session_is_kept_aside_not_fatal(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    (tmp_path / SESSION_FILE).write_bytes(b"\xff\x00 not a frame")
    assert store.load_session() is None
    assert (tmp_path / "session.unreadable").exists()


def test_an_unwritable_state_dir_is_a_typed_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StateDirError, match="not writable"):
        SessionStore(blocker / "state").prepare()


def test_trace_settings_come_from_the_file_then_the_flags_then_the_environment(
    tmp_path: Path,
) -> None:
    path = tmp_path / "receiver.toml"
    path.write_text('trace-endpoint = "http://10.0.0.5:4318"\ntrace-user = "alice"\n')
    environ = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318"}

    from_file = build_config(with_environment(read_config_file(path), environ), {})
    assert (from_file.trace_endpoint, from_file.trace_user) == ("http://10.0.0.5:4318", "alice")

    flag = {"trace_endpoint": "http://flag:4318", "trace_user": None}
    assert build_config(read_config_file(path), flag).trace_endpoint == "http://flag:4318"
    assert build_config(with_environment({}, environ), {}).trace_endpoint == "http://env:4318"
    assert build_config(with_environment({}, {}), {}).trace_endpoint == ""


def test_the_ingest_token_comes_from_the_file_and_a_flag_wins(tmp_path: Path) -> None:
    path = tmp_path / "receiver.toml"
    path.write_text('trace-endpoint = "http://10.0.0.5:4318"\ntrace-token = "from-file"\n')
    assert build_config(read_config_file(path), {}).trace_token == "from-file"
    flags = {"trace_token": "from-flag"}
    assert build_config(read_config_file(path), flags).trace_token == "from-flag"
    assert build_config({}, {}).trace_token == ""


def test_a_trace_endpoint_that_is_not_a_url_is_refused() -> None:
    with pytest.raises(ConfigError, match="trace-endpoint"):
        build_config({"trace_endpoint": "localhost:4318"}, {})
