"""The seed corpus on disk: tests/fuzz/corpus/<target>/<kind>-<name>.bin.

A seed's kind (the part of its name before the first "-") says how a harness feeds it, for
example `frame` (a WebSocket frame) or `http` (a raw HTTP request). Seeds named
`<kind>-found-<digest>.bin` are regressions: inputs a fuzzing run once found failing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

CORPUS_DIR = Path(__file__).parent / "corpus"
FOUND_DIR = Path(__file__).parent / "found"


def load(target: str, kind: str = "") -> tuple[bytes, ...]:
    """Return the seeds of *target* (only those of *kind*, if given), in name order."""
    paths = sorted((CORPUS_DIR / target).glob(f"{kind}-*.bin" if kind else "*.bin"))
    seeds = tuple(path.read_bytes() for path in paths)
    if not seeds:
        raise FileNotFoundError(
            f"no {kind or 'any'} seeds in {CORPUS_DIR / target}: "
            "run python -m tests.fuzz.make_corpus"
        )
    return seeds


def found_name(kind: str, data: bytes) -> str:
    """Return the file name of a found input: stable, so finding it twice writes one file."""
    return f"{kind}-found-{hashlib.sha256(data).hexdigest()[:12]}.bin"


def save_found(target: str, kind: str, data: bytes) -> Path:
    """Write a failing input to tests/fuzz/found/<target>/ and return its path."""
    folder = FOUND_DIR / target
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / found_name(kind, data)
    path.write_bytes(data)
    return path
