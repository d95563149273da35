"""Messages of the transfer handshake and of pairing and access over HTTP."""

from __future__ import annotations

from dataclasses import dataclass

from connect.wire._enums import (
    Role,
    SourceAfter,
    TransferMode,
    TransferPhase,
    TransferRole,
    VolumePolicy,
)
from connect.wire._playback import PlaybackState
from connect.wire._session import ClientIdentity, Failure

# ------------------------------------------------------------------------------ transfer


@dataclass(frozen=True, slots=True)
class TransferOptions:
    """How a transfer is carried out."""

    mode: TransferMode = TransferMode.HANDOFF
    volume_policy: VolumePolicy = VolumePolicy.KEEP_TARGET
    source_after: SourceAfter = SourceAfter.STOP
    paused: bool = False
    fade_ms: int = 30


@dataclass(frozen=True, slots=True)
class TransferOffer:
    """Step 1: the session offered to the target, its clock in the target's clock."""

    transfer_id: str
    state: PlaybackState
    options: TransferOptions
    source_device_id: str
    deadline_us: int
    source_volume: int = 0
    prepare: bool = False  # only pre-open the media for a later offer (a device picker shows)
    commit_lead_us: int = 0  # what the controller needs from Ready to the switch (0: unsaid)
    source_url: str = ""  # protocol 1.1: where the target fetches the rest of a windowed queue


@dataclass(frozen=True, slots=True)
class TransferReady:
    """Step 2: the target has the media open and paused at `prerolled_position_ms`."""

    transfer_id: str
    prerolled_position_ms: int
    ready_at_us: int
    output_delay_us: int = 0
    start_lead_us: int = 0
    offer_received_at_us: int = 0  # target clock; ready_at_us minus this is the pre-roll


@dataclass(frozen=True, slots=True)
class TransferRejected:
    """Step 2, refused: the target will not take the session."""

    transfer_id: str
    failure: Failure
    owner_device_id: str = ""  # on CONFLICT / NOT_ACTIVE: who holds the session now


@dataclass(frozen=True, slots=True)
class TransferCommit:
    """Step 3: switch at `switch_at_us` in the receiving device's clock."""

    transfer_id: str
    role: TransferRole
    switch_at_us: int
    position_ms: int = 0
    fade_ms: int = 0
    source_after: SourceAfter = SourceAfter.STOP
    revision: int = 0
    # For the source: whom to ask how the transfer went if no verdict comes ("": do not ask).
    target_device_id: str = ""
    target_url: str = ""  # the target's base URL, https://host:port (pinned) or http://host:port
    epoch: int = 0  # source: the epoch it must hold (0: unchecked); target: the epoch it takes


@dataclass(frozen=True, slots=True)
class TransferAborted:
    """The transfer ended before commit; the source keeps playing."""

    transfer_id: str
    failure: Failure


@dataclass(frozen=True, slots=True)
class TransferTimings:
    """A transfer's measured timings, in one clock (gap_us < 0 is an overlap)."""

    request_to_ready_ms: int
    ready_to_audible_ms: int
    request_to_audible_ms: int
    gap_us: int
    position_error_ms: int
    # Request -> audible in four parts (µs): the offer's way to the target, the pre-roll, the
    # lead from Ready to the switch, the switch to the first audible sample.
    offer_us: int = 0
    preroll_us: int = 0
    lead_us: int = 0
    start_us: int = 0


@dataclass(frozen=True, slots=True)
class TransferDone:
    """Step 4: the instant a device's output changed, in its own clock."""

    transfer_id: str
    role: TransferRole
    edge_at_us: int
    position_ms: int = 0
    revision: int = 0
    timings: TransferTimings | None = None


@dataclass(frozen=True, slots=True)
class TransferStatus:
    """Body of `GET /connect/v1/transfers/{transfer_id}`: that transfer's phase on the device."""

    transfer_id: str
    phase: TransferPhase


# ------------------------------------------------------------------------------ pairing (HTTP)


@dataclass(frozen=True, slots=True)
class PairingRequest:
    """Body of `POST /connect/v1/pair`."""

    client: ClientIdentity
    pin: str
    requested_role: Role | None = None


@dataclass(frozen=True, slots=True)
class PairingResponse:
    """Answer to a successful pairing: a token to present in Hello."""

    token: str
    role: Role
    device_id: str
    certificate_sha256: str = ""


# ------------------------------------------------------------------------------ access (HTTP)


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """One paired controller's token as a device lists it (never its secret)."""

    id: str
    client: ClientIdentity
    role: Role
    created_unix_ms: int = 0
    last_used_unix_ms: int = 0  # 0: never used in a Hello


@dataclass(frozen=True, slots=True)
class TokenList:
    """Answer to `GET /connect/v1/tokens`."""

    tokens: tuple[TokenInfo, ...] = ()


@dataclass(frozen=True, slots=True)
class PairingCode:
    """Answer to `GET /connect/v1/pairing-code`: the device's current 6-digit code."""

    code: str


@dataclass(frozen=True, slots=True)
class RenameRequest:
    """Body of `PUT /connect/v1/name`."""

    name: str
