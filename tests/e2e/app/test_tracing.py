"""The app traces when told to: a command started from the window reaches the collector as the
app controller's spans, and the in-process "This computer" answers on a lifeline of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from client.app.bridge import Bridge, CoreThread
from client.app.main import LaunchOptions, app_settings
from client.app.settings_store import StoredSettings
from client.app.window import MainWindow
from client.lifeline import controller_lifeline
from tests.e2e.app.keys import press, walk_to
from tests.unit.tracing.support import reset_otel_globals
from tracing._export import pair_arrows
from tracing._query import EVERYTHING, Filters
from tracing._server import Collector, CollectorConfig
from tracing._store import Store
from tracing.attributes import pseudonymise_user

pytestmark = pytest.mark.slow


@pytest.fixture
def collector(helper_loop: CoreThread, tmp_path: Path) -> Iterator[tuple[Collector, Path, str]]:
    """A collector on loopback, run on the helper thread; its database path; alice's ingest
    token (ingest is closed, as on a shared collector)."""
    db = tmp_path / "traces.db"
    store = Store(db)
    store.add_user("alice")
    token = store.add_ingest_token("alice", "app")
    store.close()
    running = Collector(CollectorConfig(db=db, port=0))
    helper_loop.submit(running.async_start()).result(30)
    try:
        yield running, db, token
    finally:
        helper_loop.submit(running.async_close()).result(30)


@pytest.fixture
def fresh_otel() -> Iterator[None]:
    reset_otel_globals()
    yield
    reset_otel_globals()


def _stored(db: Path) -> list[dict]:
    store = Store(db)
    try:
        return store.latest(EVERYTHING, Filters(), 10_000)
    finally:
        store.close()


def test_a_command_from_the_window_is_traced_with_this_computer_on_its_own_lifeline(
    qtbot, tmp_path, library_dir, collector, fresh_otel
):
    running, db, token = collector
    settings = app_settings(
        LaunchOptions(
            music_folder=library_dir,
            device_name="This computer",
            interfaces=("127.0.0.1",),
            local_audio=f"afile:{tmp_path / 'this-computer.wav'}",
            state_dir=tmp_path / "app-state",
            trace_collector=f"http://127.0.0.1:{running.port}",
            trace_user="alice",
            trace_token=token,
        ),
        StoredSettings(),
    )
    bridge = Bridge(settings)
    window = MainWindow(bridge, StoredSettings(), tv=False)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    bridge.start()
    try:
        qtbot.waitUntil(lambda: window.albums.rowCount() == 3, timeout=10_000)
        qtbot.waitUntil(
            lambda: any(d.is_local and d.online and d.info for d in window.devices.views()),
            timeout=10_000,
        )
        walk_to(window, "album-0")  # the album, its Play button, OK: a SetQueue command
        press(Qt.Key.Key_Return)
        press(Qt.Key.Key_Return)
        qtbot.waitUntil(
            lambda: window.session is not None and window.session.state.clock.playing,
            timeout=10_000,
        )
        assert bridge.core is not None
        client_id = bridge.core.controller.identity.id
        local_id = bridge.core.local.device_id
    finally:
        window.close()
        bridge.close()  # shuts tracing down: what is pending is sent

    def arrived() -> bool:
        rows = _stored(db)
        return any(r["device_id"] == local_id and r["name"] == "handle Command" for r in rows)

    qtbot.waitUntil(arrived, timeout=10_000)
    rows = _stored(db)
    # The app's own lifeline, not the client id it shares with the CLI (client/lifeline.py).
    controller_id, controller_name = controller_lifeline("app")
    assert controller_id != client_id
    assert client_id not in {r["device_id"] for r in rows} | {r["peer_device_id"] for r in rows}
    assert {r["user_id"] for r in rows} == {pseudonymise_user("alice")}
    sent = [r for r in rows if r["device_id"] == controller_id and r["name"] == "send Command"]
    assert sent, "no controller span for the command"
    assert {r["peer_device_id"] for r in sent} == {local_id}
    arrows = {(x.from_device, x.to_device, x.label) for x in pair_arrows(rows) if x.receiver}
    assert (controller_id, local_id, "Command") in arrows
    assert (local_id, controller_id, "CommandResult") in arrows
    store = Store(db)
    try:
        devices = {d["device_id"]: d for d in store.devices(EVERYTHING)}
    finally:
        store.close()
    assert devices[local_id]["name"] == "This computer"
    assert devices[controller_id]["type"] == "controller"
    assert devices[controller_id]["name"] == controller_name


def test_the_trace_user_and_token_are_saved_and_a_flag_wins_over_the_file(tmp_path):
    from client.app import settings_store

    path = settings_store.save(
        StoredSettings(
            trace_collector="http://127.0.0.1:4318", trace_user="alice", trace_token="t-1"
        ),
        tmp_path / "app.toml",
    )
    assert path.stat().st_mode & 0o777 == 0o600  # it holds a token
    stored = settings_store.load(path)
    assert (stored.trace_collector, stored.trace_user) == ("http://127.0.0.1:4318", "alice")
    assert stored.trace_token == "t-1"
    from_file = app_settings(LaunchOptions(state_dir=tmp_path), stored)
    assert (from_file.trace_collector, from_file.trace_user) == ("http://127.0.0.1:4318", "alice")
    assert from_file.trace_token == "t-1"
    flags = LaunchOptions(
        state_dir=tmp_path,
        trace_collector="http://10.0.0.2:4318",
        trace_user="bob",
        trace_token="t-2",
    )
    from_flags = app_settings(flags, stored)
    assert (from_flags.trace_collector, from_flags.trace_user) == ("http://10.0.0.2:4318", "bob")
    assert from_flags.trace_token == "t-2"


def test_a_collector_address_that_is_not_a_url_turns_tracing_off_with_a_reason(
    tmp_path, fresh_otel
):
    from client.app.app_tracing import start_tracing

    settings = app_settings(
        LaunchOptions(state_dir=tmp_path, trace_collector="192.168.1.5:4318"), StoredSettings()
    )
    handle, problem = start_tracing(settings)
    assert handle is None
    assert problem.startswith("Tracing is off: trace endpoint must be an http:// or https:// URL")
