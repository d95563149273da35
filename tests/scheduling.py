"""How `./dev test` splits the suite: most of it on three workers, the timing proofs alone.

The suite mostly waits (receivers starting, audio playing at its own pace), so it runs on
workers: three on two cores finished the parallel part in 472 s where two took 550. Some
modules judge timing from the audio or from deadlines (a handoff's continuity read from a
recording, a dip in the music while a peer is killed): beside other workers they would measure
the machine's load, not Baton. They carry the `alone` marker and run after the parallel part,
one at a time (`./dev test` runs `-m "not alone"` on workers, then `-m alone`). Each worker runs
in a network namespace of its own (tests/isolated-python), so one worker's receivers are never
discovered by another's controllers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

ALONE = (
    "faults/",  # kills and cut links, judged by the music's dips
    "integration/transfer/test_audio_proof.py",  # handoffs read from recordings
    "integration/transfer/test_faults.py",
    "integration/transfer/test_sound_server.py",
    "integration/groups/test_group_moves.py",  # a group's music moved, read from the captures
    "integration/devices/test_capture.py",  # fades, pauses and starts read from the capture
    "integration/devices/test_player.py",
    "integration/devices/test_pulse_output.py",
    "integration/devices/test_formats.py",  # positions in every format, read from the audio
    "integration/devices/test_formats_pulse.py",
    "integration/devices/test_gapless.py",  # track changes read from the capture
    "integration/devices/test_group_member.py",  # group members' skews read from the captures
    "integration/devices/test_timed_resume.py",  # a resume's position read from the capture
    "integration/live/test_live_transfer.py",  # live edges read from recordings
    "integration/live/test_hls_radio.py",
    "integration/packaging/test_power_cut.py",  # resumes from a saved position, heard
    "integration/packaging/test_clock_jump.py",
    "e2e/app/test_radio_transfer.py",
    # Bridged devices' switches and clocks read from their recordings (the other bridge tests
    # check commands and states, and run on the workers).
    "integration/bridges/test_mpd.py",  # its clock held against what the MPD played
    "integration/bridges/test_airplay_queue.py",  # the next track's clock against the speaker's
    "integration/bridges/test_mpd_transfer.py",
    "integration/bridges/test_upnp.py",
    "integration/bridges/test_airplay.py",
    "integration/bridges/test_airplay_transfer.py",
    "integration/bridges/test_snapcast.py",
)
"""Paths under tests/ whose tests run alone on the machine (a folder ends with "/")."""

FIRST = (
    "unit/test_bench_smoke.py",  # the three benchmark smokes: 75-90 s each, one to each worker
    "unit/test_bench_smoke_heavy.py",
    "unit/test_bench_smoke_apart.py",
    # The longer modules next (15-40 s each), so the part ends on short ones and the workers
    # finish together.
    "integration/live/test_radio.py",
    "integration/devices/test_drift.py",
    "integration/tracing/test_otlp_conformance.py",
    "integration/receiver/test_two_hosts.py",
    "e2e/viewer/test_demo_traces.py",
    "integration/controller_security/test_pin_receivers.py",
    "integration/groups/test_group_cli.py",
    "integration/groups/test_join_while_playing.py",
    # The plugin's browser test needs the npm packages `./dev test` installs meanwhile: a worker
    # reaches it a minute or more into the part, the install over by then most times (it waits
    # for the install's end, however it went: BATON_PLUGIN_INSTALL_DONE).
    "e2e/backstage/",
)
"""Modules handed out first, in this order (the rest keep theirs)."""


def _relative(item: pytest.Item) -> str:
    """Return *item*'s module path under tests/ ("" for a test elsewhere, e.g. pytester's)."""
    path = item.path.resolve()
    return path.relative_to(TESTS).as_posix() if path.is_relative_to(TESTS) else ""


def mark_alone(items: list[pytest.Item]) -> None:
    """Add the `alone` marker to the tests of ALONE."""
    for item in items:
        if _relative(item).startswith(ALONE):
            item.add_marker(pytest.mark.alone)


def longest_first(items: list[pytest.Item]) -> None:
    """Move the modules of FIRST to the front, in FIRST's order, keeping every other test's."""

    def place(item: pytest.Item) -> int:
        relative = _relative(item)
        return next((n for n, first in enumerate(FIRST) if relative.startswith(first)), len(FIRST))

    items.sort(key=place)
