"""The app moves a playing radio station to another receiver, at the live edge.

Kitchen plays tests/live_station.py's station (endless MP3 of the position code, real time, ICY
titles), started from the app; the listener picks Study's "Transfer here" on the Devices screen.
Study then plays the station live in the app's eyes (the session's `live`, what is on, the
LIVE length), and for real: its capture output presents the programme, continuing Kitchen's
within the two connections' buffering, read from both recordings (proof_audio.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from client.app import views as v
from client.app.window import MainWindow
from connect.clock import monotonic_us
from connect.wire import messages as m
from tests.audio import read_capture
from tests.e2e.app.conftest import open_app
from tests.integration.transfer.proof_audio import hear_transfer
from tests.live_station import CODE, LiveStation, encode_programme
from tests.receivers import RunningReceiver, start_receiver

pytestmark = pytest.mark.slow

FOUND_MS = 15_000  # the receiver's watch finds the stream live and reads its title
MAX_OFFSET_US = 500_000  # as tests/integration/live: within the two connections' buffering
MAX_GAP_US = 100_000  # a gap or an overlap beyond this would be a broken switch
PLAY_MS = 1_500  # the target plays this long before the recordings are read


@pytest.fixture
def station(helper_loop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStation]:
    frames = encode_programme(tmp_path_factory.mktemp("programme"))
    live = LiveStation(frames, metaint=16_000, logo_url="http://127.0.0.1:9/logo.png")
    helper_loop.submit(live.start()).result(10)
    yield live
    helper_loop.submit(live.close()).result(10)


@pytest.fixture
def rooms(helper_loop, tmp_path: Path) -> Iterator[dict[str, RunningReceiver]]:
    """Kitchen and Study, each presenting into a capture output."""
    started: dict[str, RunningReceiver] = {}
    try:
        for name in ("Kitchen", "Study"):
            started[name] = helper_loop.submit(
                start_receiver(tmp_path, name, output="capture")
            ).result(30)
        yield started
    finally:
        for receiver in started.values():
            if receiver.process.returncode is None:
                helper_loop.submit(receiver.kill()).result(10)


@pytest.fixture
def window(qtbot, tmp_path: Path, library_dir: Path) -> Iterator[MainWindow]:
    opened = open_app(qtbot, tmp_path, library_dir)
    assert isinstance(opened, MainWindow)
    yield opened
    opened.close()
    opened.bridge.close()


def _online(window: MainWindow, device_id: str) -> bool:
    return any(d.id == device_id and d.online and d.info for d in window.devices.views())


def _live_on(window: MainWindow, device_id: str, title: str) -> bool:
    session = window.session
    if session is None or session.device_id != device_id:
        return False
    state = session.state
    on_air = state.now_playing
    return state.live and state.clock.playing and on_air is not None and on_air.title == title


def test_the_app_moves_a_playing_radio_to_another_receiver(
    qtbot, window: MainWindow, rooms, station: LiveStation, helper_loop
):
    kitchen, study = rooms["Kitchen"], rooms["Study"]
    for receiver in (kitchen, study):
        window.bridge.add_address(f"127.0.0.1:{receiver.port}")
    qtbot.waitUntil(lambda: _online(window, kitchen.device_id), timeout=10_000)
    qtbot.waitUntil(lambda: _online(window, study.device_id), timeout=10_000)

    # The radio plays in the Kitchen, started from the app; the app follows it.
    radio = m.QueueItem("radio-1", station.url, title="Baton Test FM")
    window.bridge.command(m.SetQueue((radio,), play=True), kitchen.device_id)
    window.bridge.follow(kitchen.device_id)
    qtbot.waitUntil(lambda: _live_on(window, kitchen.device_id, station.title), timeout=FOUND_MS)

    # Devices screen: Study's "Transfer here".
    window.show_screen("devices")
    card = window.devices_screen.cards[study.device_id]
    qtbot.waitUntil(card.button.isEnabled, timeout=5_000)
    requested = monotonic_us()
    with qtbot.waitSignal(
        window.bridge.transfer_changed,
        timeout=15_000,
        check_params_cb=lambda t: t.phase is not v.TransferPhase.RUNNING,
    ) as outcome:
        card.button.click()
    transfer = outcome.args[0]
    assert transfer.phase is v.TransferPhase.DONE, transfer.message
    returned = monotonic_us()

    # The app shows the station live on Study: what is on, and no length.
    qtbot.waitUntil(lambda: _live_on(window, study.device_id, station.title), timeout=5_000)
    qtbot.waitUntil(lambda: card.button.text() == "Playing here", timeout=5_000)
    assert window.devices_screen.banner_text.text() == "Playing on Study"
    window.show_screen("now-playing")
    assert window.now_playing.title.text() == station.title
    assert window.now_playing.total.text() == "LIVE"
    qtbot.wait(PLAY_MS)  # Study plays on: the music's own pace, read from its recording below

    for receiver in (kitchen, study):
        assert helper_loop.submit(receiver.stop()).result(15) == 0, "".join(receiver.output)
    source, target = read_capture(kitchen.recording), read_capture(study.recording)
    heard = hear_transfer(source, target, requested, returned + 500_000, CODE, fade_us=30_000)
    assert abs(heard.gap_us) <= MAX_GAP_US, heard
    offset = heard.position_error_us
    assert offset is not None, heard  # Study presents the programme, steadily
    assert abs(offset) <= MAX_OFFSET_US, heard
