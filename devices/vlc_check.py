"""Preflight of libVLC: is the library there, and can it load its plugins?"""

from __future__ import annotations

import logging

from devices.errors import LIBVLC_PACKAGES, LibVLCUnavailableError

_LOGGER = logging.getLogger(__name__)

_INSTALL_HINT = f"install them with: apt-get install --no-install-recommends {LIBVLC_PACKAGES}"


def check_libvlc() -> str:
    """Return the installed libVLC's version string, or raise LibVLCUnavailableError."""
    try:
        import vlc
    except (ImportError, OSError, NotImplementedError) as exc:
        # python-vlc raises NotImplementedError itself when it finds no libvlc.so at all.
        raise LibVLCUnavailableError(
            f"the python-vlc binding cannot load libVLC ({exc}); {_INSTALL_HINT}"
        ) from exc
    try:
        # `import vlc` succeeds even without libvlc.so (ctypes then opens the program itself),
        # so the first real call is the test: it raises NameError when the symbol is missing.
        raw = vlc.libvlc_get_version()
    except (NameError, AttributeError, OSError) as exc:
        raise LibVLCUnavailableError(f"libVLC is not installed ({exc}); {_INSTALL_HINT}") from exc
    version = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    # Without vlc-plugin-base the library loads but has no modules: Instance() returns None.
    instance = vlc.Instance(["--intf=dummy", "--no-video", "--no-lua", "--aout=adummy"])
    if instance is None:
        raise LibVLCUnavailableError(
            f"libVLC {version} is installed but cannot start (its plugins are missing); "
            f"{_INSTALL_HINT}"
        )
    instance.release()
    _LOGGER.debug("libVLC %s is usable", version)
    return version
