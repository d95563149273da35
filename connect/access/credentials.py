"""The controller's pairing credentials: one token per device id, in `credentials.json`.

Where (docs/security.md): `$BATON_CONFIG_DIR`, else `$XDG_CONFIG_HOME/baton`, else
`~/.config/baton`. The directory is made with mode 0700 and the file is only ever written
whole, with mode 0600, through a temporary file and a rename, under an advisory lock, so two
`baton` processes pairing at once cannot lose each other's credential and a power cut leaves
either the old file or the new one. A damaged file is reported (`CredentialStoreError`, naming
the file and the way out) and never overwritten: it may hold the only copy of an owner token.

The file also holds this controller's stable client id. Pairing again, a controller presents
the token it holds, and a device replaces that token only for the client id it was issued to
(docs/security.md, "Pairing again"), so the id must outlive the process.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connect.atomic import not_text, write_atomically
from connect.errors import CredentialStoreError
from connect.wire.messages import Role

__all__ = ["Credential", "CredentialStore", "config_dir", "paired_now"]

FILE_NAME = "credentials.json"
_LOCK_NAME = ".credentials.lock"
_FORMAT = 1  # bump when the layout changes in a way an older reader would misread


@dataclass(frozen=True, slots=True)
class Credential:
    """What pairing with one device gave us; `token` is a secret, never log or show it."""

    device_id: str
    token: str
    role: Role
    device_name: str
    paired_at: datetime

    @property
    def token_id(self) -> str:
        """Return the token's public id (before the dot), as a device lists it; not a secret."""
        return self.token.partition(".")[0]

    def __repr__(self) -> str:  # keeps the token out of logs, tracebacks and test output
        return (
            f"Credential(device_id={self.device_id!r}, role={self.role.name}, "
            f"device_name={self.device_name!r}, paired_at={self.paired_at.isoformat()})"
        )


def paired_now() -> datetime:
    """Return the wall-clock time to record as `paired_at`: shown to the user, never computed on."""
    return datetime.now(UTC)


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Return the controller's configuration directory, following the environment."""
    env = os.environ if environ is None else environ
    if env.get("BATON_CONFIG_DIR"):
        return Path(env["BATON_CONFIG_DIR"])
    xdg = env.get("XDG_CONFIG_HOME", "")
    # The XDG spec says a relative value is invalid and must be ignored.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".config"
    return base / "baton"


