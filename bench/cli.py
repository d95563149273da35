"""The `baton` CLI from the shell: process start -> exit of a command to a known device.

A real `baton-receiver` runs on `lo` in pin mode (TLS, tokens: what a listener has at home),
and this benchmark pairs a fresh controller configuration with it (`BATON_CONFIG_DIR` in a
temporary folder) through `baton pair`. One unmeasured `baton status NAME` then runs, as a
listener's first command would; after it, the device is "known". Each sample is one whole
`baton` process, spawned as a shell would spawn it (the console script beside this Python),
timed from just before the spawn until its exit has been reaped, on one monotonic clock:

* `cli.status_by_name`: `baton status NAME --interface lo` (DESIGN.md: <= 250 ms p95);
* `cli.volume_by_name`: `baton volume NAME N --interface lo`, a command and its result;
* `cli.status_with_connect`: `baton status NAME --connect 127.0.0.1:PORT`, no discovery at all;
* `cli.version`: `baton --version`, the floor (interpreter start, the entry point, exit).

The commands run as an installed Baton runs: with its byte-code cached (pip and the .deb
compile it at install time). So the benchmark drops PYTHONDONTWRITEBYTECODE from their
environment, and the unmeasured first commands write the cache; otherwise every run would
compile Baton's modules from source again (~140 ms of CPU), which no user pays.

The four kinds take turns within each round, so a burst of load on the (shared) machine falls
on all of them alike. Every command must exit 0; one that does not fails the benchmark. Each
wall-time figure has a `.cpu` twin: the process's own user + system CPU time, from the kernel's
accounting of the reaped child (`getrusage(RUSAGE_CHILDREN)`). On a busy machine the wall time
grows with the load; the CPU time hardly does, so it shows what a command costs on an idle one.
"""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from bench._runner import Measurement
from bench.session import receiver_argv, running_receiver

TARGET_MS = 250.0
NAME = "Bench Living Room"
COMMAND_TIMEOUT_S = 30.0


def run(quick: bool) -> Iterable[Measurement]:
    """Yield the four figures (quick: one round; full: 40)."""
    samples = asyncio.run(_measure(1 if quick else 40))
    for kind, runs in samples.items():
        judged = kind == "status_by_name"
        walls = [wall for wall, _ in runs]
        yield Measurement(
            name=f"cli.{kind}",
            unit="ms",
            samples=walls,
            target=f"<= {TARGET_MS:.0f} ms p95 (process start -> exit)" if judged else "",
            met=_p95(walls) <= TARGET_MS if judged else None,
        )
        yield Measurement(f"cli.{kind}.cpu", "ms", [cpu for _, cpu in runs])


def baton_argv() -> list[str]:
    """Return how a shell runs `baton`: the console script beside this interpreter."""
    script = Path(sys.executable).with_name("baton")
    return [str(script)] if script.exists() else [sys.executable, "-m", "client.cli"]


async def _measure(rounds: int) -> dict[str, list[tuple[float, float]]]:
    with tempfile.TemporaryDirectory(prefix="baton-bench-cli-") as folder:
        work = Path(folder)
        argv = receiver_argv("none", work / "state", NAME)
        argv[argv.index("--pairing") + 1] = "pin"
        async with running_receiver(argv, work) as receiver:
            env = {**os.environ, "BATON_CONFIG_DIR": str(work / "config")}
            env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: see the module docstring
            pin = (work / "state" / "pairing-code").read_text().strip()
            address = f"127.0.0.1:{receiver.port}"
            _baton(["pair", NAME, "--pin", pin, "--connect", address], env)
            _baton(["status", NAME, "--interface", "lo"], env)  # the first command: not timed
            kinds = {
                "status_by_name": ["status", NAME, "--interface", "lo"],
                "volume_by_name": ["volume", NAME, "40", "--interface", "lo"],
                "status_with_connect": ["status", NAME, "--connect", address],
                "version": ["--version"],
            }
            samples: dict[str, list[tuple[float, float]]] = {kind: [] for kind in kinds}
            for _ in range(rounds):
                for kind, words in kinds.items():
                    samples[kind].append(_baton(words, env))
            return samples


def _baton(words: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run one `baton` process to its end; return its wall and CPU ms (raise if it failed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    # Blocking on purpose: nothing else runs in this process while a sample is timed.
    done = subprocess.run(
        [*baton_argv(), *words], env=env, capture_output=True, text=True,
        timeout=COMMAND_TIMEOUT_S, check=False,
    )  # fmt: skip
    elapsed = (time.perf_counter() - began) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"`baton {' '.join(words)}` exited {done.returncode}: {done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu * 1000


def _p95(samples: list[float]) -> float:
    return Measurement("", "ms", samples).percentile(95)
