"""The app's queue at library size: 50 000 items in Now playing's one virtualised list.

* `app_queue.open_50k`: the real desktop window over a bridge that is never started, fed as
  the core feeds it: from the followed session (its 64-item window) and its 50 000 rows
  emitted to Now playing painted with the list's first rows.
* `app_queue.scroll_50k`: in that window, jumps to rows spread over the queue (`go_to`, what
  Page Down, End or a scrollbar drag end in): from the jump to the row's title painted (two
  forced repaints of the list: before and after its page), its page answered by a feeding
  thread as the core's `QueueFollower` does when a page arrives (the UI's and the model's
  cost; a device's page time is in the real figures below); `max_stall_ms`: the 10 ms probe's
  worst lateness meanwhile.
* `app_queue.play_all_50k.stall`, `app_queue.shuffle_all_50k.stall`: the real app (bridge,
  core, "This computer" receiver without audio), its Library holding the demo albums repeated
  to 50 000 tracks: "Play all", then "Shuffle all", clicked; a 10 ms QTimer's lateness on the
  UI thread from the click until Now playing lists all 50 000 rows (as `app.ui_latency`: no
  stall over 50 ms). Also: how long until then (`queued_ms`), and until the first row of the
  new queue shows (`first_ms`: SetQueue landed, the music starts).
  The target is a speaker in its own process (a `baton-receiver`, no audio), then once
  "This computer" (`play_all_this_computer`: its receiver decodes the queue in the app's own
  interpreter). `app_queue.idle.stall` first: the same probe with the app doing nothing, the
  machine's own noise for comparison.
* `app_queue.real_scroll_50k`: in that app, jumps to rows, from the jump to the title painted,
  the page fetched from the speaker over its session.
"""

from __future__ import annotations

import os
import queue
import random
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench._runner import Measurement

ROWS = 50_000
STALL_TARGET_MS = 50.0
JUMPS = 40
SPEAKER = "Bench Speaker"
IDLE_S = 3.0


def run(quick: bool) -> Iterator[Measurement]:
    """Yield the synthetic open and scroll figures, then the real app's."""
    rows = 5_000 if quick else ROWS
    yield from _synthetic(rows, 10 if quick else JUMPS)
    yield from _real(rows, 5 if quick else 20)


class StallProbe:
    """A 10 ms QTimer: how late the UI thread serves it, sample by sample."""

    def __init__(self) -> None:
        from PySide6.QtCore import QElapsedTimer, QTimer

        self.lateness: list[float] = []
        self._clock = QElapsedTimer()
        self._timer = QTimer()
        self._timer.setInterval(10)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        """Start measuring (clears what was measured)."""
        self.lateness = []
        self._clock.start()
        self._timer.start()

    def stop(self) -> list[float]:
        """Stop; return the lateness of each tick in ms."""
        self._timer.stop()
        return self.lateness

    def _tick(self) -> None:
        elapsed = self._clock.nsecsElapsed() / 1e6
        self._clock.restart()
        self.lateness.append(max(0.0, elapsed - 10.0))


def worst(lateness: list[float]) -> float:
    """Return the latest tick's lateness (ms); 0 when none came due: nothing was kept waiting
    (`--quick`'s ten jumps in a 5 000-row list can all be done within one 10 ms tick)."""
    return max(lateness, default=0.0)


def _wait(app: Any, done: Callable[[], bool], timeout_s: float) -> None:
    from PySide6.QtCore import QEventLoop

    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not get there in time")
        # Sleeps until an event comes (a probe's tick at the latest): no spinning that would
        # take the interpreter from the core's thread.
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)


def _fetched(model: Any, row: int) -> Callable[[], bool]:
    return lambda: model.uid(row) is not None


def _new_queue(model: Any, total: int, before: str | None) -> Callable[[], bool]:
    """The queue the click made: a first row that was not there before (and *total* rows)."""
    return lambda: model.rowCount() >= total and model.uid(0) not in (None, before)


