"""Which audio codecs this receiver's libVLC decodes: the codec list its DeviceInfo offers.

libVLC 3 has no call that lists its decoders, so the probe looks for the decoder plugins in
the plugin folder of the libVLC loaded (next to libvlccore, or `VLC_PLUGIN_PATH`). Without a
folder to look in (libVLC not loaded, another layout) it offers what Debian's
vlc-plugin-base decodes. The names are connect/media_formats.py's, which maps each file
format to the codecs it may hold, so the controller and this list agree.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

from connect.media_formats import CODECS, legacy_codec_names

_LOGGER = logging.getLogger(__name__)

# Any of these decoder plugins decodes the codec (libavcodec decodes them all).
_DECODERS = {
    "wav": ("araw",),
    "mp3": ("mpg123", "mad", "avcodec"),
    "aac": ("faad", "avcodec"),
    "alac": ("avcodec",),
    "flac": ("flac", "avcodec"),
    "vorbis": ("vorbis", "avcodec"),
    "opus": ("opus", "avcodec"),
}
# What Debian's vlc-plugin-base decodes (mpg123, flac, vorbis, opus, libavcodec for aac, alac).
DEBIAN_CODECS = CODECS


@functools.cache
def offered_codecs() -> tuple[str, ...]:
    """Return the codec names this receiver offers (with protocol 1.0's alias for Vorbis)."""
    folder = plugin_folder()
    codecs = codecs_in(folder) if folder is not None else DEBIAN_CODECS
    _LOGGER.debug("decoders found in %s: %s", folder or "(no plugin folder)", ", ".join(codecs))
    return legacy_codec_names(codecs)


def codecs_in(folder: Path) -> tuple[str, ...]:
    """Return the codecs the decoder plugins under *folder* decode, in CODECS order."""
    codec_folder = folder / "codec"
    found = (
        {p.name for p in codec_folder.glob("lib*_plugin.so")} if codec_folder.is_dir() else set()
    )
    return tuple(
        codec
        for codec in CODECS
        if any(f"lib{plugin}_plugin.so" in found for plugin in _DECODERS[codec])
    )


def plugin_folder() -> Path | None:
    """Return libVLC's plugin folder, None if it cannot be found."""
    configured = os.environ.get("VLC_PLUGIN_PATH")
    if configured:
        return Path(configured.split(os.pathsep)[0])
    try:
        import vlc  # noqa: F401  (loads libvlc and libvlccore into this process)
    except (ImportError, OSError, NotImplementedError):
        return None
    try:
        maps = Path("/proc/self/maps").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in maps.splitlines():
        path = line.split(maxsplit=5)[-1] if line.count(" ") >= 5 else ""
        if "/libvlccore.so" in path:
            folder = Path(path).parent / "vlc" / "plugins"
            return folder if folder.is_dir() else None
    return None
