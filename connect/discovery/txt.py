"""The mDNS contract of Baton: service type, TXT keys, and `ServiceRecord` (build and parse).

TXT keys (DESIGN.md, Connect protocol v1): `id` stable device id, `v` protocol version, `type`
device type, `model`, `path` WebSocket path, `rev` state revision (a hint: a new revision
alone is re-announced at most every 30 s; live state comes from the session), `caps`
capability hash, `pair` pairing mode. Sans-IO: dicts in, dataclasses out; zeroconf stays in
discovery/advertise.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from connect.errors import ConnectError
from connect.paths import WS_PATH
from connect.wire.messages import DeviceType, PairingMode

__all__ = [
    "DEFAULT_WS_PATH",
    "PROTOCOL_VERSION",
    "SERVICE_TYPE",
    "InvalidServiceRecordError",
    "ServiceRecord",
    "build_txt",
    "capability_hash",
    "instance_name",
    "parse_txt",
]

SERVICE_TYPE = "_baton._tcp.local."
PROTOCOL_VERSION = "1"
DEFAULT_WS_PATH = WS_PATH

_E = TypeVar("_E", bound=enum.Enum)

# RFC 6763 §6.1: each TXT string (key=value) is at most 255 bytes.
_MAX_TXT_STRING = 255


class InvalidServiceRecordError(ConnectError, ValueError):
    """A TXT record cannot describe a Baton device (no `id`), or a record cannot be encoded."""


@dataclass(frozen=True)
class ServiceRecord:
    """One Baton device as mDNS describes it: instance name, TXT fields, addresses and port."""

    name: str  # instance name (the device name), without the service type
    id: str
    type: DeviceType = DeviceType.OTHER
    model: str = ""
    version: str = PROTOCOL_VERSION
    ws_path: str = DEFAULT_WS_PATH
    revision: int = 0
    caps_hash: str = ""
    pairing: PairingMode = PairingMode.PIN
    addresses: tuple[str, ...] = ()
    port: int = 0

    @property
    def tls(self) -> bool:
        """Return True unless the device is open: pin mode means TLS (docs/security.md)."""
        return self.pairing is not PairingMode.OPEN


def build_txt(record: ServiceRecord) -> dict[str, str]:
    """Return the TXT key/value pairs announcing *record*; raise InvalidServiceRecordError."""
    if not record.id:
        raise InvalidServiceRecordError("a service record needs a non-empty id")
    if record.revision < 0:
        raise InvalidServiceRecordError(f"{record.id}: revision {record.revision} is negative")
    txt = {
        "id": record.id,
        "v": record.version,
        "type": record.type.name.lower(),
        "model": record.model,
        "path": record.ws_path,
        "rev": str(record.revision),
        "caps": record.caps_hash,
        "pair": record.pairing.name.lower(),
    }
    for key, value in txt.items():
        if len(key.encode()) + 1 + len(value.encode()) > _MAX_TXT_STRING:
            raise InvalidServiceRecordError(f"{record.id}: TXT {key}= is over 255 bytes")
    return txt


def parse_txt(
    name: str,
    properties: Mapping[bytes, bytes | None] | Mapping[str, str | None],
    addresses: Iterable[str] = (),
    port: int = 0,
) -> ServiceRecord:
    """Read a TXT record into a ServiceRecord, tolerating unknown keys and missing optional ones.

    Keys are case-insensitive (RFC 6763 §6.4); a malformed optional value reads as missing.
    Raises InvalidServiceRecordError when `id` is missing or empty: such a record cannot be
    keyed, so it is not a Baton device.
    """
    txt = _decode(properties)
    device_id = txt.get("id", "").strip()
    if not device_id:
        raise InvalidServiceRecordError(f"{name!r}: TXT record has no id")
    return ServiceRecord(
        name=name,
        id=device_id,
        type=_enum_or(DeviceType, txt.get("type"), DeviceType.OTHER),
        model=txt.get("model", ""),
        version=txt.get("v") or PROTOCOL_VERSION,
        ws_path=txt.get("path") or DEFAULT_WS_PATH,
        revision=_revision(txt.get("rev")),
        caps_hash=txt.get("caps", ""),
        # An unknown pairing mode is treated as needing a PIN: never assume a device is open.
        pairing=_enum_or(PairingMode, txt.get("pair"), PairingMode.PIN),
        addresses=tuple(addresses),
        port=port,
    )


def capability_hash(capabilities: Iterable[str]) -> str:
    """Return the short hex hash of a capability set (order-insensitive) for TXT `caps`."""
    joined = "\n".join(sorted(set(capabilities)))
    return hashlib.sha256(joined.encode()).hexdigest()[:8]


def instance_name(full_name: str, service_type: str = SERVICE_TYPE) -> str:
    """Return the instance part of a full mDNS service name ("Kitchen._baton._tcp.local.")."""
    suffix = "." + service_type
    return full_name[: -len(suffix)] if full_name.endswith(suffix) else full_name


def _decode(properties: Mapping[bytes, bytes | None] | Mapping[str, str | None]) -> dict[str, str]:
    txt: dict[str, str] = {}
    for key, value in properties.items():
        k = key.decode("utf-8", "replace") if isinstance(key, bytes) else key
        if value is None:
            v = ""  # a boolean attribute ("key" with no "="): present, no value
        else:
            v = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        # RFC 6763 §6.4: only the first occurrence of a key counts.
        txt.setdefault(k.lower(), v)
    return txt


def _enum_or(kind: type[_E], value: str | None, default: _E) -> _E:
    # TXT carries enum members by lower-case name ("speaker", "pin").
    return kind.__members__.get(value.upper(), default) if value else default


def _revision(value: str | None) -> int:
    try:
        rev = int(value) if value else 0
    except ValueError:
        return 0
    return max(rev, 0)
