"""The receiver's Player against real libVLC, verified on what afile recorded.

What afile records: exactly the samples libVLC played, and nothing while paused (no silence is
written for a pause, and the stream continues where it stopped). So a pause shows as an unbroken
recording in which every content segment appears once, in order; a seek shows as a jump in the
position track's segments. After a pre-roll, libVLC writes the buffered audio in a burst when play
starts: the recording is right, the wall-clock pacing on afile is not (real outputs pace it).
"""

from __future__ import annotations

import asyncio
import itertools

import pytest

from devices.audio_output import parse_audio_output
from devices.errors import (
    AudioOutputError,
    MediaNotFoundError,
    MediaSchemeError,
    MediaUnreachableError,
    MediaUnsupportedError,
    PlayerClosedError,
    PositionOutOfRangeError,
)
from devices.player import Player, PlayerEvent, PlayerState, StateChanged, TrackEnded
from tests.audio import (
    FULL_SCALE,
    audible_duration_ms,
    block_levels,
    content_positions,
    find_gaps,
    first_segment,
    read_wav,
    segment_sequence,
    tone_purity,
    write_garbage,
    write_position_track,
    write_tone,
    zero_crossing_frequency,
)
from tests.integration.devices.conftest import EVENT_TIMEOUT_S, PlayerHarness
from tests.media_server import MediaServer, refused_url

AMPLITUDE = 0.5


def state_of(player: Player) -> PlayerState:
    """Read the state afresh (a plain attribute read would be narrowed by mypy across awaits)."""
    return player.state


async def test_a_served_tone_is_played_whole_and_at_its_frequency(
    harness: PlayerHarness, media_server: MediaServer
) -> None:
    write_tone(media_server.root / "a440.wav", 440.0, 1000, amplitude=AMPLITUDE)
    url = media_server.url("a440.wav")
    await harness.player.async_load(url, play=True)
    assert state_of(harness.player) is PlayerState.PLAYING
    ended = await harness.next_event(TrackEnded)
    assert ended.url == url
    assert state_of(harness.player) is PlayerState.ENDED
    await harness.player.async_stop()  # closes the afile output, which finishes the WAV header

    rec = read_wav(harness.recording)
    assert rec.duration_ms == pytest.approx(1000, abs=50)
    assert audible_duration_ms(rec) == pytest.approx(1000, abs=50)
    assert zero_crossing_frequency(rec.samples) == pytest.approx(440, abs=2)
    assert tone_purity(rec.samples[4410:8820], 440.0) > 0.95
    assert find_gaps(rec) == []


async def test_pause_holds_the_position_and_loses_no_content(
    harness: PlayerHarness, media_server: MediaServer
) -> None:
    write_position_track(media_server.root / "pos.wav", 1000)
    await harness.player.async_load(media_server.url("pos.wav"), play=True)
    await harness.until_position(300)
    await harness.player.async_pause()
    assert state_of(harness.player) is PlayerState.PAUSED
    first, second = harness.player.clock(), harness.player.clock()
    assert not first.playing
    assert first.position_ms == second.position_ms  # frozen while paused
    await harness.player.async_play()
    assert harness.player.clock().playing
    await harness.next_event(TrackEnded)
    await harness.player.async_stop()

    rec = read_wav(harness.recording)
    # afile writes nothing while paused: the recording is the track, unbroken and complete.
    assert rec.duration_ms == pytest.approx(1000, abs=50)
    assert segment_sequence(content_positions(rec)) == list(range(10))
    assert find_gaps(rec) == []


