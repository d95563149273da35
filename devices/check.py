"""`baton-receiver --check`: is this machine ready to run a receiver? Answered in plain words.

Seven checks, each independent of the others' results so one run lists every problem:
libVLC, the configuration, the audio output, the state directory, pairing, the network, and
the receiver already running on that state directory, if any: whether its background tasks
are well (devices/health.py). Exit status 0 when all pass, 1 otherwise.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from connect.access import tls
from connect.discovery.interfaces import NetworkInterface, list_interfaces
from connect.wire.messages import PairingMode
from devices._pulse_context import probe_sound_server
from devices.audio_output import OutputKind, parse_audio_output
from devices.config import ConfigError, ReceiverConfig, build_config, read_config_file
from devices.errors import AudioOutputError, LibVLCUnavailableError
from devices.health import failing, read_health, status_line
from devices.netwait import usable_addresses
from devices.persistence import TLS_DIR
from devices.tokens import TokenStore, TokenStoreError
from devices.vlc_check import check_libvlc

_IFF_LOOPBACK = 0x8  # linux/if.h
_IFF_MULTICAST = 0x1000


@dataclass(frozen=True)
class CheckResult:
    """One line of the report."""

    what: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Machine:
    """Where the checks look; tests point these at temporary folders."""

    dev_snd: Path = Path("/dev/snd")
    proc_asound: Path = Path("/proc/asound")
    sys_class_net: Path = Path("/sys/class/net")
    list_interfaces: Callable[[], tuple[NetworkInterface, ...]] = list_interfaces
    check_libvlc: Callable[[], str] = check_libvlc
    sound_server: Callable[[], str] = probe_sound_server  # where one answers, or raises


def run_checks(
    config_path: Path | None, flags: dict[str, Any], machine: Machine | None = None
) -> list[CheckResult]:
    """Run every check and return their results in report order."""
    machine = machine or Machine()
    config, config_result = _check_config(config_path, flags)
    return [
        _check_libvlc(machine),
        config_result,
        check_audio_output(config.audio_output, machine),
        check_state_dir(config.state_dir),
        check_access(config),
        check_network(config.interfaces, machine),
        check_running(config.state_dir),
    ]


def print_report(results: Sequence[CheckResult], out: TextIO) -> int:
    """Print the results, one line each, and a verdict; return the exit status."""
    for result in results:
        print(f"  {'ok  ' if result.ok else 'FAIL'}  {result.what}: {result.detail}", file=out)
    failed = [r.what for r in results if not r.ok]
    if failed:
        print(f"Not ready: {', '.join(failed)}.", file=out)
        return 1
    print("Ready: this receiver can start.", file=out)
    return 0


def check_audio_output(value: str, machine: Machine) -> CheckResult:
    """Check that the configured output can be opened by this user."""
    what = "audio output"
    try:
        output = parse_audio_output(value)
    except ValueError as exc:
        return CheckResult(what, False, str(exc))
    if output.kind is OutputKind.NONE:
        return CheckResult(what, True, "none: plays silently (for tests)")
    if output.path is not None:
        folder = output.path.parent
        if folder.is_dir() and os.access(folder, os.W_OK):
            return CheckResult(what, True, f"{output.kind.value}: writes {output.path}")
        return CheckResult(what, False, f"cannot write {output.path}: {folder} is not writable")
    if output.kind in (OutputKind.PULSE, OutputKind.DEFAULT):
        try:
            where = machine.sound_server()
        except AudioOutputError as exc:
            if output.kind is OutputKind.PULSE:
                return CheckResult(what, False, f"{value}: {exc}")
        else:
            return CheckResult(
                what, True, f"{value}: Baton plays through the sound server at {where}"
            )
    return _check_alsa(value, output.target, machine)


def check_state_dir(state_dir: Path) -> CheckResult:
    """Check that the state directory (or the folder that will hold it) is writable."""
    what = "state directory"
    user = _user()
    existing = state_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not os.access(existing, os.W_OK):
        missing = "" if existing == state_dir else f" (it does not exist yet; {existing} holds it)"
        return CheckResult(
            what,
            False,
            f"{existing} is not writable by user {user}{missing}: the session could not be "
            "saved. Under systemd the unit's StateDirectory= creates /var/lib/baton; for "
            "another place, set state-dir and allow it with ReadWritePaths=",
        )
    note = "" if existing == state_dir else " (will be created)"
    return CheckResult(what, True, f"{state_dir} is writable by user {user}{note}")


def check_access(config: ReceiverConfig) -> CheckResult:
    """Check that the TLS identity and the tokens the receiver will use can be read."""
    what = "pairing"
    if config.pairing_mode is PairingMode.OPEN:
        return CheckResult(what, True, "open: anyone on the network may control this receiver")
    tls_dir = config.state_dir / TLS_DIR
    device = "a TLS key and certificate will be made at the first start"
    if (tls_dir / tls.CERT_FILE).exists():
        try:
            device = f"device id {tls.load_or_create_identity(tls_dir).fingerprint}"
        except tls.TlsIdentityError as exc:
            return CheckResult(what, False, f"{exc}; move {tls_dir} away to make a new identity")
    store = TokenStore(config.state_dir)
    if store.path.exists():  # else nothing to read yet, and a check creates nothing
        try:
            store.load()
        except TokenStoreError as exc:
            return CheckResult(what, False, f"{exc}: the receiver would not start")
    paired = len(store.records())
    return CheckResult(what, True, f"pin: {device}, {paired} paired controller(s)")


def check_running(state_dir: Path) -> CheckResult:
    """Report the background tasks of a receiver running on *state_dir*, if one runs."""
    what = "running receiver"
    running = read_health(state_dir)
    if running is None:
        return CheckResult(what, True, "none on this state directory")
    bad = failing(running.tasks)
    if bad:
        return CheckResult(what, False, f"pid {running.pid}: {status_line(bad)}")
    return CheckResult(what, True, f"pid {running.pid}: every background task running")


def check_network(wanted: Sequence[str], machine: Machine) -> CheckResult:
    """Check that there is an address to advertise on, and that multicast is on there."""
    what = "network"
    interfaces = machine.list_interfaces()
    addresses = usable_addresses(wanted, interfaces)
    known = ", ".join(f"{i.name} ({' '.join(i.addresses) or 'no address'})" for i in interfaces)
    if not addresses:
        where = f"on {', '.join(wanted)}" if wanted else "on any suitable interface"
        return CheckResult(
            what,
            False,
            f"no usable address {where} yet (interfaces: {known or 'none'}); the receiver "
            "would wait and advertise as soon as one appears",
        )
    names = [i.name for i in interfaces if set(i.addresses) & set(addresses)]
    no_multicast = [n for n in names if not _has_multicast(machine.sys_class_net / n)]
    if no_multicast:
        return CheckResult(
            what,
            False,
            f"multicast is off on {', '.join(no_multicast)}: mDNS cannot work there "
            f"(ip link set {no_multicast[0]} multicast on)",
        )
    return CheckResult(what, True, f"will advertise on {', '.join(names)}: {', '.join(addresses)}")


# ------------------------------------------------------------------------------ helpers


def _check_libvlc(machine: Machine) -> CheckResult:
    try:
        version = machine.check_libvlc()
    except LibVLCUnavailableError as exc:
        return CheckResult("libVLC", False, str(exc))
    return CheckResult("libVLC", True, f"version {version}, plugins load")


def _check_config(path: Path | None, flags: dict[str, Any]) -> tuple[ReceiverConfig, CheckResult]:
    what = "config"
    try:
        settings = read_config_file(path) if path else {}
        config = build_config(settings, flags)
    except ConfigError as exc:
        # Check the rest with the defaults (and the flags that are valid) anyway.
        return ReceiverConfig(), CheckResult(what, False, str(exc))
    source = str(path) if path else "no file (defaults and flags)"
    return config, CheckResult(
        what,
        True,
        f"{source}: name {config.name!r}, type {config.type}, max volume {config.max_volume}",
    )


def _check_alsa(value: str, device: str, machine: Machine) -> CheckResult:
    what = "audio output"
    playback = sorted(machine.dev_snd.glob("pcmC*D*p"))
    if not playback:
        return CheckResult(
            what, False, f"{value}: no sound card (no playback device in {machine.dev_snd})"
        )
    card = _wanted_card(device, machine.proc_asound)
    if card is not None and not any(p.name.startswith(f"pcmC{card}D") for p in playback):
        return CheckResult(what, False, f"{value}: no playback device on card {card}")
    candidates = [p for p in playback if card is None or p.name.startswith(f"pcmC{card}D")]
    usable = [p for p in candidates if os.access(p, os.R_OK | os.W_OK)]
    if not usable:
        return CheckResult(
            what,
            False,
            f"{value}: user {_user()} cannot open {candidates[0]} (add it to group audio)",
        )
    cards = _card_names(machine.proc_asound)
    named = f" ({cards[card]})" if card is not None and card in cards else ""
    return CheckResult(what, True, f"{value}: {usable[0]} can be opened{named}")


def _wanted_card(device: str, proc_asound: Path) -> int | None:
    """Return the card number an ALSA device string names, if it names one we can tell."""
    match = re.search(r"CARD=([^,\s]+)", device) or re.search(r"hw:([^,\s]+)", device)
    if not match:
        return None
    card = match.group(1)
    if card.isdigit():
        return int(card)
    for number, name in _card_names(proc_asound).items():
        if name == card:
            return number
    return -1  # a named card that does not exist


def _card_names(proc_asound: Path) -> dict[int, str]:
    """Card number -> id, from /proc/asound/cards (" 0 [Headphones     ]: ...")."""
    try:
        text = (proc_asound / "cards").read_text()
    except OSError:
        return {}
    return {
        int(m.group(1)): m.group(2)
        for m in re.finditer(r"^\s*(\d+)\s+\[(\S+)\s*\]", text, re.MULTILINE)
    }


def _has_multicast(sys_net_iface: Path) -> bool:
    try:
        flags = int((sys_net_iface / "flags").read_text().strip(), 16)
    except (OSError, ValueError):
        return True  # cannot tell: do not claim a problem
    # Loopback carries multicast without the flag (receivers on one machine, the tests).
    return bool(flags & (_IFF_MULTICAST | _IFF_LOOPBACK))


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def run_check_command(config_path: Path | None, flags: dict[str, Any]) -> int:
    """`baton-receiver --check`: print the report to stdout; return the exit status."""
    import sys

    print(f"baton-receiver --check ({f'config {config_path}' if config_path else 'no config'}):")
    return print_report(run_checks(config_path, flags), sys.stdout)
