"""The app's item models pass qtmodeltester, and the progress position never jumps back."""

from __future__ import annotations

from pathlib import Path

from client.app import views as v
from client.app.library import scan_library
from client.app.models import AlbumListModel, DeviceListModel, TrackListModel
from client.app.position import SEEK_MS, SmoothPosition
from client.app.queue_model import QueueModel
from connect.clock import ClockEstimate
from connect.wire import messages as m


def _device(n: int, *, local: bool = False) -> v.DeviceView:
    return v.DeviceView(
        id=f"id{n}", name=f"Device {n}", type=m.DeviceType.SPEAKER, online=n % 2 == 0,
        address=f"127.0.0.1:{4000 + n}", last_seen=0.0, is_local=local,
    )  # fmt: skip


def test_device_model(qtmodeltester):
    model = DeviceListModel()
    for n in (3, 1, 2):
        model.put(_device(n))
    model.put(_device(0, local=True))
    qtmodeltester.check(model)
    assert [d.id for d in model.views()] == ["id0", "id1", "id2", "id3"]
    model.put(_device(2).__class__(**{**_device(2).__dict__, "online": True}))
    model.remove("id1")
    model.remove("nope")
    qtmodeltester.check(model)
    assert [d.id for d in model.views()] == ["id0", "id2", "id3"]


def test_library_models(qtmodeltester, library_dir: Path):
    library = scan_library(library_dir)
    albums = AlbumListModel()
    albums.set_library(library)
    qtmodeltester.check(albums)
    assert [a.title for a in albums.albums()] == ["Handoff", "Night Shift", "Open Road"]
    assert all(a.artwork for a in albums.albums())  # embedded in the WAVs' ID3 chunks
    tracks = TrackListModel()
    tracks.set_tracks(library.albums[0].tracks)
    qtmodeltester.check(tracks)
    assert [t.number for t in tracks.tracks()] == [1, 2, 3]


def test_queue_model(qtmodeltester):
    items = tuple(
        m.QueueItem(uid=f"u{n}", url=f"http://h/{n}.wav", title=f"T{n}") for n in range(3)
    )
    model = QueueModel()
    model.set_state(m.PlaybackState("s", 1, queue=items, current_uid="u0"))
    qtmodeltester.check(model)
    model.set_state(m.PlaybackState("s", 2, queue=items, current_uid="u1"))
    model.set_state(m.PlaybackState("s", 3, queue=items[:1], current_uid="u0"))
    qtmodeltester.check(model)
    assert model.rowCount() == 1


def _session(
    position_ms: int, as_of_us: int, *, uid: str = "a", offset_us: int = 0
) -> v.SessionView:
    item = m.QueueItem(uid=uid, url="http://h/a.wav", duration_ms=600_000)
    state = m.PlaybackState(
        "s", 1, queue=(item,), current_uid=uid,
        clock=m.PlaybackClock(position_ms, as_of_us, 1.0, playing=True),
    )  # fmt: skip
    return v.SessionView("d", "D", state, ClockEstimate(offset_us, 200, 5))


def test_position_extrapolates_and_never_twitches_back():
    smooth = SmoothPosition()
    smooth.follow(_session(10_000, 1_000_000))
    assert smooth.position_ms(2_000_000) == 11_000  # one second later on the device's clock
    # A new snapshot 40 ms behind the extrapolation: held, not shown as a step back.
    smooth.follow(_session(10_960, 2_000_000))
    assert smooth.position_ms(2_000_000) == 11_000
    assert smooth.position_ms(2_100_000) == 11_060
    # A real seek back is shown at once.
    smooth.follow(_session(1_000, 2_100_000))
    assert smooth.position_ms(2_100_000) == 1_000
    assert SEEK_MS > 40
    # Another item (or device) starts from its own position.
    smooth.follow(_session(500, 2_100_000, uid="b"))
    assert smooth.position_ms(2_100_000) == 500
    # The link's offset moves device instants into local ones.
    smooth.follow(_session(0, 5_000_000, uid="c", offset_us=1_000_000))
    assert smooth.position_ms(4_500_000) == 500


def test_untagged_files_get_names_from_their_paths_and_art_from_a_sidecar(tmp_path: Path):
    from tests.audio import write_tone

    album = tmp_path / "Kitchen Tapes"
    album.mkdir()
    write_tone(album / "03 - Toast.wav", 440.0, 200)
    write_tone(album / "01 Kettle.wav", 330.0, 200)
    (album / "folder.jpg").write_bytes(b"\xff\xd8not-really-a-jpeg")
    (tmp_path / "notes.txt").write_text("not music")
    library = scan_library(tmp_path)
    assert len(library.albums) == 1
    found = library.albums[0]
    assert found.title == "Kitchen Tapes"
    assert [(t.number, t.title) for t in found.tracks] == [(1, "Kettle"), (3, "Toast")]
    assert found.tracks[0].duration_ms == 200
    assert found.tracks[0].content_type == "audio/wav"
    assert found.artwork == b"\xff\xd8not-really-a-jpeg"