async def test_seek_jumps_in_the_content(harness: PlayerHarness, media_server: MediaServer) -> None:
    write_position_track(media_server.root / "pos.wav", 3000)
    await harness.player.async_load(media_server.url("pos.wav"), play=True)
    await harness.until_position(400)
    await harness.player.async_seek(2000)
    assert 2000 <= harness.player.clock().position_ms < 2500  # it moves on from the target
    await harness.next_event(TrackEnded)
    await harness.player.async_stop()

    sequence = segment_sequence(content_positions(read_wav(harness.recording)))
    assert sequence[0] == 0
    jump = next(i for i in range(1, len(sequence)) if sequence[i] - sequence[i - 1] > 1)
    assert sequence[jump - 1] < 15  # the seek came early, well before 1500 ms of content
    assert sequence[jump] == pytest.approx(20, abs=1)
    assert sequence[jump:] == list(range(sequence[jump], 30))


async def test_preroll_then_play_starts_at_the_requested_position(
    harness: PlayerHarness, media_server: MediaServer
) -> None:
    write_position_track(media_server.root / "pos.wav", 2000)
    await harness.player.async_load(media_server.url("pos.wav"), 1200, play=False)
    assert state_of(harness.player) is PlayerState.READY
    clock = harness.player.clock()
    assert (clock.position_ms, clock.playing) == (1200, False)
    await harness.player.async_play()
    assert state_of(harness.player) is PlayerState.PLAYING
    await harness.next_event(TrackEnded)
    await harness.player.async_stop()

    rec = read_wav(harness.recording)
    assert first_segment(rec) == pytest.approx(12, abs=1)
    assert segment_sequence(content_positions(rec)) == list(range(12, 20))
    assert rec.duration_ms == pytest.approx(800, abs=50)  # nothing was written before play


async def test_a_preroll_closer_to_the_end_than_the_caching_is_ready(
    media_server: MediaServer, tmp_path
) -> None:
    # With 1000 ms of caching and 500 ms left, libVLC never reports a full buffer while paused.
    write_position_track(media_server.root / "pos.wav", 3000)
    recording = tmp_path / "near-end.wav"
    events: asyncio.Queue[PlayerEvent] = asyncio.Queue()
    output = parse_audio_output(f"afile:{recording}", network_caching_ms=1000)
    harness = PlayerHarness(Player(output, listener=events.put_nowait), recording, events)
    await harness.player.async_start()
    try:
        await harness.player.async_load(media_server.url("pos.wav"), 2500, play=False)
        assert state_of(harness.player) is PlayerState.READY
        await harness.player.async_play()
        await harness.next_event(TrackEnded)
        await harness.player.async_stop()
    finally:
        await harness.player.async_close()
    assert segment_sequence(content_positions(read_wav(recording))) == list(range(25, 30))


async def test_seek_while_prerolled_moves_the_start(
    harness: PlayerHarness, media_server: MediaServer
) -> None:
    write_position_track(media_server.root / "pos.wav", 2000)
    await harness.player.async_load(media_server.url("pos.wav"), 300, play=False)
    await harness.player.async_seek(1500)
    assert state_of(harness.player) is PlayerState.READY
    assert harness.player.clock().position_ms == 1500
    await harness.player.async_play()
    await harness.next_event(TrackEnded)
    await harness.player.async_stop()
    assert first_segment(read_wav(harness.recording)) == pytest.approx(15, abs=1)


async def test_seek_after_the_end_prerolls_there(
    harness: PlayerHarness, media_server: MediaServer
) -> None:
    write_position_track(media_server.root / "pos.wav", 1000)
    await harness.player.async_load(media_server.url("pos.wav"), 700, play=True)
    await harness.next_event(TrackEnded)
    await harness.player.async_seek(400)
    assert state_of(harness.player) is PlayerState.READY
    await harness.player.async_play()
    await harness.next_event(TrackEnded)
    await harness.player.async_stop()
    assert segment_sequence(content_positions(read_wav(harness.recording))) == list(range(4, 10))


