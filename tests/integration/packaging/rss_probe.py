"""Sample a receiver's memory during the chroot check, then report it idle and playing.

    python -m tests.integration.packaging.rss_probe PID OUT
        samples /proc/PID/smaps every 200 ms until SIGTERM or the process ends, into OUT (JSON)
    python -m tests.integration.packaging.rss_probe --report OUT --phases PHASES --arch ARCH
        prints the table: idle is the last sample before the play command, playing the largest
        sample between it and the end of the track (PHASES comes from drive_playback.py)

Under QEMU user emulation the process the kernel sees is QEMU running the guest, so its RSS
counts, besides the guest's own pages, QEMU's binary, its malloc heap and its translation
cache (the translated ARM code, which a real ARM board does not have). The sampler splits
smaps along those lines: `guest` is what the receiver itself uses and what a board would
show, plus QEMU's own bookkeeping in anonymous maps that cannot be told apart from the
guest's: an upper bound. A native process (amd64 on amd64) is reported whole.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import time
from pathlib import Path

INTERVAL_S = 0.2
# QEMU reserves its translation cache as one anonymous map of at least this size.
TCG_MIN_KB = 32 * 1024
_HEADER = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$")


def sample(pid: int) -> dict[str, float]:
    """Return one reading of *pid*'s resident memory in kB, split by owner."""
    kinds = {"total": 0, "qemu_binary": 0, "qemu_heap": 0, "tcg_cache": 0}
    label = ""
    with Path(f"/proc/{pid}/smaps").open() as smaps:
        for line in smaps:
            head = _HEADER.match(line)
            if head:
                start, end, path = int(head[1], 16), int(head[2], 16), head[4]
                size_kb = (end - start) // 1024
                if "qemu-" in path and path.endswith("-static"):
                    label = "qemu_binary"
                elif path == "[heap]":
                    label = "qemu_heap"  # the host heap: QEMU's malloc (a guest's brk is mapped)
                elif not path and "x" in head[3] and size_kb >= TCG_MIN_KB:
                    label = "tcg_cache"
                else:
                    label = ""
            elif line.startswith("Rss:"):
                kb = int(line.split()[1])
                kinds["total"] += kb
                if label:
                    kinds[label] += kb
    if not kinds["qemu_binary"]:
        kinds["qemu_heap"] = kinds["tcg_cache"] = 0  # a native process: its heap is its own
    kinds["guest"] = kinds["total"] - kinds["qemu_binary"] - kinds["qemu_heap"] - kinds["tcg_cache"]
    return {"t": time.monotonic(), **kinds}


def record(pid: int, out: Path) -> int:
    """Sample *pid* until SIGTERM or its end; write the samples to *out*."""
    stop = False

    def on_term(_signum: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    samples: list[dict[str, float]] = []
    while not stop:
        try:
            samples.append(sample(pid))
        except (FileNotFoundError, ProcessLookupError):
            break
        time.sleep(INTERVAL_S)  # a sampling period, not a wait for a condition
    out.write_text(json.dumps(samples))
    return 0


def report(out: Path, phases: Path, arch: str, emulated: bool) -> int:
    """Print idle and playing memory from the samples and the playback's phases."""
    samples = json.loads(out.read_text())
    when = json.loads(phases.read_text())
    before = [s for s in samples if s["t"] <= when["play"]]
    during = [s for s in samples if when["play"] <= s["t"] <= when["stopped"]]
    if not before or not during:
        print(f"rss_probe: no samples idle ({len(before)}) or playing ({len(during)})")
        return 1
    idle = before[-1]
    playing = max(during, key=lambda s: s["total"])
    print(f"[chroot-check {arch}] memory of the receiver (VmRSS from smaps, MB = 10^6 bytes):")
    columns = (
        ("guest", "total", "tcg_cache", "qemu_heap", "qemu_binary") if emulated else ("total",)
    )
    print("  " + " ".join(f"{c:>12}" for c in ("phase", *columns)))
    for name, s in (("idle", idle), ("playing", playing)):
        print("  " + f"{name:>12} " + " ".join(f"{s[c] * 1024 / 1e6:>12.1f}" for c in columns))
    if emulated:
        print(
            f"[chroot-check {arch}] under QEMU user emulation: `guest` is the receiver's own "
            "memory; times are 10-50x a board's and not figures"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Sample (PID OUT) or report (--report OUT --phases FILE --arch A)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pid", nargs="?", type=int)
    parser.add_argument("out", nargs="?", type=Path)
    parser.add_argument("--report", type=Path)
    parser.add_argument("--phases", type=Path)
    parser.add_argument("--arch", default="?")
    parser.add_argument("--emulated", action="store_true")
    args = parser.parse_args(argv)
    if args.report is not None:
        if args.phases is None:
            parser.error("--report needs --phases")
        return report(args.report, args.phases, args.arch, args.emulated)
    if args.pid is None or args.out is None:
        parser.error("PID and OUT are needed to sample")
    return record(args.pid, args.out)


if __name__ == "__main__":
    sys.exit(main())
