"""Fuzz for a time budget: `python -m tests.fuzz [--minutes N] [TARGET...]`, as `./dev fuzz` does.

The budget is split evenly across the chosen targets, run one after the other. Prints each
target's progress (examples, examples/s) and a summary; exits 1 if any target failed, after
printing hypothesis's falsifying example and where the failing input was saved.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from tests.fuzz import engine

# target name -> the harness module and its Target
HARNESSES = {
    "codec": ("tests.fuzz.test_codec", "TARGET"),
    "receiver": ("tests.fuzz.test_receiver", "TARGET"),
    "receiver-pin": ("tests.fuzz.test_receiver", "PIN_TARGET"),
    "otlp": ("tests.fuzz.test_otlp", "TARGET"),
    "collector": ("tests.fuzz.test_collector", "TARGET"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev fuzz", description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=1.0, help="total budget (default 1)")
    parser.add_argument("targets", nargs="*", metavar="TARGET", help=", ".join(HARNESSES))
    args = parser.parse_args(argv)
    unknown = [name for name in args.targets if name not in HARNESSES]
    if unknown or args.minutes <= 0:
        parser.error(f"unknown target {unknown[0]!r}" if unknown else "--minutes must be > 0")
    names = args.targets or list(HARNESSES)
    share = args.minutes * 60 / len(names)
    runs = []
    for name in names:
        module, attribute = HARNESSES[name]
        target: engine.Target = getattr(importlib.import_module(module), attribute)
        print(f"== {name}: fuzzing for {share:.0f} s", flush=True)
        runs.append(engine.fuzz_for(target, share, _progress))
    for run in runs:
        if run.failure is not None:
            _report_failure(run)
    print("\n== summary")
    for run in runs:
        verdict = "FAILED" if run.failure is not None else "ok"
        print(
            f"{run.target:<12} {verdict:<7} {run.examples:>9} examples "
            f"in {run.seconds:6.1f} s  {run.rate:9.0f}/s"
        )
    return 1 if any(run.failure is not None for run in runs) else 0


def _progress(run: engine.Run) -> None:
    print(
        f"   {run.target}: {run.examples} examples in {run.seconds:.1f} s ({run.rate:.0f}/s)",
        flush=True,
    )


def _report_failure(run: engine.Run) -> None:
    assert run.failure is not None
    print(f"\n== {run.target} FAILED")
    # Hypothesis adds the falsifying example and a @reproduce_failure line as notes; an input
    # grown by `repeat` can be huge, so each note is cut short (the saved file has it all).
    for failure in _leaves(run.failure):
        notes = getattr(failure, "__notes__", [])
        failure.__notes__ = [_shorten(note) for note in notes]
        traceback.print_exception(failure, file=sys.stdout)
    for path in run.found:
        print(f"failing input saved to {path}")
    print("Once fixed, move it into tests/fuzz/corpus/ as a regression seed (docs/fuzzing.md)")


def _leaves(exc: BaseException) -> list[BaseException]:
    """The failures in *exc*: hypothesis groups distinct bugs found in one run."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def _shorten(text: str, limit: int = 3000) -> str:
    return (
        text if len(text) <= limit else f"{text[:limit]} ... ({len(text) - limit} more characters)"
    )


if __name__ == "__main__":
    sys.exit(main())
