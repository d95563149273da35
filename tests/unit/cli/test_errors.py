"""`baton` errors a newcomer meets first: each is one line that says what to do, and the
options the top-level help offers are honoured by the commands."""

from __future__ import annotations

import subprocess
import sys

import pytest

from connect.cli_common import baton_command
from connect.discovery import DeviceRegistry
from connect.discovery.interfaces import NetworkInterface, NoUsableInterfaceError

LO = NetworkInterface("lo", 1, ("127.0.0.1",), ("::1",))


def baton(*words: str) -> subprocess.CompletedProcess[str]:
    """Run `baton WORDS...` as a shell would (a process of its own: its exit is part of it)."""
    return subprocess.run(
        [sys.executable, "-m", "client.cli", *words],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_top_level_interface_option_reaches_the_command() -> None:
    done = baton("--interface", "nosuch0", "devices", "--timeout", "0.2")
    assert done.returncode == 1
    assert "'nosuch0'" in done.stderr


def test_an_unknown_interface_is_one_line_listing_those_present_and_the_flag() -> None:
    done = baton("devices", "--interface", "nosuch0", "--timeout", "0.2")
    assert done.returncode == 1
    [line] = done.stderr.splitlines()  # no "Unclosed client session" after it
    assert line.startswith("baton devices: no interface or address 'nosuch0' on this host")
    assert "present: " in line
    assert "lo (127.0.0.1" in line
    assert line.endswith("name one of them with --interface")


async def test_no_usable_interface_lists_those_present_and_the_flag_to_use() -> None:
    registry = DeviceRegistry(interface_source=lambda: (LO,))
    with pytest.raises(NoUsableInterfaceError) as caught:
        await registry.async_start()
    await registry.async_close()
    message = str(caught.value)
    assert "lo (127.0.0.1 ::1)" in message
    assert message.endswith("name one with --interface, e.g. --interface lo")


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Kitchen", "`baton pair Kitchen`"),
        ("Living Room", "`baton pair 'Living Room'`"),
        ("Bob's $HOME", "`baton pair 'Bob'\"'\"'s $HOME'`"),
    ],
)
def test_suggested_commands_are_quoted_as_a_shell_needs(name: str, shown: str) -> None:
    assert baton_command("pair", name) == shown


def test_every_help_answers() -> None:
    from client.cli import build_parser

    parser = build_parser()
    top = parser.format_help()
    assert "examples:" in top
    assert "for the app and every command" in " ".join(top.split())
    subparsers = next(a for a in parser._actions if a.dest == "command")
    for name, sub in subparsers.choices.items():
        text = " ".join(sub.format_help().split())
        if "--timeout" in text:  # it said "default 2 s" where a named device gets 5
            assert "to find the one named" in text, name
