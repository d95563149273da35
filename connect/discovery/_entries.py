"""A known device's entry, the events and hints the registry sends, and its presence traced."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from connect import telemetry
from connect.discovery.txt import ServiceRecord
from connect.wire.messages import DeviceType
from tracing import attributes as a


class DeviceSource(enum.Enum):
    """How a device first became known."""

    MDNS = "mdns"
    MANUAL = "manual"  # added by host:port; polled over HTTP by the caller of the hook
    REMEMBERED = "remembered"  # where it was last reached (connect.discovery.last_reached)


@dataclass(frozen=True)
class DeviceEntry:
    """A snapshot of one known device."""

    id: str  # TXT id; "manual:host:port" until a poll of a manual entry learns the real one
    name: str
    type: DeviceType
    model: str
    addresses: tuple[str, ...]
    port: int
    record: ServiceRecord | None  # the last TXT/DeviceInfo seen; None for an unpolled manual entry
    online: bool  # a live session heartbeat, reported by the session layer
    last_seen: float  # wall-clock seconds of the last mDNS answer, poll or heartbeat report
    source: DeviceSource
    mdns_present: bool = False
    manual_address: str = ""  # "host:port" when added by hand
    offline_reason: str = ""  # why the session layer last marked it offline

    @property
    def listed(self) -> bool:
        """Whether a device list should show it: online, announced, or added by hand."""
        return self.online or self.mdns_present or bool(self.manual_address)


@dataclass(frozen=True)
class DeviceAdded:
    """A device became known."""

    entry: DeviceEntry


@dataclass(frozen=True)
class DeviceUpdated:
    """A known device changed (name, addresses, TXT, presence or liveness)."""

    entry: DeviceEntry
    previous: DeviceEntry


@dataclass(frozen=True)
class DeviceRemoved:
    """A device was forgotten, or a manual entry's provisional id was replaced by its real id."""

    entry: DeviceEntry


DeviceEvent = DeviceAdded | DeviceUpdated | DeviceRemoved


@dataclass(frozen=True)
class ReachableHint:
    """A sign that a device, or with `device_id` "" any device, may be reachable again."""

    device_id: str
    why: str


def _trace_presence(old: DeviceEntry | None, new: DeviceEntry) -> None:
    """Emit "found" when a device becomes listed, "lost" when it drops offline or unlisted."""
    if new.id.startswith("manual:"):  # a provisional id, replaced once the host answers
        return
    if new.listed and (old is None or not old.listed):
        reason = "session" if new.online else new.source.value
        telemetry.emit_event(
            a.EVENT_DEVICE_DISCOVERED, {a.PEER_DEVICE_ID: new.id, a.REASON: reason}
        )
    elif old is not None and old.online and not new.online:
        telemetry.emit_event(a.EVENT_DEVICE_LOST, {a.PEER_DEVICE_ID: new.id, a.REASON: "session"})
    elif old is not None and old.listed and not new.listed:
        telemetry.emit_event(a.EVENT_DEVICE_LOST, {a.PEER_DEVICE_ID: new.id, a.REASON: "mdns"})


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _manual_entry(device_id: str, host: str, port: int) -> DeviceEntry:
    address = _host_port(host, port)
    return DeviceEntry(
        id=device_id,
        name=address,
        type=DeviceType.OTHER,
        model="",
        addresses=(host,),
        port=port,
        record=None,
        online=False,
        last_seen=0.0,
        source=DeviceSource.MANUAL,
        manual_address=address,
    )
