"""Transfer benchmark: transfers back and forth between two real receivers, measured from the
audio they presented: request → target audible, gap or overlap, position error, per mode.

Two `baton-receiver` processes on `lo` play into capture outputs (`--audio-output
capture:PATH`): each writes a WAV of what it presented and a timeline stamping every sample with
its presentation instant on CLOCK_MONOTONIC, the clock this process reads too. A Controller
(mDNS off, both added by address) starts a long position-encoding track on A, then a
TransferCoordinator moves it A→B, B→A, ... with a pause between transfers; modes go in pairs,
handoff there and back, stop-first there and back, so both meet the same conditions side by side
in one run (20 transfers of each; quick: one of each in turn, no warm-up). Afterwards both
receivers are stopped and each transfer is read from the recordings
(tests/integration/transfer/proof_audio.py):
* request → audible: the target's first audible sample minus the instant read just before
  calling `TransferCoordinator.async_transfer` (which reads its own request instant
  microseconds later);
* gap: the target's first audible sample minus the instant after the source's last one
  (negative: an overlap, the crossfade);
* position error: the content the target plays minus the content the source would have been
  playing at the same instant had it played on, each side's content read to the sample from the
  segment boundaries heard in the 400 ms of steady play next to its edge;
* content jump: content at the target's first sound minus content at the source's last
  (reported: what a listener hears skipped, or repeated if negative);
* source clock error: the position the source's published session clock gave, minus the
  content it was presenting then (reported: the coordinator's position figures rest on it).
The coordinator's own figures (from the receivers' reported output edges) are printed next to
them. bench/README.md discusses the accuracy. The targets judge handoff only; stop-first is
shown for comparison. Latency is judged on p95; gap and position error, whose targets have no
percentile, on the largest transfer.

`--output pulse` (or `pipewire`) runs the same session a second time, in the same invocation,
with both receivers playing through a real sound server the benchmark starts (PulseAudio, or
PipeWire's pulse layer), one null sink each, recorded from the sinks' monitors by parecord
(bench/_transfer_session.py says how the recordings are placed on the clock, and checks it):
the same table, then both side by side. The difference is what a real sound server adds.

Then queues as large as a library (bench/_queue_sizes.py): for 100, 10 000 and 50 000 items
(quick: 100 and 2 000), fresh receivers play the track as the first item of a queue of that
length and hand it off back and forth (6 times each; quick: once): request → audible from the
audio as above, and both receivers' RSS once the last target fetched the whole queue. A full
run repeats them with pure-Python protobuf (what armhf runs), in a process of its own.

The track: tests/audio.py's position code stops at 19 s (190 segments; the next would pass
Nyquist), so here the code repeats every 150 segments (15 s, top tone 15.4 kHz) in a track as
long as the run needs. Content is then known modulo 15 s, which is no ambiguity: every reading
is taken within a second of the last one, and differences are wrapped to ±7.5 s.

The live rows (bench/_transfer_live.py): the same handoffs with a live internet-radio stream
on capture outputs, joined at its live edge, Icecast-style and then over HLS; the programme
offset says how well two receivers' connections to one station agree.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import replace

from bench._queue_sizes import QUEUE_SIZES, QUICK_SIZES, judge_latency, pure_python
from bench._runner import Measurement
from bench._transfer_formats import format_figures
from bench._transfer_live import HLS, LIVE, live_figures, measure_live
from bench._transfer_session import (
    CODE,
    FADE_MS,
    HANDOFF,
    MODES,
    PREPARED,
    SERVERS,
    STOP_FIRST,
    WARM_UPS,
    Run,
    Session,
    measure,
)
from tests.integration.transfer.proof_audio import HeardTransfer, hear_transfer

LATENCY_TARGET_MS = 100.0  # handoff, p95; and no more than stop-first's p95 in the same run
PREPARED_TARGET_MS = 50.0  # a transfer to a target that prepared the stream, p95
OVERLAP_TARGET_MS = 30.0  # the crossfade: every transfer
POSITION_TARGET_MS = 5.0  # p99
OUTPUTS = tuple(SERVERS)  # what --output accepts besides the capture run, always made


def run(
    quick: bool, output: str | None = None, formats: Sequence[str] = ()
) -> Iterable[Measurement]:
    """Run 20 transfers of each mode (quick: 1) on capture, and on *output* if named; yield
    the audio's figures per output and mode, then print the two side by side. With *formats*,
    only handoffs of the track in each of those formats and in WAV, on capture and on *output*
    (bench/_transfer_formats.py)."""
    if output is not None and output not in OUTPUTS:
        raise ValueError(f"transfer --output must be one of {', '.join(OUTPUTS)}, not {output!r}")
    if formats:
        yield from format_figures(quick, formats, output)
        return
    # Quick: no warm-ups either; the first transfers' cold starts only move figures nobody reads.
    per_mode, warm_ups = (1, 0) if quick else (20, WARM_UPS)
    tables: dict[str, list[Measurement]] = {}
    for name in ("capture", *([output] if output else [])):
        session = asyncio.run(measure(per_mode, name, warm_ups=warm_ups))
        figures = list(_session_figures(session))
        tables[name] = figures
        yield from figures
    if output:
        _print_side_by_side(tables["capture"], tables[output], output)
    # Internet radio: the same handoffs, joining a live stream at its edge (its own row).
    yield from live_figures(*asyncio.run(measure_live(per_mode, LIVE, warm_ups)))
    # The same over HLS.
    yield from live_figures(*asyncio.run(measure_live(per_mode, HLS, warm_ups)), HLS)
    # Queues of 100, 10 000 and 50 000 items (full runs: also in pure-Python protobuf).
    sizes = QUICK_SIZES if quick else QUEUE_SIZES
    yield from asyncio.run(queue_sizes(sizes, per_mode if quick else 6, warm_ups=warm_ups))
    if not quick:
        yield from pure_python("transfer", quick)


async def queue_sizes(
    sizes: Sequence[int], per_size: int, suffix: str = "", warm_ups: int = WARM_UPS
) -> list[Measurement]:
    """Handoffs with a queue of each size (fresh receivers each, capture output): request →
    audible from the audio, and the receivers' RSS after; the largest judged against the
    smallest."""
    latency: dict[int, Measurement] = {}
    memory: dict[int, Measurement] = {}
    whole: dict[int, Measurement] = {}
    for size in sizes:
        rss: list[float] = []
        session = await measure(per_size, "capture", (HANDOFF,), size, rss, warm_ups)
        heard = [(run, _hear(session, run)) for run in session.runs]
        print(f"queue of {size} items{suffix}:")
        _print_breakdown(heard)
        pairs = [(r, h) for r, h in heard if r.mode == HANDOFF]
        name = f"transfer.queue_{size}"
        latency[size] = _measurement(
            f"{name}.request_to_audible{suffix}",
            [(h.target.edge_us - r.requested_us) / 1000 for r, h in pairs],
            [float(r.timings.request_to_audible_ms) for r, _h in pairs],
        )
        memory[size] = Measurement(f"{name}.receiver_rss{suffix}", "MB", rss)
        if session.whole_after_ms:  # reported: the target fetches the rest after the switch
            whole[size] = Measurement(
                f"{name}.whole_queue_on_target{suffix}", "ms", session.whole_after_ms
            )
    return [*judge_latency(latency, memory), *(whole[size] for size in sorted(whole))]


def _session_figures(session: Session) -> Iterable[Measurement]:
    prefix = "transfer" if session.output == "capture" else f"transfer.{session.output}"
    heard: list[tuple[Run, HeardTransfer]] = []
    unheard = []
    for run in session.runs:
        try:
            heard.append((run, _hear(session, run)))
        except ValueError as exc:  # a side silent throughout its window: said, not hidden
            print(f"!! {prefix}: a {run.mode} transfer cannot be read: {exc}")
            unheard.append(run)
    print(f"{prefix}:")
    _print_breakdown(heard)
    figures = {}
    for mode in MODES:
        pairs = [(r, h) for r, h in heard if r.mode == mode]
        if pairs:
            figures[mode] = _figures(f"{prefix}.{mode}", mode, pairs)
    if HANDOFF in figures and STOP_FIRST in figures:
        # Make-before-break must be no slower than stop-first, measured side by side.
        handoff, stop_first = figures[HANDOFF][0], figures[STOP_FIRST][0]
        met = handoff.met is True and handoff.percentile(95) <= stop_first.percentile(95)
        figures[HANDOFF][0] = replace(handoff, met=met)
    for mode_figures in figures.values():
        yield from mode_figures
    if unheard:
        yield Measurement(
            f"{prefix}.unreadable_transfers",
            "count",
            [float(len(unheard))],
            "0: every transfer heard on both sides",
            met=False,
        )
    if session.output != "capture":
        extra = {f"clock_ppm_{i}": ppm for i, ppm in enumerate(session.clock_ppm)}
        yield Measurement(
            f"{prefix}.recording_alignment_spread",
            "us",
            [float(x) for x in session.alignment_spread_us],
            extra=extra,
        )
        if session.alignment_check_us is not None:
            yield Measurement(
                f"{prefix}.recording_alignment_check", "us", [float(session.alignment_check_us)]
            )


def _hear(session: Session, run: Run) -> HeardTransfer:
    return hear_transfer(
        session.captures[run.source],
        session.captures[run.target],
        run.requested_us,
        run.returned_us + 200_000,
        CODE,
        fade_us=0 if run.mode == STOP_FIRST else FADE_MS * 1000,
    )


def _print_side_by_side(capture: list[Measurement], real: list[Measurement], output: str) -> None:
    """Print each figure of the capture run beside the same figure through the sound server."""
    by_name = {f.name.replace(f"transfer.{output}.", "transfer.", 1): f for f in real}
    print(f"\nside by side, same run: capture vs {output} (ms; median / p95 / max, signed max)")
    print(f"{'figure':<34} {'capture':>30} {output:>30}")
    for figure in capture:
        twin = by_name.get(figure.name)
        if twin is None:
            continue
        print(f"{figure.name.removeprefix('transfer.'):<34} {_cell(figure):>30} {_cell(twin):>30}")


def _cell(figure: Measurement) -> str:
    signed = figure.extra.get("signed_max")
    tail = f" ({signed:+.1f})" if signed is not None else ""
    return (
        f"{statistics.median(figure.samples):.1f} / {figure.percentile(95):.1f} / "
        f"{max(figure.samples):.1f}{tail}"
    )


def _figures(name: str, mode: str, pairs: list[tuple[Run, HeardTransfer]]) -> list[Measurement]:
    latency = [(h.target.edge_us - r.requested_us) / 1000 for r, h in pairs]
    gap = [h.gap_us / 1000 for _r, h in pairs]
    position = [_ms(h.position_error_us) for _r, h in pairs]
    jump = [_jump_ms(h) for _r, h in pairs]
    latency_target = PREPARED_TARGET_MS if mode == PREPARED else LATENCY_TARGET_MS
    latency_words = f"≤ {latency_target:g} ms p95 (request → target audible)" + (
        ", and ≤ stop-first's p95" if mode == HANDOFF else ""
    )
    figures = [
        _measurement(
            f"{name}.request_to_audible",
            latency,
            [float(r.timings.request_to_audible_ms) for r, _h in pairs],
            latency_words,
        ),
        _measurement(
            f"{name}.gap_or_overlap",
            gap,
            [r.timings.gap_us / 1000 for r, _h in pairs],
            f"≤ {OVERLAP_TARGET_MS:g} ms overlap (the crossfade, ±0.5 ms: the audio's edges) "
            "or gap, every transfer",
        ),
        _measurement(
            f"{name}.position_error",
            position,
            [float(r.timings.position_error_ms) for r, _h in pairs],
            f"≤ {POSITION_TARGET_MS:g} ms position error p99",
        ),
        _measurement(f"{name}.content_jump", jump),
        _measurement(f"{name}.source_clock_error", [_clock_error_ms(r, h) for r, h in pairs]),
        *(
            Measurement(f"{name}.breakdown.{part}", "ms", [getattr(r.timings, f"{part}_us") / 1000
                                                            for r, _h in pairs])
            for part in ("offer", "preroll", "lead", "start")
        ),
    ]  # fmt: skip
    if mode == STOP_FIRST:
        return figures  # reported for comparison, not judged
    latency_f, gap_f, position_f, *rest = figures
    return [
        replace(latency_f, met=latency_f.percentile(95) <= latency_target),
        replace(gap_f, met=max(gap_f.samples) <= OVERLAP_TARGET_MS + 0.5),
        replace(position_f, met=position_f.percentile(99) <= POSITION_TARGET_MS),
        *rest,
    ]


def _print_breakdown(heard: list[tuple[Run, HeardTransfer]]) -> None:
    """Print one line per transfer: where its request → audible went (the coordinator's
    figures) beside the audio's."""
    print("transfer  mode        offer  pre-roll    lead   start  = reported  (audio)  [ms]")
    for i, (r, h) in enumerate(heard):
        t = r.timings
        parts = [t.offer_us / 1000, t.preroll_us / 1000, t.lead_us / 1000, t.start_us / 1000]
        audio = (h.target.edge_us - r.requested_us) / 1000
        cells = "".join(f"{p:8.1f}" for p in parts)
        print(f"{i:8}  {r.mode:<10}{cells}  = {sum(parts):8.1f}  ({audio:6.1f})")


