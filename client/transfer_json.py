"""A transfer's options and outcome as JSON: what `baton transfer` asks of the group keeper and
what it answers (client/group_moves.py runs it there; client/group_client.py asks)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from connect.transfer.coordination import TransferOutcome
from connect.wire import messages as m

__all__ = ["options_from_json", "options_json", "outcome_from_json", "outcome_json"]


def outcome_json(outcome: TransferOutcome) -> dict[str, Any]:
    """Return *outcome* as a JSON object (the keeper's answer to a transfer)."""
    failure = outcome.failure
    return {
        **{k: getattr(outcome, k) for k in _PLAIN},
        "mode": outcome.mode.name,
        "failure": [failure.code.name, failure.message] if failure is not None else None,
        "timings": asdict(outcome.timings) if outcome.timings is not None else None,
    }


def outcome_from_json(data: dict[str, Any]) -> TransferOutcome:
    """Return the outcome *data* describes (as `outcome_json` wrote it); raise KeyError."""
    failure = data["failure"]
    timings = data["timings"]
    return TransferOutcome(
        **{k: data[k] for k in _PLAIN},
        mode=m.TransferMode[data["mode"]],
        failure=m.Failure(m.ErrorCode[failure[0]], failure[1]) if failure else None,
        timings=m.TransferTimings(**timings) if timings else None,
    )


_PLAIN = (
    "transfer_id", "source_id", "target_id", "source_reachable", "rolled_back", "revision",
    "paused", "owner_id", "mode_reason",
)  # fmt: skip


def options_json(options: m.TransferOptions) -> dict[str, Any]:
    """Return *options* as a JSON object (a transfer asked of the keeper)."""
    return {
        "mode": options.mode.name,
        "volume_policy": options.volume_policy.name,
        "source_after": options.source_after.name,
        "paused": options.paused,
        "fade_ms": options.fade_ms,
    }


def options_from_json(data: dict[str, Any]) -> m.TransferOptions:
    """Return the options *data* describes; raise KeyError/TypeError/ValueError."""
    fade_ms = data["fade_ms"]
    if not isinstance(fade_ms, int) or isinstance(fade_ms, bool) or not 0 <= fade_ms <= 10_000:
        raise ValueError("fade_ms must be a whole number of ms, 0-10000")
    return m.TransferOptions(
        mode=m.TransferMode[data["mode"]],
        volume_policy=m.VolumePolicy[data["volume_policy"]],
        source_after=m.SourceAfter[data["source_after"]],
        paused=bool(data["paused"]),
        fade_ms=fade_ms,
    )
