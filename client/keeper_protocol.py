"""What the group keeper (client/group_keeper.py) and its clients (client/group_client.py) agree
on: where its socket is, and the JSON lines they exchange.

Where: `$XDG_RUNTIME_DIR/baton/` when XDG_RUNTIME_DIR is set, else `baton-UID` in the
temporary directory; made with mode 0700 and refused when another user owns it or others may
enter it. In it: `groups.sock` (the keeper's socket), `groups.lock` (held by the keeper while it
runs), `groups.log` (what a keeper started by a command says), `groups.kept` (the ids of the
groups keepers formed, so one that died is not taken for another controller's by the next).

A request is one JSON object on one line, its answer one line too:
  {"op": "ping"}                                  -> {"ok": true, "pid": N, "interfaces": [...]}
  {"op": "groups"}                                -> {"ok": true, "groups": [GROUP...]}
  {"op": "group", "devices": [REF, REF, ...]}     -> {"ok": true, "report": REPORT}
  {"op": "ungroup", "device": REF}                -> {"ok": true, "group": GROUP | null}
  {"op": "volume", "device": REF, "volume": N}    -> {"ok": true, "group": GROUP | null}
  {"op": "stop"}                                  -> {"ok": true}
with, for the last three and "group", optional "interfaces" and "connect" (HOST:PORT...) as the
command was given, and "timeout" (seconds to find a device). REF is a device's name or id;
GROUP and REPORT are connect.group.reports' `as_json`. A refusal or failure is
{"ok": false, "code": CODE, "error": SENTENCE, "device": ID}; CODE is the protocol's error code
in lower case (unsupported, not_found, not_active, timeout...), or bad_request, unauthenticated,
revoked, or restart (the keeper looks on other interfaces and keeps no group: it exits, start
another).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from connect.errors import (
    AccessRevokedError,
    ConnectError,
    DeviceNotFoundError,
    GroupRefusedError,
    NotPairedError,
)

INGEST_ENV = "BATON_KEEPER_INGEST"
"""The collector's ingest token for a keeper started with one (an environment variable: a
command line is anyone's to read)."""

LINE_LIMIT = 64 * 1024
"""The longest request or answer line (a roster of a few dozen members is ~10 KiB)."""


class KeeperDirError(OSError):
    """The keeper's directory cannot be used safely (another user's, or open to others)."""


def keeper_dir(*, create: bool = True) -> Path:
    """Return this user's keeper directory (made 0700 when *create*); raise KeeperDirError."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime:
        base = Path(runtime) / "baton"
    else:
        import tempfile  # only here: every `baton` command loads this module

        base = Path(tempfile.gettempdir()) / f"baton-{os.getuid()}"
    if not create:
        return base
    try:
        base.mkdir(mode=0o700, parents=bool(runtime), exist_ok=True)
        info = base.lstat()
    except OSError as exc:
        raise KeeperDirError(f"cannot make {base}: {exc.strerror or exc}") from exc
    if info.st_uid != os.getuid() or not base.is_dir() or base.is_symlink():
        raise KeeperDirError(f"{base} is not a directory of this user's")
    if info.st_mode & 0o077:
        raise KeeperDirError(f"{base} is open to other users (mode {info.st_mode & 0o777:o})")
    return base


def socket_path(directory: Path) -> Path:
    """Return where the keeper listens."""
    return directory / "groups.sock"


def lock_path(directory: Path) -> Path:
    """Return the file a running keeper holds locked."""
    return directory / "groups.lock"


def kept_path(directory: Path) -> Path:
    """Return where the keeper notes the ids of the groups it formed (for the next keeper)."""
    return directory / "groups.kept"


def log_path(directory: Path) -> Path:
    """Return where a keeper started by a command writes what it says."""
    return directory / "groups.log"


def bad_request(message: str) -> dict[str, Any]:
    """Return the answer to a request the keeper cannot read."""
    return {"ok": False, "code": "bad_request", "error": message, "device": ""}


def failure_answer(exc: ConnectError) -> dict[str, Any]:
    """Return the answer that carries *exc* to the client (`raise_failure` raises it again)."""
    code, device = "unknown", ""
    if isinstance(exc, GroupRefusedError):
        code, device = exc.code, exc.device
    elif isinstance(exc, NotPairedError | AccessRevokedError):
        code = "unauthenticated" if isinstance(exc, NotPairedError) else "revoked"
        device = exc.device
    elif isinstance(exc, DeviceNotFoundError):
        code = "not_found"
    return {"ok": False, "code": code, "error": str(exc), "device": device}


def raise_failure(answer: dict[str, Any]) -> None:
    """Raise the error a failed *answer* carries: the one the keeper caught, as near as typed."""
    message, device, code = (
        str(answer.get("error")),
        str(answer.get("device") or ""),
        answer.get("code"),
    )
    if code == "unauthenticated":
        raise NotPairedError(message, device=device)
    if code == "revoked":
        raise AccessRevokedError(message, device=device)
    if code == "not_found" and not device:
        raise DeviceNotFoundError(message)
    raise GroupRefusedError(message, device=device, code=str(code))
