"""The receiver's `--audio-output` setting: where the sound goes, and the libVLC arguments for it.

Through a sound server (PulseAudio, or PipeWire's pulse layer: every desktop, and Pis running
PipeWire) Baton feeds the server itself (`pulse`, and `default` whenever a server answers)
instead of letting libVLC's own PulseAudio output do it. Decided from measurements (Baton issue
20; tests/integration/transfer/test_sound_server.py, two receivers into one null sink,
recorded from its monitor, volume 50):

* libVLC's output: the first play (on PipeWire also resume and seek) plays at full level,
  +18 dB, until the volume reaches the server: libVLC sets volume as the sink input's,
  asynchronously, and forgets a volume set before its stream exists (research/real-world.md
  §1). Handoffs burst by up to +20 dB; the content jumped by up to 11 ms across a handoff (64
  ms on PipeWire; the issue's own run also heard 9-17 ms gaps), since libVLC exposes no output
  latency to plan with and decides itself when its stream starts. Muting before play and
  ramping the sink input's volume would leave the volume asynchronous and the timing libVLC's.
* Baton's own feed (devices/_pulse_stream.py): the gain is in the samples before any leaves
  the process (+0.0 dB on every start path: play, resume, seek, handoff, stop-first, power
  cut), no burst, no gap, the content continuous within 2.8 ms on PulseAudio (within ~8 ms on
  PipeWire's pulse layer, whose latency reports lag its own rate matching), and the same path
  is the capture output's, so transfers are timed the same way on both. The cost: 175 ms
  between libVLC's timestamp and the sound (devices/_pulse_stream.py, MIN_DELAY_US: longer
  than the server's 150 ms buffer), which the player plans with and the target's start lead
  covers.

Groups (one session on several devices) will use the same sink with drift correction.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from pathlib import Path

# Input caching, in ms. libVLC's default (1000 ms) is a pre-buffer that outputs without their own
# clock (afile, adummy) swallow at once, so end-of-media fires that much early
# (research/feasibility.md §3). 50 ms keeps the end exact for local files.
FILE_CACHING_MS = 50

# Network caching, in ms: libVLC buffers this much of an HTTP stream before it starts.
# Baton's media comes from a controller on the same LAN, which delivers a WAV or MP3 many times
# faster than real time, so a big jitter buffer buys nothing there, and it costs: on clockless
# outputs end-of-media fires about that much early, and a pre-roll waits for a full buffer.
# Measured on loopback (pre-roll at 2.5 s of a 3 s WAV, then play to the end): pre-roll took
# 6-11 ms for 50, 300 and 1000 ms alike, but EndReached came 73 / 320 / 400 ms early on afile.
# 50 ms matches the file caching, so a track behaves alike from disk and from loopback; a device
# on flaky Wi-Fi can raise it (`network_caching_ms`).
NETWORK_CACHING_MS = 50

MAX_SIMULATED_DRIFT_PPM = 1_000  # real crystals are within ±100 ppm; beyond this is no card's

USAGE = "expected default, pulse[:SINK], alsa:DEVICE, afile:PATH, capture:PATH or none"


class OutputKind(enum.Enum):
    """Which libVLC audio output module plays the sound."""

    # What afile records (libVLC 3.0.24, measured): exactly the samples played, s16 at the
    # source's rate and channels. The file is created when the first audio of a media reaches
    # the output (not during a pre-roll) and truncated for each new media, so it holds the last
    # media played; seeks and pauses keep the same file, and a pause writes nothing (no silence).
    # afile has no clock of its own: after play it receives what libVLC had buffered at once
    # (~140 ms of audio, with or without a pre-roll), then in real time. It ignores libVLC's volume.

    # Baton's own PulseAudio output (PULSE) when a sound server answers (PulseAudio, or
    # PipeWire's pipewire-pulse: every desktop), else libVLC's own choice (ALSA's default).
    DEFAULT = "default"
    # Baton feeds a PulseAudio/PipeWire server itself, from the timed blocks libVLC hands over
    # (devices/_pulse_stream.py): volume and fades in the samples, each frame at its instant.
    # The target is a sink name; none: the server's default sink.
    PULSE = "pulse"
    ALSA = "alsa"  # one named ALSA PCM, e.g. hw:CARD=sndrpihifiberry,DEV=0
    AFILE = "afile"  # a WAV file holding exactly what was played: for tests and benchmarks
    # Baton as the sound card (devices/_capture.py): libVLC's audio callbacks, each sample
    # presented at its pts on the device clock. Writes PATH (WAV, s16 mono 44.1 kHz, appended
    # across loads) and PATH.timeline (presentation instant of every stretch of samples).
    # Volume and fades are applied per sample by Baton, not by libVLC.
    CAPTURE = "capture"
    NONE = "none"  # decode and pace in real time, but play nowhere


@dataclass(frozen=True)
class AudioOutput:
    """A parsed `--audio-output` value and the libVLC instance arguments it stands for."""

    kind: OutputKind
    target: str = ""  # the ALSA device name or the file path; "" for default and none
    network_caching_ms: int = NETWORK_CACHING_MS
    # capture only: the simulated converter's clock error (None: an ideal converter, on the
    # true clock), and whether the receiver corrects it (devices/_converter.py)
    simulated_drift_ppm: float | None = None
    drift_correction: bool = True

    @property
    def path(self) -> Path | None:
        """Return the WAV file an afile or capture output writes, None for the other kinds."""
        return Path(self.target) if self.kind in (OutputKind.AFILE, OutputKind.CAPTURE) else None

    @property
    def baton_fed(self) -> bool:
        """Return whether Baton presents the samples itself (capture, pulse), not libVLC."""
        return self.kind in (OutputKind.CAPTURE, OutputKind.PULSE)

    @property
    def software_volume(self) -> bool:
        """Return whether libVLC's own volume reaches what this output plays."""
        # libVLC 3's afile module takes no part in volume: samples are written unchanged whatever
        # audio_set_volume says (measured, research/devices.md), so the player needs another
        # gain stage to make a fade visible in the recording.
        # capture and pulse apply volume themselves, per sample (devices/_timed_sink.py).
        return self.kind not in (OutputKind.AFILE, OutputKind.CAPTURE, OutputKind.PULSE)

    def instance_args(self, baton_fed: bool | None = None) -> tuple[str, ...]:
        """Return the full argument list for `vlc.Instance` with this output.

        *baton_fed*: whether Baton presents the samples (default: `baton_fed`; `default`
        is Baton-fed when a sound server answers, which only the player finds out).
        """
        common = (
            "--no-video",
            "--intf=dummy",
            "--no-lua",  # no Lua extensions or playlist scripts: smaller, faster, nothing to run
            f"--file-caching={FILE_CACHING_MS}",
            f"--network-caching={self.network_caching_ms}",
        )
        if self.baton_fed if baton_fed is None else baton_fed:
            # The player's audio callbacks select libVLC's amem module; the instance's own
            # output, made with the player before the callbacks are set, is the dummy, so
            # libVLC never opens a device or a sound server of its own (its PulseAudio module
            # waits 60 s for a server that accepts and never answers).
            return (*common, "--aout=adummy")
        if self.kind is OutputKind.DEFAULT:
            return common
        if self.kind is OutputKind.ALSA:
            return (*common, "--aout=alsa", f"--alsa-audio-device={self.target}")
        if self.kind is OutputKind.AFILE:
            return (
                *common,
                "--aout=afile",
                f"--audiofile-file={self.target}",
                "--audiofile-format=s16",  # the format tests.audio reads
            )
        # The module is called "adummy"; "dummy" is accepted as its shortcut, but a misspelt name
        # is silently replaced by whatever module loads, so name the real one.
        return (*common, "--aout=adummy")

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.target}" if self.target else self.kind.value


