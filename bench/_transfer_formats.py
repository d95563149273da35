"""`./dev bench transfer --format FMT[,FMT...]`: handoffs of one track encoded in real music
formats, side by side with WAV, each measured from the capture outputs' recordings, and with
`--output pulse` (or `pipewire`) also through that sound server, recorded from its monitor.

For each format (tests/corpus.py's names; `all`: every one), two receivers play the position
track encoded by Debian's ffmpeg and hand it back and forth: two warm-up handoffs, then six
(quick: none, then one). Per handoff, read from the audio as bench/transfer.py does: the gap or
overlap (negative: the crossfade's overlap, 30 ms planned), the content
jump (content at the target's first sound minus the source's last), the position error (what
the target plays minus what the source would have played at the same instant), and how far the
coordinator's reported position error is from the heard one. The position error is read
sample by sample (tests/integration/transfer/proof_exact.py: the recordings found in the track
as decoded), the tones only where no stretch matched exactly; the gap and the content jump at
the edges are read from the tones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

from bench._runner import Measurement
from bench._transfer_session import CODE, FADE_MS, HANDOFF, WARM_UPS, Run, Session, measure
from tests.corpus import FORMAT_NAMES
from tests.integration.transfer.proof_audio import STEADY_US, HeardTransfer, hear_transfer
from tests.integration.transfer.proof_exact import exact_offset

HANDOFFS = 6
POSITION_TARGET_MS = 5.0  # every handoff, every format (issue: "Real music files")
REPORTED_TARGET_MS = 2.0  # the reported position error against the heard one


def format_figures(
    quick: bool, formats: Sequence[str], output: str | None = None
) -> Iterable[Measurement]:
    """Yield each format's figures (WAV's first) on capture and on *output* if named, then
    print them as one table."""
    names = list(FORMAT_NAMES) if "all" in formats else ["wav", *(f for f in formats if f != "wav")]
    unknown = sorted(set(names) - set(FORMAT_NAMES))
    if unknown:
        raise ValueError(
            f"unknown format(s) {', '.join(unknown)}; known: {', '.join(FORMAT_NAMES)}"
        )
    per_mode, warm_ups = (1, 0) if quick else (HANDOFFS, WARM_UPS)
    rows = []
    for name in names:
        for where in ("capture", *([output] if output else [])):
            session = asyncio.run(
                measure(per_mode, where, (HANDOFF,), warm_ups=warm_ups, media_format=name)
            )
            label = name if where == "capture" else f"{name} ({where})"
            figures = _figures(label, session, where)
            rows.append((label, figures))
            yield from figures
    print("\nhandoffs per format, from the recordings (ms; min … max; reported off: max)")
    print(
        f"{'format':<24} {'gap (-: overlap)':>18} {'content jump':>18} {'position error':>18} "
        f"{'reported off':>12}"
    )
    for label, (_unread, _tones, gap, jump, error, off) in rows:
        print(
            f"{label:<24} {_span(gap):>18} {_span(jump):>18} {_span(error):>18} "
            f"{max(off.samples):>12.1f}"
        )


def _figures(name: str, session: Session, where: str) -> list[Measurement]:
    heard, unreadable = [], 0
    for run in session.runs:
        if run.mode != HANDOFF:
            continue
        try:
            pair = (run, _hear(session, run))
            _need(pair[1].position_error_us), _need(pair[1].target_start_us)
            _need(pair[1].source_stop_us)
        except (ValueError, RuntimeError) as exc:  # said, not hidden
            print(f"!! transfer.format.{name}: a handoff cannot be read: {exc}")
            unreadable += 1
            continue
        heard.append(pair)
    if not heard:
        raise RuntimeError(f"{name}: no handoff could be read")
    gap = [h.gap_us / 1000 for _r, h in heard]
    jump = [CODE.wrap(_need(h.target_start_us) - _need(h.source_stop_us)) / 1000 for _r, h in heard]
    exact = [_exact_error_us(session, r, h) for r, h in heard]
    error = [
        (e if e is not None else _need(h.position_error_us)) / 1000
        for (_r, h), e in zip(heard, exact, strict=True)
    ]
    from_tones = sum(e is None for e in exact)
    off = [abs(r.timings.position_error_ms - e) for (r, _h), e in zip(heard, error, strict=True)]
    base = name.split(" ")[0]
    prefix = f"transfer.format.{base}" if where == "capture" else f"transfer.{where}.format.{base}"
    unread = Measurement(
        f"{prefix}.unreadable_handoffs", "count", [float(unreadable)],
        "0: every handoff heard on both sides", met=unreadable == 0,
    )  # fmt: skip
    tones = Measurement(
        f"{prefix}.errors_read_from_tones", "count", [float(from_tones)],
        "0: every position error matched sample by sample (else read from the tones, ±1.5 ms)",
        met=from_tones == 0,
    )  # fmt: skip
    return [
        unread,
        tones,
        Measurement(f"{prefix}.gap_or_overlap", "ms", [abs(x) for x in gap], extra=_signed(gap)),
        Measurement(f"{prefix}.content_jump", "ms", [abs(x) for x in jump], extra=_signed(jump)),
        Measurement(
            f"{prefix}.position_error", "ms", [abs(x) for x in error],
            f"≤ {POSITION_TARGET_MS:g} ms every handoff", _signed(error),
            met=max(abs(x) for x in error) <= POSITION_TARGET_MS,
        ),
        Measurement(
            f"{prefix}.reported_position_off", "ms", off,
            f"≤ {REPORTED_TARGET_MS:g} ms (+1 ms truncation) from the heard error",
            met=max(off) <= REPORTED_TARGET_MS + 1,
        ),
    ]  # fmt: skip


def _hear(session: Session, run: Run) -> HeardTransfer:
    return hear_transfer(
        session.captures[run.source], session.captures[run.target], run.requested_us,
        run.returned_us + 200_000, CODE, fade_us=FADE_MS * 1000,
    )  # fmt: skip


def _exact_error_us(session: Session, run: Run, heard: HeardTransfer) -> int | None:
    """Return the handoff's position error read sample by sample (None: it could not be)."""
    source, target = heard.source, heard.target
    if not session.track or source.offset is None or target.offset is None:
        return None
    steady_end = source.edge_us - FADE_MS * 1000
    steady_start = target.edge_us + FADE_MS * 1000
    before = exact_offset(
        session.captures[run.source], session.track, CODE, source.offset,
        steady_end - STEADY_US, steady_end, from_end=True,
    )  # fmt: skip
    after = exact_offset(
        session.captures[run.target], session.track, CODE, target.offset,
        steady_start, steady_start + STEADY_US, from_end=False,
    )  # fmt: skip
    if before is None or after is None:
        return None
    return CODE.wrap(after.offset_us - before.offset_us)


def _need(value: int | None) -> int:
    if value is None:
        raise RuntimeError("no segment boundary heard next to a handoff's edge")
    return value


def _signed(values: list[float]) -> dict[str, float]:
    return {"signed_min": min(values), "signed_max": max(values)}


def _span(figure: Measurement) -> str:
    return f"{figure.extra['signed_min']:+.1f} … {figure.extra['signed_max']:+.1f}"
