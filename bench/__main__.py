"""Run Baton's benchmarks: every module in BENCHMARKS, or those named on the command line."""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
import time

from bench._busy import busy_machine
from bench._runner import report

# Each module exposes `run(quick: bool) -> Iterable[Measurement]`; a module whose `run` also
# takes `minutes` gets `--minutes` (soak).
BENCHMARKS = [
    "codec",
    "discovery",
    "player",
    "spatial",
    "session",
    "receiver_memory",
    "receiver_cpu",
    "transfer",
    "race",
    "tracing",
    "load",
    "faults",
    "abuse",
    "soak",
    "impaired",
    "app",
    "app_queue",
    "cli",
    "bridges",
    "drift",
    "group",
]


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks and print their report; exit 1 if one of them fails."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run Baton's benchmarks. Each prints median, p95, p99 "
        "and a `BENCH {json}` line.",
    )
    parser.add_argument("--quick", action="store_true", help="a short smoke of each (used by CI)")
    parser.add_argument(
        "--output",
        metavar="SERVER",
        help="transfer: also run through a real sound server started for the run "
        "(pulse: PulseAudio; pipewire: PipeWire's pulse layer), side by side with capture",
    )
    parser.add_argument(
        "--format",
        metavar="FMT[,FMT...]",
        help="transfer: only handoffs of the track in these formats (tests/corpus.py's names, "
        "or all), side by side with WAV",
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})",
    )
    parser.add_argument(
        "--minutes", type=float, help="how long a timed benchmark runs (soak; default its own)"
    )
    parser.add_argument(
        "--busy",
        type=int,
        default=0,
        metavar="N",
        help="top the machine up to a load of N with spinning processes meanwhile",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    failed = []
    with busy_machine(args.busy):
        for name in args.names or BENCHMARKS:
            print(f"== {name}{' (quick)' if args.quick else ''}", flush=True)
            started = time.perf_counter()
            try:
                module = importlib.import_module(f"bench.{name}")
                options: dict[str, object] = {}
                if args.output and name == "transfer":
                    options["output"] = args.output
                if args.format and name == "transfer":
                    options["formats"] = args.format.split(",")
                if (
                    args.minutes is not None
                    and "minutes" in inspect.signature(module.run).parameters
                ):
                    options["minutes"] = args.minutes
                report(module.run(quick=args.quick, **options))
            except Exception as exc:  # one broken benchmark must not hide the others' figures
                print(f"!! {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
                failed.append(name)
            print(f"== {name} took {time.perf_counter() - started:.1f} s", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