def _measurement(
    name: str, signed: list[float], reported: list[float] | None = None, target: str = ""
) -> Measurement:
    """Return a figure whose samples are magnitudes (a gap and an overlap count alike); the
    signed values and the coordinator's own figures go in the extras."""
    extra = {
        "signed_median": statistics.median(signed),
        "signed_min": min(signed),
        "signed_max": max(signed),
    }
    if reported is not None:
        extra["reported_median"] = statistics.median(reported)
        extra["reported_max_off"] = max(abs(r - a) for r, a in zip(reported, signed, strict=True))
    return Measurement(name, "ms", [abs(x) for x in signed], target, extra)


def _ms(us: int | None) -> float:
    if us is None:
        raise RuntimeError("no segment boundary heard next to a transfer's edge")
    return us / 1000


def _jump_ms(heard: HeardTransfer) -> float:
    stop, start = heard.source_stop_us, heard.target_start_us
    if stop is None or start is None:
        raise RuntimeError("no segment boundary heard next to a transfer's edge")
    return CODE.wrap(start - stop) / 1000


def _clock_error_ms(run: Run, heard: HeardTransfer) -> float:
    """Return how far the source's published clock led the content it presented (ms)."""
    offset = heard.source.offset
    if offset is None:
        raise RuntimeError("no segment boundary heard next to a transfer's edge")
    clock = run.source_clock
    return CODE.wrap(clock.position_ms * 1000 - (clock.as_of_us + offset.offset_us)) / 1000
