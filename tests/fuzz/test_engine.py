"""The fuzzing engine itself: it finds a planted bug, keeps the input, and catches a hang."""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import strategies as st

from tests.fuzz import engine, seeds
from tests.fuzz.mutations import fuzz_bytes, varint

PLANTED = b"\xff" * 10  # what the corrupt_varint mutation inserts: a bug one mutation away


def _target(check: engine.Check, **overrides: object) -> engine.Target:
    @contextlib.contextmanager
    def open_check() -> Iterator[engine.Check]:
        yield check

    settings: dict[str, object] = {
        "name": "planted",
        "inputs": fuzz_bytes([b"\x0a\x03bag", b"\x12\x00"]),
        "open": open_check,
        "seeds_of": lambda data: [("frame", data)],
        "smoke_examples": 500,
    }
    return engine.Target(**{**settings, **overrides})  # type: ignore[arg-type]


def _fails_on_planted(data: bytes) -> None:
    assert PLANTED not in data, "planted bug"


def test_smoke_finds_a_bug_one_mutation_away_from_a_seed() -> None:
    with pytest.raises(AssertionError, match="planted bug"):
        engine.smoke(_target(_fails_on_planted))


def test_a_budgeted_run_reports_the_failure_and_saves_the_shrunk_input(tmp_path, monkeypatch):
    monkeypatch.setattr(seeds, "FOUND_DIR", tmp_path)
    run = engine.fuzz_for(_target(_fails_on_planted), seconds=60)
    assert isinstance(run.failure, AssertionError)
    (saved,) = run.found
    assert saved.parent == tmp_path / "planted"
    assert PLANTED in saved.read_bytes()
    assert len(saved.read_bytes()) <= len(PLANTED) + 2  # shrunk: the planted bytes, little else


@pytest.mark.warning_logs(r"something broke")
def test_an_error_logged_while_checking_is_a_failure_unless_tolerated() -> None:
    def logs_error(data: bytes) -> None:
        logging.getLogger("fuzz.test").error("something broke")

    with pytest.raises(AssertionError, match="something broke"):
        engine.check_each(_target(logs_error), [b""])
    engine.check_each(_target(logs_error, tolerated=lambda record: True), [b""])


def test_a_passing_target_runs_its_smoke_count() -> None:
    run = engine.smoke(_target(lambda data: None, inputs=st.binary(max_size=4)))
    assert run.examples >= 500


def test_varint_matches_protobufs_encoding() -> None:
    assert varint(1) == b"\x01"
    assert varint(300) == b"\xac\x02"
    assert varint(2**64 - 1) == b"\xff" * 9 + b"\x01"


HANGING_TARGET = """
import contextlib, time
from hypothesis import strategies as st
from tests.fuzz import engine, seeds
from pathlib import Path
engine.HANG_S = 1.0
seeds.FOUND_DIR = Path({found!r})

@contextlib.contextmanager
def open_check():
    yield lambda data: time.sleep(60)  # the hang under test

target = engine.Target("hangs", st.just(b"stuck"), open_check, lambda d: [("frame", d)], 1)
engine.check_each(target, [b"stuck"])
"""


def test_the_watchdog_ends_a_hung_run_and_keeps_its_input(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", HANGING_TARGET.format(found=str(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    assert "a hang" in done.stderr
    assert (tmp_path / "hangs" / seeds.found_name("frame", b"stuck")).read_bytes() == b"stuck"
