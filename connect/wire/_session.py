"""Messages of versions, devices and session setup: Hello to Goodbye, Error, time sync."""

from __future__ import annotations

from dataclasses import dataclass

from connect.wire._enums import CommandKind, DeviceType, ErrorCode, GoodbyeReason, PairingMode, Role

# ------------------------------------------------------------------------------ common


@dataclass(frozen=True, slots=True, order=True)
class ProtocolVersion:
    """A protocol version; majors are incompatible, minors only add."""

    major: int
    minor: int = 0

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


@dataclass(frozen=True, slots=True)
class VersionRange:
    """An inclusive range of protocol versions."""

    lowest: ProtocolVersion
    highest: ProtocolVersion

    def highest_common(self, other: VersionRange) -> ProtocolVersion | None:
        """Return the highest version both ranges contain, or None when they do not overlap."""
        top = min(self.highest, other.highest)
        return top if top >= max(self.lowest, other.lowest) else None

    def __str__(self) -> str:
        return f"{self.lowest}..{self.highest}"


@dataclass(frozen=True, slots=True)
class Failure:
    """A typed failure with a sentence for humans."""

    code: ErrorCode
    message: str = ""
    pairing_tries_left: int | None = None  # a wrong pairing code: wrong codes left before a pause


@dataclass(frozen=True, slots=True)
class Restriction:
    """Why a kind of command is not allowed now (at least one reason)."""

    command: CommandKind
    reasons: tuple[str, ...]


# ------------------------------------------------------------------------------ devices


@dataclass(frozen=True, slots=True)
class VolumeCapabilities:
    """What a device's volume control can do."""

    settable: bool = True
    reportable: bool = True
    steps: int = 100


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a device can do; controllers offer transfers only where these fit."""

    audio_codecs: tuple[str, ...] = ()
    volume: VolumeCapabilities = VolumeCapabilities()
    seek: bool = True
    queue: bool = True
    transfer_source: bool = True
    transfer_target: bool = True
    output_delay_us: int = 0
    max_volume: int = 100
    no_timed_start: bool = False  # a bridged device: transfers to or from it are stop-first
    position_uncertainty_ms: int = 0  # how far its reported position may be from what is heard
    group_member: bool = False  # protocol 1.2: can play in a group (timed start, a timeline)


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """A device's description, from `GET /connect/v1/info` and Welcome."""

    id: str
    name: str
    type: DeviceType
    protocol: VersionRange
    capabilities: Capabilities = Capabilities()
    model: str = ""
    manufacturer: str = ""
    software_version: str = ""
    restrictions: tuple[Restriction, ...] = ()
    ws_path: str = "/connect/v1/ws"
    pairing: PairingMode = PairingMode.PIN
    revision: int = 0


@dataclass(frozen=True, slots=True)
class ClientIdentity:
    """Who a controller is."""

    id: str
    name: str
    type: DeviceType = DeviceType.COMPUTER
    software: str = ""


# ------------------------------------------------------------------------------ session setup


@dataclass(frozen=True, slots=True)
class Hello:
    """First frame from a controller."""

    supported: VersionRange
    client: ClientIdentity
    requested_role: Role | None = None  # None: the best the credential allows
    token: str = ""


@dataclass(frozen=True, slots=True)
class Welcome:
    """A device's acceptance of a Hello."""

    version: ProtocolVersion
    role: Role
    device: DeviceInfo
    connection_id: str
    heartbeat_interval_ms: int


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Sent when idle; from a device it carries the current revision."""

    revision: int = 0


@dataclass(frozen=True, slots=True)
class Goodbye:
    """The sender closes the session."""

    reason: GoodbyeReason
    message: str = ""
    supported: VersionRange | None = None


@dataclass(frozen=True, slots=True)
class Error:
    """A frame could not be handled; the session stays up."""

    code: ErrorCode
    message: str = ""
    ref_seq: int = 0
    ref_msg_id: str = ""


@dataclass(frozen=True, slots=True)
class TimeRequest:
    """Clock-sync probe: t1 in the controller's clock."""

    client_send_us: int


@dataclass(frozen=True, slots=True)
class TimeResponse:
    """Clock-sync answer: t1 echoed, t2 and t3 in the device's clock."""

    client_send_us: int
    device_receive_us: int
    device_send_us: int
