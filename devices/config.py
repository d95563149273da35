"""The receiver's settings: a TOML file (`--config`) overlaid by command-line flags (flags win)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from connect.atomic import not_text
from connect.wire.messages import DeviceType, PairingMode
from devices.audio_output import MAX_SIMULATED_DRIFT_PPM
from devices.errors import ReceiverError
from devices.resume import parse_duration

DEVICE_TYPES = ("speaker", "car", "tv", "computer", "avr")
PAIRING_MODES = ("pin", "open")


class ConfigError(ReceiverError, ValueError):
    """A setting is missing, unknown or out of range; the message names it."""


@dataclass(frozen=True)
class ReceiverConfig:
    """Everything a receiver needs to start."""

    name: str = "Baton Receiver"
    type: str = "speaker"
    port: int = 0  # 0: any free port
    interfaces: tuple[str, ...] = ()  # names or addresses; empty: every suitable interface
    audio_output: str = "default"  # default | alsa:DEVICE | afile:PATH | none
    # capture:PATH only: the simulated converter's clock error in ppm (None: an ideal one), and
    # whether the receiver corrects its drift (devices/_converter.py)
    simulated_drift: float | None = None
    drift_correction: bool = True
    state_dir: Path = Path("/var/lib/baton")
    initial_volume: int = 50
    max_volume: int = 100
    pairing: str = "pin"  # pin | open (docs/security.md)
    resume_window: float = 1800.0  # seconds; 0: never resume at start (devices/resume.py)
    checkpoint_interval: float = 15.0  # seconds between position saves while playing; 0: none
    trace_endpoint: str = ""  # collector URL (`baton-traces serve`); empty: no tracing
    trace_user: str = ""  # the trace viewer user whose devices include this one
    trace_token: str = ""  # the collector's ingest token (`baton-traces ingest add USER`)

    @property
    def device_type(self) -> DeviceType:
        """Return the protocol's device type."""
        return DeviceType[self.type.upper()]

    @property
    def pairing_mode(self) -> PairingMode:
        """Return the protocol's pairing mode."""
        return PairingMode[self.pairing.upper()]


_FIELDS = {f.name for f in fields(ReceiverConfig)}


def read_config_file(path: Path) -> dict[str, Any]:
    """Read a TOML config file into raw settings; raise ConfigError on any problem."""
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} {not_text(exc)}: save it as UTF-8") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
    # A [receiver] table is accepted too, so one file can hold more sections later.
    settings = raw.get("receiver", raw)
    unknown = sorted(set(settings) - {k.replace("_", "-") for k in _FIELDS} - _FIELDS)
    if unknown:
        raise ConfigError(f"config file {path}: unknown setting(s): {', '.join(unknown)}")
    return {key.replace("-", "_"): value for key, value in settings.items()}


def build_config(file_settings: dict[str, Any], flags: dict[str, Any]) -> ReceiverConfig:
    """Merge file settings and flags (flags that are not None win) and validate the result."""
    merged = {**file_settings, **{k: v for k, v in flags.items() if v is not None}}
    try:
        config = ReceiverConfig(
            name=str(merged.get("name", ReceiverConfig.name)),
            type=str(merged.get("type", ReceiverConfig.type)).lower(),
            port=int(merged.get("port", 0)),
            interfaces=tuple(str(i) for i in merged.get("interfaces", ()) or ()),
            audio_output=str(merged.get("audio_output", ReceiverConfig.audio_output)),
            simulated_drift=_optional_float(merged.get("simulated_drift")),
            drift_correction=_on_off(merged.get("drift_correction", True)),
            state_dir=Path(merged.get("state_dir", ReceiverConfig.state_dir)),
            initial_volume=int(merged.get("initial_volume", ReceiverConfig.initial_volume)),
            max_volume=int(merged.get("max_volume", ReceiverConfig.max_volume)),
            pairing=str(merged.get("pairing", ReceiverConfig.pairing)).lower(),
            resume_window=parse_duration(merged.get("resume_window", ReceiverConfig.resume_window)),
            checkpoint_interval=parse_duration(
                merged.get("checkpoint_interval", ReceiverConfig.checkpoint_interval)
            ),
            trace_endpoint=str(merged.get("trace_endpoint", "")).strip(),
            trace_user=str(merged.get("trace_user", "")).strip(),
            trace_token=str(merged.get("trace_token", "")).strip(),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"bad setting: {exc}") from None
    _validate(config)
    return config


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _on_off(value: Any) -> bool:
    """Return a switch's state from a TOML boolean or on/off (the flag's words)."""
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("on", "off"):
        return str(value).lower() == "on"
    raise ValueError(f"expected on or off, not {value!r}")


def check_name(name: str) -> str:
    """Return *name* if it can be a device name (1 to 63 bytes, not blank); else ConfigError."""
    if not name.strip() or len(name.encode()) > 63:
        raise ConfigError("name must be 1 to 63 bytes (an mDNS instance-name limit)")
    return name


def _validate(config: ReceiverConfig) -> None:
    check_name(config.name)
    if config.type not in DEVICE_TYPES:
        raise ConfigError(f"type must be one of {', '.join(DEVICE_TYPES)}, not {config.type!r}")
    if not 0 <= config.port <= 65535:
        raise ConfigError(f"port must be 0..65535, not {config.port}")
    for setting in ("initial_volume", "max_volume"):
        value = getattr(config, setting)
        if not 0 <= value <= 100:
            raise ConfigError(f"{setting.replace('_', '-')} must be 0..100, not {value}")
    if config.trace_endpoint and not config.trace_endpoint.startswith(("http://", "https://")):
        raise ConfigError(
            f"trace-endpoint must be an http:// or https:// URL, not {config.trace_endpoint!r}"
        )
    if config.simulated_drift is not None:
        if not config.audio_output.lower().startswith("capture:"):
            raise ConfigError("simulated-drift needs a capture:PATH audio output")
        if not abs(config.simulated_drift) <= MAX_SIMULATED_DRIFT_PPM:
            raise ConfigError(
                f"simulated-drift must be within ±{MAX_SIMULATED_DRIFT_PPM} ppm, "
                f"not {config.simulated_drift:g}"
            )
    if config.pairing not in PAIRING_MODES:
        raise ConfigError(f"pairing must be pin or open, not {config.pairing!r}")
