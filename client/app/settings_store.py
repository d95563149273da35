"""The app's settings file (TOML): music folder, device name, interfaces, tracing, TV mode.

Read at start; written by the Settings screen. Flags on the command line win over the file.
"""

from __future__ import annotations

import json
import os
import socket
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from connect.atomic import not_text


@dataclass(frozen=True)
class StoredSettings:
    """What the Settings screen edits."""

    music_folder: str = ""
    device_name: str = ""
    interfaces: tuple[str, ...] = ()
    trace_collector: str = ""
    trace_user: str = ""
    trace_token: str = ""  # the collector's ingest token for this computer (a secret)
    tv: bool = False
    notify_tracks: bool = True  # a desktop notification on a track change (window not active)
    # Why the file was not used ("": it was, or there is none); the app shows it at start.
    problem: str = field(default="", compare=False)


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
    """Read the settings file; a missing or broken file gives the defaults.

    A broken one (not UTF-8, not TOML, unreadable) gives them with `problem` saying which file
    and what to do: the app starts anyway, and saving in Settings writes a good file.
    """
    path = path or config_dir() / "app.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return StoredSettings()
    except UnicodeDecodeError as exc:
        return StoredSettings(problem=_unusable(path, not_text(exc)))
    except tomllib.TOMLDecodeError as exc:
        return StoredSettings(problem=_unusable(path, f"is not valid TOML ({exc})"))
    except OSError as exc:
        return StoredSettings(problem=_unusable(path, f"cannot be read ({exc.strerror or exc})"))
    return StoredSettings(
        music_folder=str(raw.get("music-folder", "")),
        device_name=str(raw.get("device-name", "")),
        interfaces=tuple(str(i) for i in raw.get("interfaces", ()) or ()),
        trace_collector=str(raw.get("trace-collector", "")),
        trace_user=str(raw.get("trace-user", "")),
        trace_token=str(raw.get("trace-token", "")),
        tv=bool(raw.get("tv", False)),
        notify_tracks=bool(raw.get("notify-tracks", True)),
    )


def _unusable(path: Path, why: str) -> str:
    return (
        f"Settings file {path} {why}: the defaults are used; fix the file, or save in Settings "
        "to replace it"
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
        f"trace-token = {json.dumps(settings.trace_token)}",
        f"tv = {'true' if settings.tv else 'false'}",
        f"notify-tracks = {'true' if settings.notify_tracks else 'false'}",
    ]
    # Owner-only: the file may hold the ingest token.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    path.chmod(0o600)  # a file made before tokens were kept here
    return path
