"""Playback transfer between two devices, coordinated by the controller that asked.

Handoff (make-before-break), DESIGN.md's four steps:
  1. Offer the session to the target, its clock converted into the target's clock.
  2. The target pre-rolls the media at a position just ahead and answers Ready (or Rejected).
     The source has not been touched.
  3. Commit to the source, then to the target, with the switch instant in each one's clock:
     the instant the source's clock reaches the pre-rolled position. The target fades in and
     the source fades out there. The source only pauses (media kept) until the target proves
     it plays: if it does not, the source is told to roll back and resumes.
  4. Each device reports Done with the instant its output changed; the timings come from those.
Stop-first (how other systems do it, kept to compare): commit the source at once, wait for it
to stop, then offer, pre-roll and start the target.

Faults (tests/integration/transfer/test_faults.py). The target is committed only after the
source acknowledged its own commit (a TransferReady from the source), early enough for the
target's start lead: a source that cannot hear the commit (a dropped link) then keeps the
music and the target is called off, so two devices never play on. A source whose session has
closed (its process died) is not waited for: the target takes over from its last known state,
the position extrapolated, and the outcome says `source_reachable=False`. A target lost after
Ready or after the commit makes the source resume (`rolled_back`). What remains: if the link
drops after the source's acknowledgement left and before the verdict reaches it, the source
cannot tell a playing target from a failed one, unless it can reach the target: the source's
Commit names the target (its id and base URL), and a source left without a verdict asks it
`GET /connect/v1/transfers/{id}` (`ask_transfer_phase`) and takes the music back unless the
target started. That is what saves a controller that dies between the two commits.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import aiohttp

from connect import codec, telemetry
from connect import messages as m
from connect._transfer_steps import (
    DEFAULT_OPTIONS,
    OFFER_DEADLINE_S,
    StepFailedError,
    TransferOutcome,
    TransferRun,
    codec_of,
    why_not_target,
)
from connect.clock import Clock, monotonic_us
from connect.connection import pinned
from connect.controller import Controller
from connect.errors import ConnectError, ConnectionLostError, ConnectTimeoutError
from connect.server import TRANSFERS_PATH
from tracing import attributes as a

__all__ = [
    "DEFAULT_OPTIONS",
    "OFFER_DEADLINE_S",
    "TransferCoordinator",
    "TransferOutcome",
    "ask_transfer_phase",
    "codec_of",
    "why_not_target",
]

_LOG = logging.getLogger(__name__)

ASK_TIMEOUT_S = 2.0  # a source asking its target: loopback or LAN, or not reachable at all


class TransferCoordinator:
    """Runs transfers between a controller's devices (one at a time per coordinator)."""

    def __init__(self, controller: Controller, *, clock: Clock = monotonic_us) -> None:
        self._controller = controller
        self._clock = clock
        self._lock = asyncio.Lock()

    async def transfer(
        self,
        source_id: str,
        target_id: str,
        options: m.TransferOptions = DEFAULT_OPTIONS,
        *,
        timeout_s: float = OFFER_DEADLINE_S,
    ) -> TransferOutcome:
        """Move the session from *source_id* to *target_id*; never raises for a failed step."""
        tid = uuid.uuid4().hex
        run = TransferRun(
            self._controller, self._clock, tid, source_id, target_id, options, timeout_s
        )
        async with self._lock:
            # One span for the whole transfer: every message it sends is its child, so each
            # device's handling of them joins this trace; it links to both devices' sessions.
            with telemetry.current(telemetry.start_transfer(tid)) as span:
                try:
                    outcome = await run.execute()
                except StepFailedError as exc:
                    _LOG.info("transfer %s %s -> %s failed: %s", tid[:8], source_id, target_id, exc)
                    outcome = run.outcome(failure=exc.failure)
                finally:
                    run.close()
                    for device_id, role in ((source_id, "source"), (target_id, "target")):
                        conn = self._controller.known_connection(device_id)
                        session = conn.session_span if conn is not None else None
                        telemetry.link_device(span, session, device_id, role)
                telemetry.record_result(span, outcome.revision, outcome.failure)
                if outcome.failure is not None:
                    failed = {a.ERROR_TYPE: outcome.failure.code.name, a.TRANSFER_ID: tid}
                    telemetry.emit_event(a.EVENT_ERROR, failed)
                return outcome


async def ask_transfer_phase(
    target_device_id: str, target_url: str, transfer_id: str, timeout_s: float = ASK_TIMEOUT_S
) -> m.TransferPhase:
    """Ask the target named in a source's Commit how far *transfer_id* got there.

    TLS (https) is pinned to *target_device_id*. Raises ConnectTimeoutError or
    ConnectionLostError when the target cannot be reached, ConnectError for any other answer
    than a TransferStatus of that transfer.
    """
    url = target_url + TRANSFERS_PATH.format(transfer_id=transfer_id)
    ssl = pinned(target_device_id) if target_url.startswith("https://") else True
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as http,
            http.get(url, ssl=ssl) as response,
        ):
            body = await response.read()
            if response.status != 200:
                raise ConnectError(f"{target_url} answered {response.status} about {transfer_id}")
    except TimeoutError as exc:
        raise ConnectTimeoutError(f"{target_url} did not answer within {timeout_s} s") from exc
    except aiohttp.ClientError as exc:
        raise ConnectionLostError(f"cannot reach {target_url}: {exc}") from exc
    status = codec.decode_transfer_status(body)
    if status.transfer_id != transfer_id:
        raise ConnectError(f"{target_url} answered about {status.transfer_id}, not {transfer_id}")
    return status.phase