async def test_a_volume_ramp_lowers_the_recorded_amplitude(
    harness: PlayerHarness, media_server: MediaServer
) -> None:
    write_tone(media_server.root / "a440.wav", 440.0, 1000, amplitude=AMPLITUDE)
    await harness.player.async_load(media_server.url("a440.wav"), play=True)
    await harness.until_position(300)
    await harness.player.async_ramp_volume(20, 200)
    assert harness.player.volume == 20
    await harness.next_event(TrackEnded)
    await harness.player.async_stop()

    rec = read_wav(harness.recording)
    levels = block_levels(rec, 50.0)
    full = AMPLITUDE * FULL_SCALE / 2**0.5  # the RMS of the tone as written
    assert levels[0] == pytest.approx(full, rel=0.02)  # untouched before the fade
    # Volume 20 is -42 dB on libVLC's cubic scale; afile's equalizer gain stage floors at -32 dB.
    assert max(levels[-4:-1]) < 0.05 * full
    steps = [b - a for a, b in itertools.pairwise(levels)]
    assert max(steps) < 0.03 * full  # the level only ever goes down (no rebound mid-fade)


async def test_end_of_track_is_reported_with_a_state_change(
    harness: PlayerHarness, media_server: MediaServer
) -> None:
    write_tone(media_server.root / "short.wav", 660.0, 300)
    await harness.player.async_load(media_server.url("short.wav"), play=True)
    seen: list[PlayerEvent] = []
    async with asyncio.timeout(EVENT_TIMEOUT_S):
        while not seen or not isinstance(seen[-1], TrackEnded):
            seen.append(await harness.events.get())
    states = [e.state for e in seen if isinstance(e, StateChanged)]
    assert states == [PlayerState.LOADING, PlayerState.PLAYING, PlayerState.ENDED]
    ended = seen[-1]
    assert isinstance(ended, TrackEnded)
    assert ended.position_ms == pytest.approx(300, abs=50)
    assert harness.player.clock().playing is False


async def test_play_after_the_end_starts_the_track_again(
    harness: PlayerHarness, media_server: MediaServer
) -> None:
    write_tone(media_server.root / "short.wav", 660.0, 200)
    await harness.player.async_load(media_server.url("short.wav"), play=True)
    await harness.next_event(TrackEnded)
    await harness.player.async_play()
    await harness.next_event(TrackEnded)
    await harness.player.async_stop()
    # Each load re-opens afile's output, so the file holds the second playing only.
    assert read_wav(harness.recording).duration_ms == pytest.approx(200, abs=50)


@pytest.mark.parametrize("play", [True, False], ids=["play", "preroll"])
async def test_http_404_is_media_not_found(
    harness: PlayerHarness, media_server: MediaServer, play: bool
) -> None:
    with pytest.raises(MediaNotFoundError) as info:
        await harness.player.async_load(media_server.missing_url, play=play)
    assert info.value.code == "media_not_found"
    assert info.value.url == media_server.missing_url
    assert state_of(harness.player) is PlayerState.FAILED


@pytest.mark.parametrize("play", [True, False], ids=["play", "preroll"])
async def test_refused_port_is_media_unreachable(harness: PlayerHarness, play: bool) -> None:
    with pytest.raises(MediaUnreachableError, match="refused"):
        await harness.player.async_load(refused_url(), play=play)


@pytest.mark.parametrize("play", [True, False], ids=["play", "preroll"])
async def test_garbage_bytes_are_media_unsupported(
    harness: PlayerHarness, media_server: MediaServer, play: bool
) -> None:
    write_garbage(media_server.root / "noise.wav")
    # A pre-roll of garbage stalls paused in libVLC (no demuxer finds a stream to buffer):
    # the load's deadline ends it, and the bytes read tell it apart from a dead server.
    with pytest.raises(MediaUnsupportedError):
        await harness.player.async_load(media_server.url("noise.wav"), play=play, timeout_s=1.0)


async def test_a_server_that_never_answers_times_out_as_unreachable(
    harness: PlayerHarness, media_server: MediaServer
) -> None:
    with pytest.raises(MediaUnreachableError, match=r"within 0\.5 s"):
        await harness.player.async_load(media_server.stall_url, play=False, timeout_s=0.5)
    assert media_server.stalled.is_set()
    assert state_of(harness.player) is PlayerState.FAILED


