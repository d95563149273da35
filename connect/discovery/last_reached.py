"""Where this controller last reached each device: `baton` tries it before asking mDNS.

A small cache beside credentials.json (`last-reached.json` in the same directory). It is never
trusted for identity: an address from it is only a place to try. The session still checks the
device id (the Welcome must carry it), and TLS is still pinned to the id when the device is in
pin mode or this controller holds its credential (connect.controller). A damaged or unreadable
file reads as empty, as a cache should: it is rebuilt as devices are reached. It is only ever
replaced whole (connect.atomic), so a crash leaves the old file or the new one; two processes
writing at once may lose one's update, which costs that device one mDNS lookup.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from connect.atomic import write_atomically

__all__ = ["FILE_NAME", "LastReached", "Reached"]

_LOG = logging.getLogger(__name__)

FILE_NAME = "last-reached.json"
MAX_DEVICES = 64  # the devices of a home, and more; the least recently reached go first
REFRESH_S = 24 * 3600.0  # an unchanged address is written again at most daily (for MAX_DEVICES)
_FORMAT = 1


@dataclass(frozen=True, slots=True)
class Reached:
    """One device as last reached: its id and name then, and where its session answered."""

    device_id: str
    name: str
    host: str
    port: int
    ws_path: str
    tls: bool  # the session ran over TLS (pin mode): try it so again, never in the clear
    type: str = "other"  # DeviceType's name, lower case
    reached_at: float = 0.0  # wall-clock seconds


class LastReached:
    """The cache in *directory* (`credentials.config_dir()` by default); see the module doc."""

    def __init__(
        self, directory: Path | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        if directory is None:
            from connect.access.credentials import config_dir

            directory = config_dir()
        self.path = directory / FILE_NAME
        self._clock = clock

    def find(self, name_or_id: str) -> tuple[Reached, ...]:
        """Return the devices whose id is *name_or_id*, or whose name was it (any case)."""
        devices = self._load()
        if name_or_id in devices:
            return (devices[name_or_id],)
        wanted = name_or_id.casefold()
        return tuple(d for d in devices.values() if d.name.casefold() == wanted)

    def remember(self, reached: Reached) -> None:
        """Note where a device was just reached; write only what changed (or is a day old)."""
        devices = self._load()
        now = self._clock()
        known = devices.get(reached.device_id)
        if known is not None and _same_place(known, reached) and now - known.reached_at < REFRESH_S:
            return  # the common case: a command to a device where it was last time
        devices[reached.device_id] = replace(reached, reached_at=now)
        kept = sorted(devices.values(), key=lambda d: d.reached_at, reverse=True)[:MAX_DEVICES]
        document = {"format": _FORMAT, "devices": [asdict(d) for d in kept]}
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_atomically(self.path, json.dumps(document, indent=1).encode() + b"\n", 0o600)
        except OSError as exc:  # a cache that cannot be written costs speed, nothing else
            _LOG.debug("cannot write %s: %s", self.path, exc)

    def _load(self) -> dict[str, Reached]:
        try:
            document = json.loads(self.path.read_bytes())
            if not isinstance(document, dict) or document.get("format") != _FORMAT:
                raise ValueError(f"not format {_FORMAT}")
            return {d.device_id: d for d in map(_reached, document["devices"])}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, TypeError, KeyError) as exc:  # UnicodeError is a ValueError
            _LOG.debug("ignoring %s: %s", self.path, exc)
            return {}


def _same_place(one: Reached, other: Reached) -> bool:
    """Whether two notes say the same thing, whenever they were made."""
    return replace(one, reached_at=0.0) == replace(other, reached_at=0.0)


def _reached(entry: Any) -> Reached:
    """Read one device of the file; raise TypeError/KeyError/ValueError on a bad shape."""
    if not isinstance(entry, dict):
        raise TypeError("a device is not an object")
    reached = Reached(**entry)
    for field in (reached.device_id, reached.name, reached.host, reached.ws_path, reached.type):
        if not isinstance(field, str):
            raise TypeError(f"{field!r} is not a string")
    if not reached.device_id or not reached.host or not isinstance(reached.tls, bool):
        raise ValueError(f"device {reached.device_id!r} is incomplete")
    if not isinstance(reached.port, int) or not 0 < reached.port < 65536:
        raise ValueError(f"device {reached.device_id!r} has port {reached.port!r}")
    if not isinstance(reached.reached_at, int | float):
        raise TypeError(f"device {reached.device_id!r} has no time")
    return reached
