"""`baton-receiver --check`: each check on a fake machine, and the real command on loopback."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from connect.discovery.interfaces import NetworkInterface
from devices.check import (
    CheckResult,
    Machine,
    check_audio_output,
    check_network,
    check_state_dir,
    print_report,
    run_checks,
)
from devices.errors import AudioOutputError, LibVLCUnavailableError

LAN = NetworkInterface("wlan0", 3, ("192.168.1.20",), ())
LO = NetworkInterface("lo", 1, ("127.0.0.1",), ("::1",))


def no_server() -> str:
    raise AudioOutputError("pulse output: connecting to the sound server: Connection refused")


def fake_machine(
    tmp_path: Path, *, interfaces=(LO, LAN), cards: str = "", pcms=(), server=no_server
) -> Machine:
    dev_snd = tmp_path / "snd"
    dev_snd.mkdir(exist_ok=True)
    for name in pcms:
        (dev_snd / name).write_bytes(b"")
    proc = tmp_path / "asound"
    proc.mkdir(exist_ok=True)
    (proc / "cards").write_text(cards)
    return Machine(
        dev_snd=dev_snd,
        proc_asound=proc,
        sys_class_net=tmp_path / "net",
        list_interfaces=lambda: tuple(interfaces),
        check_libvlc=lambda: "3.0.21 Vetinari",
        sound_server=server,
    )


CARDS = (
    " 0 [Headphones     ]: bcm2835_headpho - bcm2835 Headphones\n"
    " 1 [DAC            ]: USB-Audio - USB DAC\n"
)


def test_alsa_device_on_an_existing_card(tmp_path: Path) -> None:
    machine = fake_machine(tmp_path, cards=CARDS, pcms=["pcmC0D0p", "pcmC1D0p", "pcmC1D0c"])
    result = check_audio_output("alsa:plughw:CARD=DAC", machine)
    assert result.ok, result.detail
    assert "pcmC1D0p" in result.detail
    assert "(DAC)" in result.detail
    assert check_audio_output("alsa:hw:0", machine).ok
    assert check_audio_output("default", machine).ok


def test_alsa_device_on_a_missing_card(tmp_path: Path) -> None:
    machine = fake_machine(tmp_path, cards=CARDS, pcms=["pcmC0D0p"])
    result = check_audio_output("alsa:hw:CARD=Speaker", machine)
    assert not result.ok
    assert "no playback device on card" in result.detail
    assert not check_audio_output("alsa:hw:3", machine).ok


def test_no_sound_card_at_all(tmp_path: Path) -> None:
    result = check_audio_output("default", fake_machine(tmp_path))
    assert not result.ok
    assert "no sound card" in result.detail


def test_a_sound_server_that_answers_takes_default_and_pulse(tmp_path: Path) -> None:
    machine = fake_machine(tmp_path, server=lambda: "/run/user/1000/pulse/native")
    for value in ("default", "pulse", "pulse:alsa_output.usb-DAC"):
        result = check_audio_output(value, machine)
        assert result.ok, result.detail
        where = "Baton plays through the sound server at /run/user/1000/pulse/native"
        assert where in result.detail


def test_without_a_sound_server_pulse_fails_and_default_falls_back_to_alsa(tmp_path: Path) -> None:
    machine = fake_machine(tmp_path, cards=CARDS, pcms=["pcmC0D0p"])
    failed = check_audio_output("pulse", machine)
    assert not failed.ok
    assert "Connection refused" in failed.detail
    fallback = check_audio_output("default", machine)
    assert fallback.ok, fallback.detail
    assert "pcmC0D0p" in fallback.detail


def test_file_outputs_and_none(tmp_path: Path) -> None:
    machine = fake_machine(tmp_path)
    assert check_audio_output(f"afile:{tmp_path / 'out.wav'}", machine).ok
    missing = check_audio_output(f"afile:{tmp_path / 'nowhere' / 'out.wav'}", machine)
    assert not missing.ok
    assert "not writable" in missing.detail
    assert check_audio_output("none", machine).ok
    assert not check_audio_output("speakers", machine).ok


def test_state_dir_writable_or_to_be_created(tmp_path: Path) -> None:
    assert check_state_dir(tmp_path).ok
    later = check_state_dir(tmp_path / "baton" / "state")
    assert later.ok
    assert "will be created" in later.detail


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_state_dir_not_writable(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    result = check_state_dir(locked / "baton")
    assert not result.ok
    assert "not writable" in result.detail


def test_network_names_the_interface_and_its_addresses(tmp_path: Path) -> None:
    result = check_network([], fake_machine(tmp_path))
    assert result.ok
    assert result.detail == "will advertise on wlan0: 192.168.1.20"
    assert check_network(["lo"], fake_machine(tmp_path)).ok


def test_network_without_an_address_yet(tmp_path: Path) -> None:
    down = NetworkInterface("wlan0", 3, (), ())
    result = check_network(["wlan0"], fake_machine(tmp_path, interfaces=(LO, down)))
    assert not result.ok
    assert "no usable address on wlan0" in result.detail
    assert "wlan0 (no address)" in result.detail
    assert not check_network([], fake_machine(tmp_path, interfaces=(LO,))).ok


def test_network_with_multicast_off(tmp_path: Path) -> None:
    machine = fake_machine(tmp_path)
    (machine.sys_class_net / "wlan0").mkdir(parents=True)
    (machine.sys_class_net / "wlan0" / "flags").write_text("0x1003\n")  # UP, MULTICAST
    assert check_network([], machine).ok
    (machine.sys_class_net / "wlan0" / "flags").write_text("0x3\n")
    result = check_network([], machine)
    assert not result.ok
    assert "multicast is off on wlan0" in result.detail


def test_report_lists_every_problem_and_sets_the_exit_status(tmp_path: Path) -> None:
    def no_vlc() -> str:
        raise LibVLCUnavailableError("libVLC is not installed")

    machine = fake_machine(tmp_path, interfaces=(LO,))
    machine = Machine(
        machine.dev_snd, machine.proc_asound, machine.sys_class_net,
        machine.list_interfaces, no_vlc, no_server,
    )  # fmt: skip
    bad_config = tmp_path / "receiver.toml"
    bad_config.write_text('name = "Car"\nvolume = 11\n')
    results = run_checks(bad_config, {"state_dir": tmp_path}, machine)
    assert [r.what for r in results if not r.ok] == ["libVLC", "config", "audio output", "network"]
    out = io.StringIO()
    assert print_report(results, out) == 1
    text = out.getvalue()
    assert "FAIL  config: config file" in text
    assert "unknown setting(s): volume" in text
    assert text.rstrip().endswith("Not ready: libVLC, config, audio output, network.")
    good = [CheckResult("libVLC", True, "version 3")]
    assert print_report(good, io.StringIO()) == 0


@pytest.mark.slow
def test_the_real_command_on_loopback(tmp_path: Path) -> None:
    """`baton-receiver --check` with the real libVLC, an afile output and loopback."""
    config = tmp_path / "receiver.toml"
    config.write_text(
        f'name = "Check"\ninterfaces = ["lo"]\naudio-output = "afile:{tmp_path}/out.wav"\n'
        f'state-dir = "{tmp_path}/state"\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "devices.cli", "--check", "--config", str(config)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok    libVLC: version 3." in done.stdout
    assert "Ready: this receiver can start." in done.stdout
    failing = subprocess.run(
        [sys.executable, "-m", "devices.cli", "--check", "--config", str(config),
         "--interface", "no-such-iface"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert failing.returncode == 1
    assert "Not ready: network." in failing.stdout


def test_the_pairing_check_reads_the_identity_and_the_tokens(tmp_path: Path) -> None:
    from connect.wire import messages as m
    from devices.check import check_access
    from devices.config import ReceiverConfig
    from devices.persistence import SessionStore
    from devices.tokens import TokenStore

    config = ReceiverConfig(state_dir=tmp_path / "state")
    fresh = check_access(config)
    assert fresh.ok
    assert "will be made" in fresh.detail
    assert not (tmp_path / "state").exists()  # a check creates nothing
    device_id = SessionStore(config.state_dir).device_id()
    TokenStore(config.state_dir).issue(m.ClientIdentity("a", "Anna"), m.Role.OWNER)
    ready = check_access(config)
    assert ready.ok
    assert device_id in ready.detail
    assert "1 paired controller" in ready.detail
    (config.state_dir / "tokens.json").write_text("{")
    broken = check_access(config)
    assert not broken.ok
    assert "would not start" in broken.detail
    opened = check_access(ReceiverConfig(state_dir=tmp_path / "x", pairing="open"))
    assert opened.ok
    assert "anyone on the network" in opened.detail
