"""Make the machine busy on purpose, to a load of N, for `./dev bench --busy N`.

A benchmark's tail latencies depend on what else runs. The figures in docs/ were measured on
a shared two-core machine whose load came and went; `--busy N` makes the load part of the
method instead: it counts what already runs (the kernel's runnable tasks, averaged over
SAMPLE_S) and tops it up to N with pure-Python loops at normal priority, each wanting a whole
core, started before the benchmarks and stopped after. It then waits (up to SETTLE_S) until
the 1-minute load average has reached N, so the first scenario already runs on the busy
machine, and prints how many it started and the load average. Other work on the machine can
still come and go during the run: each benchmark reports the load average it saw.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

SETTLE_S = 150.0  # the 1-minute load average is a 60 s moving average: it takes a while
SAMPLE_S = 5.0
SPIN = "while True: pass"


def runnable_now(seconds: float = SAMPLE_S) -> float:
    """Return the mean number of runnable tasks over *seconds*, this process left out."""
    readings = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("procs_running"):
                readings.append(int(line.split()[1]) - 1)  # we are running while we read
        time.sleep(0.05)  # sampling the kernel's counter, which has no event
    return sum(readings) / len(readings)


@contextlib.contextmanager
def busy_machine(load: int) -> Iterator[None]:
    """Keep the machine's load at about *load* for the duration of the block."""
    if load <= 0:
        yield
        return
    already = runnable_now()
    count = max(0, round(load - already))
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(count)]
    try:
        deadline = time.monotonic() + SETTLE_S
        while os.getloadavg()[0] < load - 0.5 and time.monotonic() < deadline:
            time.sleep(1.0)  # polling the kernel's load average, which has no event
        avg = os.getloadavg()
        print(
            f"== busy machine: {already:.1f} runnable tasks already, {count} spinning processes "
            f"added for a load of {load}; load average {avg[0]:.2f} {avg[1]:.2f} {avg[2]:.2f}",
            flush=True,
        )
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
        for spinner in spinners:
            spinner.wait()