def parse_audio_output(
    value: str,
    *,
    network_caching_ms: int = NETWORK_CACHING_MS,
    simulated_drift_ppm: float | None = None,
    drift_correction: bool = True,
) -> AudioOutput:
    """Parse `default|pulse[:SINK]|alsa:DEVICE|afile:PATH|capture:PATH|none`, with a capture's
    simulated clock error in ppm (None: none); raise ValueError."""
    output = _parse_kind(value, network_caching_ms)
    if simulated_drift_ppm is None:
        return replace(output, drift_correction=drift_correction)
    if output.kind is not OutputKind.CAPTURE:
        raise ValueError(f"a simulated drift needs a capture output, not {output.kind.value!r}")
    if not abs(simulated_drift_ppm) <= MAX_SIMULATED_DRIFT_PPM:  # NaN too
        raise ValueError(
            f"simulated drift must be within ±{MAX_SIMULATED_DRIFT_PPM} ppm, "
            f"not {simulated_drift_ppm:g}"
        )
    return replace(
        output, simulated_drift_ppm=simulated_drift_ppm, drift_correction=drift_correction
    )


def _parse_kind(value: str, network_caching_ms: int) -> AudioOutput:
    if network_caching_ms < 0 or network_caching_ms > 60_000:
        raise ValueError(f"network caching must be 0..60000 ms, not {network_caching_ms}")
    text = value.strip()
    name, sep, target = text.partition(":")
    try:
        kind = OutputKind(name.lower())
    except ValueError:
        raise ValueError(f"unknown audio output {value!r}: {USAGE}") from None
    if kind in (OutputKind.DEFAULT, OutputKind.NONE):
        if sep:
            raise ValueError(f"audio output {kind.value!r} takes no argument, got {value!r}")
        return AudioOutput(kind, "", network_caching_ms)
    if kind is OutputKind.PULSE:
        if any(ch.isspace() for ch in target):
            raise ValueError(f"sound server sink names contain no spaces: {target!r}")
        return AudioOutput(kind, target, network_caching_ms)
    if not target.strip():
        what = "an ALSA device name" if kind is OutputKind.ALSA else "a file path"
        raise ValueError(f"audio output {kind.value!r} needs {what}: {kind.value}:...; {USAGE}")
    if any(ch.isspace() for ch in target) and kind is OutputKind.ALSA:
        raise ValueError(f"ALSA device names contain no spaces: {target!r}")
    if kind in (OutputKind.AFILE, OutputKind.CAPTURE):
        path = Path(target).expanduser()
        if path.is_dir():
            raise ValueError(f"{kind.value} output needs a file path, {target!r} is a directory")
        # Absolute: libVLC resolves relative names against whatever its cwd is at open time.
        target = str(path.absolute())
    return AudioOutput(kind, target, network_caching_ms)
