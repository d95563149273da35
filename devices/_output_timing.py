"""When the output starts and stops: the learned start latency, and the OutputStarted/Stopped
events, exact from a timed sink (capture, pulse) or estimated from the player's calls on other
outputs.

How `Player.async_play_at` hits its instant: libVLC stamps the first sample a steady time after
the resume call returns (measured on capture: ~0.1 ms when resuming a pause, whose queued tail
plays on at once; from a pre-roll ~10 ms plus the format's first decoder block, which it hands
over at the call: WAV, Opus, Vorbis ~10 ms, AAC ~33 ms, MP3 ~62 ms, FLAC ~114 ms). The player
calls resume that long, plus `EARLY_US`, before the target (timed on the libVLC thread:
`VLCThread.async_call_at`). The estimate is the median of the latest observations: the sink
reports where libVLC put the first sample after each resume. Through a sound server (pulse)
every sample is heard the sink's fixed delay after its pts, so that delay is part of the latency
from the first start on: a device's first transfer is as exact as the next. On both Baton-fed
outputs (capture, pulse) the sink then moves the stretch so its first sample is heard at the
target itself, early or late (`TimedSink.align_next`): no content is lost, and a late stamp is
not heard late as long as the block is in hand by then. A transfer's target resumes as soon as
its commit allows (its start lead is 30 ms, less than a FLAC pre-roll's stamp): the block still
comes at the call, before the switch instant, and starts on it.

Other outputs (ALSA, afile, none, and default without a sound server) use the same timing with
`ASSUMED_LATENCY_US`: libVLC 3
exposes no device latency, so expect such a start to be late by about the card's buffer (tens of
ms with ALSA's defaults), and the reported instants (exact=False) to be off by as much.
"""

from __future__ import annotations

import enum
import logging
import statistics
from collections import deque
from collections.abc import Callable

from devices._timed_sink import SinkEdge
from devices.player_types import OutputStarted, OutputStopped, PlayerState

_LOGGER = logging.getLogger(__name__)

EARLY_US = 2_000
# Outputs that do not report presentation: a start is estimated at the resume call's return plus
# this, a stop at the moment the player saw the pause, stop, end or failure.
ASSUMED_LATENCY_US = 10_000
_OBSERVATIONS = 9
_PLAUSIBLE_US = 500_000  # a longer "latency" is a stall, not the output's latency


class StartKind(enum.Enum):
    """What a resume starts from: a pre-roll (nothing queued) or a pause (a queued tail)."""

    PREROLL = "preroll"
    PAUSE = "pause"


_INITIAL_US = {StartKind.PREROLL: 10_000, StartKind.PAUSE: 300}


class StartLatency:
    """The time from the resume call's return to the first presented sample, learned per kind."""

    def __init__(self, delay_us: int = 0) -> None:
        self._seen: dict[StartKind, deque[int]] = {
            kind: deque(maxlen=_OBSERVATIONS) for kind in StartKind
        }
        self._delay_us = delay_us  # the output's fixed delay after libVLC's timestamps

    def estimate_us(self, kind: StartKind) -> int:
        """Return the expected latency (µs) for a start of *kind*."""
        seen = self._seen[kind]
        return int(statistics.median(seen)) if seen else _INITIAL_US[kind] + self._delay_us

    def observe(self, kind: StartKind, latency_us: int) -> None:
        """Record one measured latency; implausible values are ignored."""
        if 0 <= latency_us <= _PLAUSIBLE_US:
            self._seen[kind].append(latency_us)


OutputEvent = OutputStarted | OutputStopped


class OutputEdges:
    """Turns sink edges (exact) or state changes (estimated) into OutputStarted/Stopped."""

    def __init__(self, exact: bool, delay_us: int = 0) -> None:
        self.exact = exact
        self.latency = StartLatency(delay_us)
        # The start awaiting its first presented sample: its kind (None: a load), when the
        # resume call returned (0: not yet), and the content position it starts from.
        self._starting: tuple[StartKind | None, int, int] | None = None

    def latency_us(self, kind: StartKind) -> int:
        """Return the start latency to plan with for *kind*."""
        return self.latency.estimate_us(kind) if self.exact else ASSUMED_LATENCY_US

    @property
    def awaiting_start(self) -> bool:
        """Return True between a start asked for and its first sample presented."""
        return self._starting is not None

    def expect_start(self, kind: StartKind | None, position_ms: int) -> None:
        """Note that the next stretch starts at content *position_ms*."""
        self._starting = (kind, 0, position_ms)

    def start_called(self, kind: StartKind, at_us: int) -> None:
        """Note when the resume call for the expected start returned."""
        if self._starting is not None:
            self._starting = (kind, at_us, self._starting[2])

    def from_sink(self, edge: SinkEdge, position_at: Callable[[int], int]) -> OutputEvent:
        """Return the event for a sink edge; learn the latency from a resume's first sample."""
        if not edge.started:
            return OutputStopped(edge.at_us, position_at(edge.at_us), True)
        starting, self._starting = self._starting, None
        if starting is None:
            return OutputStarted(edge.at_us, position_at(edge.at_us), True)
        kind, called_at, position = starting
        if kind is not None and called_at > 0:
            # libVLC's own latency: where its first sample was due, before the sink moved it.
            latency = edge.first_sample_us - edge.moved_us - called_at
            self.latency.observe(kind, latency)
            _LOGGER.debug(
                "start latency (%s): %.1f ms, planned with %.1f ms, moved by %.1f ms",
                kind.value, latency / 1000, self.latency.estimate_us(kind) / 1000,
                edge.moved_us / 1000,
            )  # fmt: skip
        # Samples presented before the gate opened were silent: the content moved on that much.
        skipped_ms = (edge.at_us - edge.first_sample_us + 500) // 1000
        return OutputStarted(edge.at_us, position + skipped_ms, True)

    def from_state(
        self, old: PlayerState, new: PlayerState, at_us: int, position_at: Callable[[int], int]
    ) -> OutputEvent | None:
        """Return an estimated edge when the state enters or leaves PLAYING (no timed sink)."""
        if self.exact or (old is PlayerState.PLAYING) == (new is PlayerState.PLAYING):
            return None
        if new is PlayerState.PLAYING:
            at = at_us + ASSUMED_LATENCY_US
            return OutputStarted(at, position_at(at), False)
        return OutputStopped(at_us, position_at(at_us), False)