class CredentialStore:
    """Credentials by device id, read from disk on every call (another process may pair).

    Calls do blocking file I/O, briefly: a file of a few KiB, a lock held for one write.
    """

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory if directory is not None else config_dir()
        self.path = self.directory / FILE_NAME

    # -------------------------------------------------------------------------- reading

    def get(self, device_id: str) -> Credential | None:
        """Return the credential for *device_id*, or None; raise CredentialStoreError."""
        return self._load().credentials.get(device_id)

    def all(self) -> tuple[Credential, ...]:
        """Return every stored credential, oldest pairing first."""
        return tuple(sorted(self._load().credentials.values(), key=lambda c: c.paired_at))

    def token_for(self, device_id: str) -> str:
        """Return the token to present to *device_id* in Hello, or "" when not paired."""
        credential = self.get(device_id)
        return credential.token if credential is not None else ""

    def client_id(self, *, create: bool = True) -> str:
        """Return this controller's stable client id, made and stored on first use.

        With `create=False`, return "" rather than write a file (commands that only look).
        """
        if not create:
            return self._load().client_id
        with self._locked():
            contents = self._load()
            if contents.client_id:
                return contents.client_id
            contents.client_id = f"ctl-{uuid.uuid4().hex}"
            self._write(contents)
            return contents.client_id

    # -------------------------------------------------------------------------- writing

    def save(self, credential: Credential) -> None:
        """Store *credential*, replacing any earlier one for the same device."""
        with self._locked():
            contents = self._load()
            contents.credentials[credential.device_id] = credential
            self._write(contents)

    def remove(self, device_id: str) -> bool:
        """Forget the credential for *device_id*; return whether there was one."""
        with self._locked():
            contents = self._load()
            if contents.credentials.pop(device_id, None) is None:
                return False
            self._write(contents)
            return True

    def forget_token(self, device_id: str, token: str) -> None:
        """Forget *device_id*'s credential if it still holds *token* (a revoked one).

        A newer pairing made in the meantime (another process, another token) is kept.
        """
        with self._locked():
            contents = self._load()
            held = contents.credentials.get(device_id)
            if held is not None and held.token == token:
                del contents.credentials[device_id]
                self._write(contents)

    # -------------------------------------------------------------------------- file

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the store's advisory lock: one read-modify-write at a time across processes."""
        self._make_directory()
        try:
            fd = os.open(self.directory / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise self._error(f"cannot lock it: {exc.strerror or exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _make_directory(self) -> None:
        try:
            # mode applies only to directories made here; an existing one is the user's choice
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise self._error(f"cannot create {self.directory}: {exc.strerror or exc}") from exc

    def _load(self) -> _Contents:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return _Contents()
        except UnicodeDecodeError as exc:
            raise self._damaged(not_text(exc).removeprefix("is ")) from exc
        except OSError as exc:
            raise self._error(f"cannot be read: {exc}") from exc
        try:
            return _Contents.parse(json.loads(text))
        except (ValueError, TypeError, KeyError) as exc:
            raise self._damaged(str(exc)) from exc

    def _write(self, contents: _Contents) -> None:
        data = json.dumps(contents.dump(), indent=2, sort_keys=True) + "\n"
        try:
            write_atomically(self.path, data.encode(), 0o600)
        except OSError as exc:
            raise self._error(f"cannot be written: {exc.strerror or exc}") from exc

    def _damaged(self, why: str) -> CredentialStoreError:
        return self._error(
            f"is damaged ({why}); fix it, or move it away and pair again "
            "(`baton pair DEVICE`); Baton leaves it as it is"
        )

    def _error(self, what: str) -> CredentialStoreError:
        return CredentialStoreError(f"credentials file {self.path} {what}", path=str(self.path))


class _Contents:
    """The file's contents, parsed; raises ValueError/TypeError/KeyError on a bad shape."""

    def __init__(self) -> None:
        self.client_id = ""
        self.credentials: dict[str, Credential] = {}

    @classmethod
    def parse(cls, document: Any) -> _Contents:
        if not isinstance(document, dict):
            raise TypeError("not a JSON object")
        if document.get("format") != _FORMAT:
            raise ValueError(f"unknown format {document.get('format')!r}, expected {_FORMAT}")
        contents = cls()
        contents.client_id = _text(document.get("client_id", ""), "client_id")
        devices = document.get("devices", {})
        if not isinstance(devices, dict):
            raise TypeError("'devices' is not an object")
        for device_id, entry in devices.items():
            contents.credentials[device_id] = _credential(device_id, entry)
        return contents

    def dump(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "client_id": self.client_id,
            "devices": {
                c.device_id: {
                    "token": c.token,
                    "role": c.role.name.lower(),
                    "name": c.device_name,
                    "paired_at": c.paired_at.isoformat(),
                }
                for c in self.credentials.values()
            },
        }


def _credential(device_id: str, entry: Any) -> Credential:
    if not isinstance(entry, dict):
        raise TypeError(f"device {device_id!r} is not an object")
    token = _text(entry["token"], f"{device_id}.token")
    if not token:
        raise ValueError(f"device {device_id!r} has an empty token")
    role = _text(entry["role"], f"{device_id}.role")
    if role.upper() not in Role.__members__:
        raise ValueError(f"device {device_id!r} has an unknown role {role!r}")
    paired_at = datetime.fromisoformat(_text(entry["paired_at"], f"{device_id}.paired_at"))
    if paired_at.tzinfo is None:
        paired_at = paired_at.replace(tzinfo=UTC)
    return Credential(
        device_id,
        token,
        Role[role.upper()],
        _text(entry.get("name", ""), f"{device_id}.name"),
        paired_at,
    )


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} is not a string")
    return value
