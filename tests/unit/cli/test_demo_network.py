"""When the demo cannot have a network of its own, it says why in one line and stays where it
is (these cases return before anything changes: this test process keeps its namespace)."""

from __future__ import annotations

import pytest

from client.demo_netns import enter_private_network


def test_not_root_keeps_the_demo_on_this_machines_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    network, why_not = enter_private_network(windowed=False)
    assert network is None
    assert why_not == "the demo is not running as root (./dev demo is) to have a network of its own"


@pytest.mark.parametrize("display", ["localhost:10.0", "127.0.0.1:0"])
def test_an_x_display_over_tcp_keeps_the_windowed_demo_here(
    monkeypatch: pytest.MonkeyPatch, display: str
) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 0)
    monkeypatch.setattr("shutil.which", lambda name: f"/usr/sbin/{name}")
    monkeypatch.setenv("DISPLAY", display)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    network, why_not = enter_private_network(windowed=True)
    assert network is None
    assert why_not == f"the display {display} is reached over TCP"


def test_a_sound_server_over_tcp_keeps_the_demo_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 0)
    monkeypatch.setattr("shutil.which", lambda name: f"/usr/sbin/{name}")
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setenv("PULSE_SERVER", "tcp:localhost:4713")
    network, why_not = enter_private_network(windowed=True)
    assert network is None
    assert why_not == "the sound server (PULSE_SERVER) is reached over TCP"
