"""The amd64 .deb installs into a fresh Debian 12 chroot, passes --check and plays there.

The work is done by chroot-check.sh (see its header). It needs root, the minbase system of
tests/fresh/debootstrap-check.sh, a built package and network access to the Debian mirror,
none of which `./dev test` has (its pytest runs in a network namespace with only loopback),
so this test runs only when asked:

    ./dev package amd64
    sudo BATON_CHROOT_CHECK=1 .venv/bin/python -m pytest \
        tests/integration/packaging/test_deb_chroot.py

or directly: sudo tests/integration/packaging/chroot-check.sh. The second test boots that
system under a real systemd (nspawn-check.sh; needs systemd-nspawn, from systemd-container).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
BASE = Path("/var/tmp/baton-fresh-bookworm")


def _missing() -> str | None:
    if os.environ.get("BATON_CHROOT_CHECK") != "1":
        return "set BATON_CHROOT_CHECK=1 to run (needs root, a Debian mirror, ~2 min)"
    if os.geteuid() != 0:
        return "needs root (mount, chroot)"
    if not (BASE / ".baton-fresh-base").exists():
        return f"no minbase system in {BASE}: run tests/fresh/debootstrap-check.sh once"
    if not list((ROOT / "dist").glob("baton-receiver_*_amd64.deb")):
        return "no dist/baton-receiver_*_amd64.deb: run ./dev package amd64"
    return None


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_package_installs_checks_and_plays_in_a_fresh_chroot() -> None:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    done = subprocess.run(
        [str(HERE / "chroot-check.sh")],
        capture_output=True, text=True, timeout=280, check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "systemd-analyze verify: passed" in output
    assert "Ready: this receiver can start." in output
    assert "PASS" in output


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_packaged_service_under_a_real_systemd() -> None:
    reason = _missing() or (None if shutil.which("systemd-nspawn") else "no systemd-nspawn")
    if reason:
        pytest.skip(reason)
    done = subprocess.run(
        [str(HERE / "nspawn-check.sh")],
        capture_output=True, text=True, timeout=400, check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "PASS: the packaged service works under a real systemd" in output
