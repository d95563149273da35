"""Replace a small file so that a crash or power cut leaves either the old or the new one whole."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write *data* to *path* with *mode*: temporary file, fsync, rename, fsync of the folder.

    The temporary file is made with mode 0600 and only then given *mode*, so a secret is never
    readable by others, not even for a moment. Raises OSError (a full disk: ENOSPC) with the
    old file untouched and no temporary file left behind.
    """
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fchmod(out.fileno(), mode)
            os.fsync(out.fileno())
        Path(temporary).replace(path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # makes the rename itself durable
        finally:
            os.close(directory)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise
