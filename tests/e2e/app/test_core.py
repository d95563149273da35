"""The app's Qt-free core: the music folder keeps its port across runs, URLs stay inside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from client.app.core import AppCore
from client.app.library import Track
from client.app.views import AppSettings
from connect.controller import default_identity


def _core(tmp_path: Path, library_dir: Path) -> AppCore:
    settings = AppSettings(
        music_folder=library_dir,
        device_name="This computer",
        state_dir=tmp_path / "state",
        interfaces=("127.0.0.1",),
    )
    return AppCore(settings, lambda event: None, default_identity("test"))


async def test_the_music_folder_is_served_on_the_same_port_next_time(tmp_path, library_dir):
    first = await _core(tmp_path, library_dir)._serve(library_dir)
    port = first.port
    await first.async_close()
    again = await _core(tmp_path, library_dir)._serve(library_dir)
    try:
        assert again.port == port
    finally:
        await again.async_close()


async def test_a_track_outside_the_folder_gets_no_url(tmp_path, library_dir):
    core = _core(tmp_path, library_dir)
    core.server = await core._serve(library_dir)
    try:
        inside = next(library_dir.rglob("*.wav"))
        track = Track(inside, "t", "a", "b", 1, 1000, "audio/wav")
        assert core.media_url(track, "any").startswith(
            f"http://127.0.0.1:{core.server.port}/media/"
        )
        outside = Track(tmp_path / "secret.wav", "t", "a", "b", 1, 1000, "audio/wav")
        with pytest.raises(ValueError, match="is not in the subpath"):
            core.media_url(outside, "any")
    finally:
        await core.server.async_close()


def test_a_device_update_keeps_the_volume_its_session_reported(tmp_path, library_dir):
    from dataclasses import replace

    from client.app import views as v
    from connect.discovery.registry import DeviceEntry, DeviceSource
    from connect.wire import messages as m

    core = _core(tmp_path, library_dir)
    entry = DeviceEntry(
        "car", "Car", m.DeviceType.CAR, "", ("127.0.0.1",), 4000, None, True, 0.0,
        DeviceSource.MDNS, mdns_present=True,
    )  # fmt: skip
    core._views["car"] = replace(core._view_from_entry(entry), volume=35)
    updated = core._view_from_entry(replace(entry, last_seen=5.0))  # an mDNS answer, say
    assert updated.volume == 35
    assert isinstance(updated, v.DeviceView)


async def test_the_core_leaves_out_what_its_target_cannot_play(tmp_path, library_dir):
    # The screens leave out what they marked; the core checks again against the device the
    # tracks really go to (its DeviceInfo may have come after the screen judged).
    from client.app import views as v
    from connect.wire import messages as m

    said: list[object] = []
    core = AppCore(
        AppSettings(library_dir, "This computer", tmp_path / "state", ("127.0.0.1",)),
        said.append,
        default_identity("test"),
    )
    one = m.ProtocolVersion(1)
    info = m.DeviceInfo(
        "sofa", "Sofa TV", m.DeviceType.TV, m.VersionRange(one, one),
        m.Capabilities(audio_codecs=("wav",)),
    )  # fmt: skip
    core._views["sofa"] = v.DeviceView("sofa", "Sofa TV", m.DeviceType.TV, True, "", 0, info=info)
    core.server = await core._serve(library_dir)
    try:
        opus = Track(library_dir / "a.opus", "a", "x", "b", 1, 1000, "audio/opus", codec="opus")
        broken = Track(
            library_dir / "b.mp3", "b", "x", "b", 2, 0, "audio/mpeg", fault="damaged file"
        )
        await core.async_play((opus, broken), device_id="sofa")
    finally:
        await core.server.async_close()
    assert said == [
        v.Notice(
            "Nothing to play. Skipped 2 tracks: Sofa TV cannot play Opus (1), damaged file (1)",
            error=True,
        )
    ]  # nothing sent: the core never even followed the device
    assert core.followed == ""