async def test_a_cancelled_load_leaves_the_player_stopped(
    harness: PlayerHarness, media_server: MediaServer
) -> None:
    load = asyncio.create_task(harness.player.async_load(media_server.stall_url, play=True))
    await asyncio.wait_for(media_server.stalled.wait(), EVENT_TIMEOUT_S)
    load.cancel()
    with pytest.raises(asyncio.CancelledError):
        await load
    changed = await harness.next_event(StateChanged)
    while changed.state is PlayerState.LOADING:
        changed = await harness.next_event(StateChanged)
    assert changed.state is PlayerState.FAILED


async def test_play_during_a_preroll_waits_for_it(
    harness: PlayerHarness, media_server: MediaServer
) -> None:
    write_position_track(media_server.root / "pos.wav", 1000)
    load = asyncio.create_task(
        harness.player.async_load(media_server.url("pos.wav"), 500, play=False)
    )
    await asyncio.sleep(0)  # let the load start: the player is LOADING now
    assert state_of(harness.player) is PlayerState.LOADING
    await harness.player.async_play()
    await load
    await harness.next_event(TrackEnded)
    await harness.player.async_stop()
    assert first_segment(read_wav(harness.recording)) == pytest.approx(5, abs=1)


@pytest.mark.parametrize("play", [True, False], ids=["play", "preroll"])
async def test_a_start_beyond_the_end_is_refused(
    harness: PlayerHarness, media_server: MediaServer, play: bool
) -> None:
    write_position_track(media_server.root / "pos.wav", 1000)
    with pytest.raises(PositionOutOfRangeError, match="1000 ms long"):
        await harness.player.async_load(media_server.url("pos.wav"), 5000, play=play)


async def test_a_local_file_is_refused_even_when_it_exists(
    harness: PlayerHarness, tmp_path
) -> None:
    # A receiver plays only http and https (Baton issue 13): libVLC would open the file.
    write_tone(tmp_path / "local.wav", 440.0, 200)
    with pytest.raises(MediaSchemeError, match="http and https"):
        await harness.player.async_load((tmp_path / "local.wav").as_uri(), play=True)
    assert harness.player.state is PlayerState.IDLE  # libVLC never saw it


async def test_the_player_recovers_after_a_failed_load(
    harness: PlayerHarness, media_server: MediaServer
) -> None:
    write_tone(media_server.root / "short.wav", 440.0, 200)
    with pytest.raises(MediaNotFoundError):
        await harness.player.async_load(media_server.missing_url, play=True)
    await harness.player.async_load(media_server.url("short.wav"), play=True)
    await harness.next_event(TrackEnded)


async def test_an_unwritable_afile_is_an_audio_output_error(tmp_path) -> None:
    output = parse_audio_output(f"afile:{tmp_path / 'no-such-dir' / 'out.wav'}")
    player = Player(output)
    with pytest.raises(AudioOutputError, match="cannot write"):
        await player.async_start()
    assert player.state is PlayerState.CLOSED


async def test_the_none_output_plays_and_ends(media_server: MediaServer) -> None:
    write_tone(media_server.root / "short.wav", 440.0, 200)
    events: asyncio.Queue[PlayerEvent] = asyncio.Queue()
    player = Player(parse_audio_output("none"), listener=events.put_nowait)
    harness = PlayerHarness(player, recording=media_server.root, events=events)  # nothing recorded
    await player.async_start()
    try:
        await player.async_load(media_server.url("short.wav"), play=True)
        await harness.next_event(TrackEnded)
    finally:
        await player.async_close()


async def test_close_is_idempotent_and_final(harness: PlayerHarness) -> None:
    await harness.player.async_close()
    await harness.player.async_close()
    assert state_of(harness.player) is PlayerState.CLOSED
    with pytest.raises(PlayerClosedError):
        await harness.player.async_load("http://127.0.0.1:1/x.wav", play=True)
    with pytest.raises(PlayerClosedError):
        await harness.player.async_set_volume(50)