def _app() -> Any:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def _synthetic(rows: int, jumps: int) -> Iterator[Measurement]:
    app = _app()
    from bench.app import unstarted_window
    from client.app import views as v
    from connect.clock import ClockEstimate, monotonic_us
    from connect.wire import messages as m

    bridge, window = unstarted_window("baton-bench-queue-", "now-playing")
    items = tuple(
        m.QueueItem(f"u{n:x}", f"http://127.0.0.1:4000/media/k/Artist/Album/{n}.flac",
                    f"Track {n}", "Band", "Album", 180_000)
        for n in range(rows)
    )  # fmt: skip
    slots: list[m.QueueItem | None] = [None] * rows
    slots[:64] = items[:64]
    lock = threading.Lock()
    fetches: list[tuple[int, int]] = []
    asked: queue.SimpleQueue[tuple[str, int, int]] = queue.SimpleQueue()

    def pages() -> None:  # the core's thread: each page goes back as a queued signal
        while True:
            device_id, start, stop = asked.get()
            with lock:
                slots[start:stop] = items[start:stop]
                rows_now = tuple(slots)
            bridge.queue_changed.emit(v.QueueRows(device_id, "s", 1, rows_now))

    threading.Thread(target=pages, name="bench-pages", daemon=True).start()

    def answer(device_id: str, start: int, stop: int) -> None:
        fetches.append((start, stop))
        asked.put((device_id, start, stop))

    window.queue.fetch = answer
    state = m.PlaybackState(
        "s", 1, device_id="dev1", queue=items[:64], current_uid=items[0].uid,
        clock=m.PlaybackClock(0, monotonic_us(), 1.0, True), status=m.PlaybackStatus.PLAYING,
        active=True, queue_length=rows, queue_revision=1,
    )  # fmt: skip
    view, model = window.now_playing.queue_list, window.queue
    opened = []
    for _ in range(3):
        window.queue.set_rows(v.QueueRows("", "", 0, ()))  # closed: nothing shown
        app.processEvents()
        began = time.perf_counter()
        bridge.session_changed.emit(v.SessionView("dev1", "Car", state, ClockEstimate(0, 100, 5)))
        with lock:
            bridge.queue_changed.emit(v.QueueRows("dev1", "s", 1, tuple(slots)))
        _wait(app, lambda: model.rowCount() == rows, 10)
        window.repaint()
        opened.append((time.perf_counter() - began) * 1000)
    scrolled, lateness = _jumps(app, view, model, rows, jumps)
    window.close()
    bridge.core_thread.loop.close()
    yield Measurement(
        f"app_queue.open_{rows // 1000}k", "ms", opened,
        target="Now playing lists the whole queue at once (no target in DESIGN.md)",
        extra={"rows": model.rowCount()},
    )  # fmt: skip
    yield Measurement(
        f"app_queue.scroll_{rows // 1000}k", "ms", scrolled,
        target=f"jump -> row painted; no UI stall over {STALL_TARGET_MS:.0f} ms",
        extra={"max_stall_ms": worst(lateness), "fetches": len(fetches)},
        met=worst(lateness) <= STALL_TARGET_MS,
    )  # fmt: skip


