"""The app's settings file (TOML): music folder, device name, interfaces, tracing, TV mode.

Read at start; written by the Settings screen. Flags on the command line win over the file.
"""

from __future__ import annotations

import json
import os
import socket
import tomllib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StoredSettings:
    """What the Settings screen edits."""

    music_folder: str = ""
    device_name: str = ""
    interfaces: tuple[str, ...] = ()
    trace_collector: str = ""
    trace_user: str = ""
    tv: bool = False


def config_dir() -> Path:
    """Return the app's config folder ($XDG_CONFIG_HOME/baton)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "baton"


def state_dir() -> Path:
    """Return the app's state folder ($XDG_STATE_HOME/baton)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "baton"


def default_music_folder() -> Path:
    """Return ~/Music."""
    return Path.home() / "Music"


def default_device_name() -> str:
    """Return this computer's name as a device name."""
    return (socket.gethostname().split(".")[0] or "This computer")[:63]


def load(path: Path | None = None) -> StoredSettings:
    """Read the settings file; a missing or broken file gives the defaults."""
    path = path or config_dir() / "app.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return StoredSettings()
    return StoredSettings(
        music_folder=str(raw.get("music-folder", "")),
        device_name=str(raw.get("device-name", "")),
        interfaces=tuple(str(i) for i in raw.get("interfaces", ()) or ()),
        trace_collector=str(raw.get("trace-collector", "")),
        trace_user=str(raw.get("trace-user", "")),
        tv=bool(raw.get("tv", False)),
    )


def save(settings: StoredSettings, path: Path | None = None) -> Path:
    """Write the settings file; return its path (raise OSError if it cannot be written)."""
    path = path or config_dir() / "app.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    # json.dumps quotes a string exactly as TOML's basic strings want it.
    lines = [
        f"music-folder = {json.dumps(settings.music_folder)}",
        f"device-name = {json.dumps(settings.device_name)}",
        f"interfaces = [{', '.join(json.dumps(i) for i in settings.interfaces)}]",
        f"trace-collector = {json.dumps(settings.trace_collector)}",
        f"trace-user = {json.dumps(settings.trace_user)}",
        f"tv = {'true' if settings.tv else 'false'}",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
