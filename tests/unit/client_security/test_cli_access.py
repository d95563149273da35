"""The access commands' local parts: reading the code, and finding a stored credential."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from client import access_commands
from connect.access import Credential, CredentialStore
from connect.errors import DeviceNotFoundError
from connect.wire.messages import Role

WHEN = datetime(2026, 11, 21, tzinfo=UTC)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_code_is_asked_for_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("getpass.getpass", lambda prompt: asked.append(prompt) or " 123456 ")
    assert access_commands._ask_code("Kitchen") == "123456"
    assert asked == ["code shown by Kitchen: "]


def test_without_a_terminal_one_line_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("654321\nignored\n"))
    assert access_commands._ask_code("Kitchen") == "654321"
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(ValueError, match="no code given"):
        access_commands._ask_code("Kitchen")
    monkeypatch.setattr("sys.stdin", io.StringIO("12345\n"))
    with pytest.raises(ValueError, match="6 digits"):
        access_commands._ask_code("Kitchen")


def test_forget_finds_a_credential_by_id_or_name_and_refuses_to_guess(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path)
    for n, name in ((1, "Kitchen"), (2, "Car"), (3, "car")):
        store.save(Credential(f"{n:064x}", f"{n:08x}.t", Role.OWNER, name, WHEN))
    assert access_commands._stored(store, "KITCHEN").device_id == f"{1:064x}"
    assert access_commands._stored(store, f"{2:064x}").device_name == "Car"
    with pytest.raises(DeviceNotFoundError, match="use an id"):
        access_commands._stored(store, "Car")
    with pytest.raises(DeviceNotFoundError, match="no stored credential"):
        access_commands._stored(store, "Attic")
