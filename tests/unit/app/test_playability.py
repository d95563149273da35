"""Which tracks are offered to a device and what is said of the others (issue 21): the pure
decision behind the library's marks, Play, Add to queue and `baton play`."""

from __future__ import annotations

from pathlib import Path

from client.app.library import Track
from client.app.playability import TargetDevice, mark_of, offer, reason_of
from connect.wire import messages as m

SOFA = TargetDevice("Sofa TV", ("wav", "mp3", "aac", "flac", "ogg"))  # 1.0's "ogg": Vorbis
EVERYTHING = TargetDevice("Kitchen", ("wav", "mp3", "aac", "alac", "flac", "vorbis", "opus"))


def _track(name: str, content_type: str = "", codec: str = "", fault: str = "") -> Track:
    return Track(Path(f"/music/{name}"), name.rsplit(".", 1)[0], "Ada", "Album", 0, 1000,
                 content_type, codec=codec, fault=fault)  # fmt: skip


OK = _track("01.flac", "audio/flac", "flac")
BROKEN = _track("02.mp3", "audio/mpeg", "", "damaged file")
OPUS = _track("03.opus", "audio/opus", "opus")
OPUS_IN_OGG = _track("04.ogg", "audio/ogg; codecs=opus", "opus")
VORBIS = _track("05.ogg", "audio/ogg; codecs=vorbis", "vorbis")
ALAC = _track("06.m4a", "audio/mp4; codecs=alac", "alac")
UNREAD = _track("07.mka", "audio/x-matroska")  # nothing known of what is inside


def test_a_file_s_own_fault_stands_whatever_the_device():
    for device in (None, SOFA, EVERYTHING):
        assert reason_of(BROKEN, device) == "damaged file"
        assert mark_of(BROKEN, device) == "Cannot be played: damaged file"


def test_a_codec_the_device_lacks_is_named_with_the_device():
    assert mark_of(OPUS, SOFA) == "Sofa TV cannot play Opus"
    # The container alone would pass (Sofa TV decodes Vorbis, an Ogg codec): what is inside counts.
    assert mark_of(OPUS_IN_OGG, SOFA) == "Sofa TV cannot play Opus"
    assert mark_of(VORBIS, SOFA) == ""  # offered as 1.0's "ogg"
    assert mark_of(ALAC, SOFA) == "Sofa TV cannot play ALAC"
    assert [mark_of(t, EVERYTHING) for t in (OK, OPUS, OPUS_IN_OGG, ALAC, UNREAD)] == [""] * 5


def test_no_device_known_judges_only_the_file():
    assert [reason_of(t, None) for t in (OK, OPUS, ALAC, UNREAD)] == [""] * 4


def test_the_device_s_info_gives_its_codecs():
    one = m.ProtocolVersion(1)
    info = m.DeviceInfo(
        "d1", "Sofa TV", m.DeviceType.TV, m.VersionRange(one, one),
        m.Capabilities(audio_codecs=("mp3",)),
    )  # fmt: skip
    device = TargetDevice.of(info)
    assert device == TargetDevice("Sofa TV", ("mp3",))
    assert TargetDevice.of(info, "Living room TV") == TargetDevice("Living room TV", ("mp3",))
    assert TargetDevice.of(None) is None


def test_play_all_of_an_album_with_one_damaged_track_plays_the_others():
    chosen = offer((OK, BROKEN, VORBIS), 0, SOFA)
    assert chosen.tracks == (OK, VORBIS)
    assert chosen.start == 0
    assert chosen.skipped_words() == "Skipped 1 track: damaged file"


def test_the_start_moves_with_the_tracks_left_out():
    chosen = offer((BROKEN, OPUS, OK, VORBIS), 3, SOFA)  # from the fourth: VORBIS
    assert chosen.tracks == (OK, VORBIS)
    assert chosen.tracks[chosen.start] == VORBIS
    # From a track that cannot play: the next one that can.
    chosen = offer((OK, OPUS, VORBIS), 1, SOFA)
    assert chosen.tracks[chosen.start] == VORBIS


def test_several_reasons_are_counted_each():
    chosen = offer((BROKEN, OPUS, OPUS_IN_OGG, OK, BROKEN), 0, SOFA)
    assert chosen.tracks == (OK,)
    assert chosen.skipped_words() == (
        "Skipped 4 tracks: damaged file (2), Sofa TV cannot play Opus (2)"
    )


def test_nothing_playable_from_the_start_on_is_nothing_to_play():
    assert offer((BROKEN, OPUS), 0, SOFA).tracks == ()
    assert offer((OK, BROKEN), 1, SOFA).tracks == ()


def test_nothing_skipped_sends_the_tracks_as_they_are():
    tracks = (OK, VORBIS, UNREAD)
    chosen = offer(tracks, 2, SOFA)
    assert chosen.tracks is tracks
    assert (chosen.start, chosen.skipped, chosen.skipped_words()) == (2, (), "")
