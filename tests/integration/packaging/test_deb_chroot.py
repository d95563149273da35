"""Each .deb installs into a fresh Debian 12 chroot of its architecture, passes --check, plays.

The work is done by chroot-check.sh (see its header): amd64 natively, arm64 and armhf under
QEMU user emulation. It needs root, a built package, network access to the Debian mirror (and
for ARM, qemu-user-static), none of which `./dev test` has (its pytest runs in a network
namespace with only loopback), so these tests run only when asked:

    ./dev package
    sudo BATON_CHROOT_CHECK=1 .venv/bin/python -m pytest \
        tests/integration/packaging/test_deb_chroot.py

or directly: `./dev chroot-check ARCH`. The minbase systems are made by the script the first
time (amd64 shares tests/fresh/debootstrap-check.sh's). The last test boots the amd64 system
under a real systemd (nspawn-check.sh; needs systemd-nspawn, from systemd-container).
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


def _missing(arch: str = "amd64") -> str | None:
    if os.environ.get("BATON_CHROOT_CHECK") != "1":
        return "set BATON_CHROOT_CHECK=1 to run (needs root, a Debian mirror, 3-10 min)"
    if os.geteuid() != 0:
        return "needs root (mount, chroot)"
    if arch != "amd64" and not shutil.which(f"qemu-{QEMU[arch]}-static"):
        return "needs qemu-user-static (apt-get install qemu-user-static binfmt-support)"
    if not list((ROOT / "dist").glob(f"baton-receiver_*_{arch}.deb")):
        return f"no dist/baton-receiver_*_{arch}.deb: run ./dev package {arch}"
    return None


QEMU = {"arm64": "aarch64", "armhf": "arm"}


@pytest.mark.slow
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("arch", ["amd64", "arm64", "armhf"])
def test_package_installs_checks_and_plays_in_a_fresh_chroot(arch: str) -> None:
    reason = _missing(arch)
    if reason:
        pytest.skip(reason)
    done = subprocess.run(
        [str(HERE / "chroot-check.sh"), arch],
        capture_output=True, text=True, timeout=1150, check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "systemd-analyze verify: passed" in output
    assert "Ready: this receiver can start." in output
    assert f"[chroot-check {arch}] recording: " in output
    assert "PASS" in output


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_packaged_service_under_a_real_systemd() -> None:
    reason = _missing() or (None if shutil.which("systemd-nspawn") else "no systemd-nspawn")
    if not reason and not (BASE / ".baton-fresh-base").exists():
        reason = f"no minbase system in {BASE}: run ./dev chroot-check amd64 once"
    if reason:
        pytest.skip(reason)
    done = subprocess.run(
        [str(HERE / "nspawn-check.sh")],
        capture_output=True, text=True, timeout=400, check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "PASS: the packaged service works under a real systemd" in output
