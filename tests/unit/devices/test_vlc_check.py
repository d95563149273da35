"""The libVLC preflight: a version when usable, plain words and package names when not."""

from __future__ import annotations

import sys
import types

import pytest

from devices.errors import LibVLCUnavailableError
from devices.vlc_check import check_libvlc


def test_the_installed_libvlc_is_usable() -> None:
    assert check_libvlc().startswith("3.")


def _fake_vlc(monkeypatch, **attrs) -> None:
    module = types.ModuleType("vlc")
    for name, value in attrs.items():
        setattr(module, name, value)
    monkeypatch.setitem(sys.modules, "vlc", module)


def test_missing_library_names_the_packages(monkeypatch) -> None:
    def no_symbol() -> bytes:
        raise NameError("no function 'libvlc_get_version'")

    _fake_vlc(monkeypatch, libvlc_get_version=no_symbol)
    with pytest.raises(LibVLCUnavailableError, match="libvlc5 vlc-plugin-base") as info:
        check_libvlc()
    assert "not installed" in str(info.value)


def test_missing_plugins_are_told_apart(monkeypatch) -> None:
    _fake_vlc(monkeypatch, libvlc_get_version=lambda: b"3.0.24 Vetinari", Instance=lambda a: None)
    with pytest.raises(LibVLCUnavailableError, match="plugins are missing"):
        check_libvlc()


def test_unimportable_binding(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "vlc", None)  # makes `import vlc` raise ImportError
    with pytest.raises(LibVLCUnavailableError, match="python-vlc"):
        check_libvlc()
