"""pyatv, as the AirPlay bridge uses it: a connection to one RAOP service, and two fixes.

1. pyatv announces its stream as L16 PCM *and* adds an ALAC `fmtp` line; shairport-sync before
   4.0 (Debian 12's 3.3.8) takes the `fmtp` for ALAC and decodes the PCM as noise. L16 needs no
   `fmtp` (RFC 3551), so the bridge announces without it.
2. pyatv reads a piped stream's tags with tinytag and logs an ERROR with a traceback on the root
   logger when there are none (there never are in ffmpeg's piped FLAC); the bridge gives the
   metadata itself, so that one record is dropped.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging

import pyatv
from pyatv import conf
from pyatv.const import Protocol
from pyatv.interface import AppleTV
from pyatv.support import rtsp

__all__ = ["DEFAULT_PROPERTIES", "async_connect"]

# What a plain RAOP receiver takes when its TXT record is not known (named by address only):
# unencrypted 44.1 kHz 16-bit stereo, PCM or ALAC, over UDP.
DEFAULT_PROPERTIES = {"et": "0", "cn": "0,1", "ch": "2", "sr": "44100", "ss": "16", "tp": "UDP"}


def _without_fmtp(payload: str) -> str:
    lines = [line for line in payload.split("\r\n") if line and not line.startswith("a=fmtp:")]
    return "".join(f"{line}\r\n" for line in lines)


class _NoTagsFilter(logging.Filter):
    """Drops pyatv's "Failed to parse metadata" record (see the module docstring, 2)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "root" and record.getMessage() == "Failed to parse metadata")


def _install() -> None:
    rtsp.ANNOUNCE_PAYLOAD = _without_fmtp(rtsp.ANNOUNCE_PAYLOAD)
    root = logging.getLogger()
    if not any(isinstance(f, _NoTagsFilter) for f in root.filters):
        root.addFilter(_NoTagsFilter())


_install()


async def async_connect(
    host: str, port: int, identifier: str, name: str, properties: dict[str, str]
) -> AppleTV:
    """Return pyatv's device for the RAOP service at *host* (an address):*port* (nothing is
    sent yet)."""
    config = conf.AppleTV(ipaddress.ip_address(host), name)  # type: ignore[arg-type]
    config.add_service(conf.ManualService(identifier, Protocol.RAOP, port, properties))
    return await pyatv.connect(config, asyncio.get_running_loop())