def _real(rows: int, jumps: int) -> Iterator[Measurement]:
    app = _app()
    from bench.session import receiver_argv
    from client.app import views as v
    from client.app.bridge import Bridge
    from client.app.library import Album, Library
    from client.app.main import LaunchOptions, app_settings
    from client.app.settings_store import StoredSettings
    from client.app.window import MainWindow
    from client.demo_library import write_demo_library

    work = Path(tempfile.mkdtemp(prefix="baton-bench-queue-real-"))
    os.environ["BATON_CONFIG_DIR"] = str(work / "config")
    write_demo_library(work / "music", seconds=2.0)
    # A speaker in its own process: what the app costs, not a receiver's decoding beside it.
    argv = receiver_argv("none", work / "speaker", SPEAKER)
    speaker = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    settings = app_settings(
        LaunchOptions(
            music_folder=work / "music", device_name="This computer",
            interfaces=("127.0.0.1",), local_audio="none", state_dir=work / "state",
        ),
        StoredSettings(),
    )  # fmt: skip
    bridge = Bridge(settings)
    window = MainWindow(bridge, StoredSettings())
    window.resize(1280, 800)
    window.show()
    bridge.start()
    try:
        _wait(app, lambda: window.albums.rowCount() > 0, 60)
        _wait(app, lambda: _online(window, SPEAKER) is not None, 60)
        real = window.library.library
        assert real is not None
        albums: list[Album] = []
        while len(albums) * len(real.tracks) < rows * len(real.albums):  # over and over
            albums.extend(real.albums)
        big = Library(real.root, tuple(albums))
        bridge.library_loaded.emit(v.LibraryLoaded(big))  # the Library now holds `rows` tracks
        _wait(app, lambda: window.library.library is big, 10)
        total = len(big.tracks)
        model, view = window.queue, window.now_playing.queue_list
        # The machine's own noise: the same probe with the app doing nothing.
        probe = StallProbe()
        probe.start()
        _wait(app, _after(IDLE_S), IDLE_S + 5)
        lateness = probe.stop()
        yield Measurement(
            "app_queue.idle.stall", "ms", lateness,
            target="none: the UI thread's lateness with nothing to do, for comparison",
            extra={"max": max(lateness)},
        )  # fmt: skip
        cases = (
            ("play_all", window.library.play_all, SPEAKER),
            ("shuffle_all", window.library.shuffle_all, SPEAKER),
            ("play_all_this_computer", window.library.play_all, "This computer"),
        )
        for name, button, device in cases:
            found = _online(window, device)
            assert found is not None
            bridge.follow(found)
            window.show_screen("library")
            _wait(app, _following(window, found), 10)
            before = model.uid(0)
            probe = StallProbe()
            probe.start()
            began = time.perf_counter()
            button.click()
            _wait(app, _new_queue(model, 0, before), 120)
            first = (time.perf_counter() - began) * 1000
            _wait(app, _new_queue(model, total, before), 120)
            queued = (time.perf_counter() - began) * 1000
            lateness = probe.stop()
            yield Measurement(
                f"app_queue.{name}_{total // 1000}k.stall", "ms", lateness,
                target=f"no UI stall over {STALL_TARGET_MS:.0f} ms from the click to "
                f"{total} rows listed",
                extra={"max": worst(lateness), "first_ms": first, "queued_ms": queued},
                met=worst(lateness) <= STALL_TARGET_MS,
            )  # fmt: skip
            if name != "shuffle_all":
                continue
            scrolled, lateness = _jumps(app, view, model, total, jumps)
            yield Measurement(
                f"app_queue.real_scroll_{total // 1000}k", "ms", scrolled,
                target="jump -> row painted, its page from the speaker (no target in DESIGN.md)",
                extra={"max_stall_ms": worst(lateness)},
            )  # fmt: skip
    finally:
        window.close()
        bridge.close()
        speaker.terminate()
        speaker.wait(10)


def _after(seconds: float) -> Callable[[], bool]:
    deadline = time.monotonic() + seconds
    return lambda: time.monotonic() >= deadline


def _following(window: Any, device_id: str) -> Callable[[], bool]:
    return lambda: window.session is not None and window.session.device_id == device_id


def _online(window: Any, name: str) -> str | None:
    found = next((d for d in window.devices.views() if d.name == name and d.online), None)
    return found.id if found is not None else None


def _jumps(
    app: Any, view: Any, model: Any, total: int, jumps: int
) -> tuple[list[float], list[float]]:
    """Jump to rows spread over the queue; return each jump's time and the UI's lateness."""
    rng = random.Random(11)
    scrolled = []
    probe = StallProbe()
    probe.start()
    for _ in range(jumps):
        row = rng.randrange(total)
        began = time.perf_counter()
        view.go_to(row)
        view.viewport().repaint()
        _wait(app, _fetched(model, row), 20)
        view.viewport().repaint()
        scrolled.append((time.perf_counter() - began) * 1000)
    return scrolled, probe.stop()
