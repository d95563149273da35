"""Small state files: replace one so that a crash or power cut leaves the old or the new one
whole, and say in words why one could not be read as text."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def not_text(exc: UnicodeDecodeError) -> str:
    """Return what a decoding failure means for a file: "is not UTF-8 text (byte 0xff at 12)".

    For the refusals that name a state file: the reader adds the file and what to do.
    """
    encoding = "UTF-8" if exc.encoding.replace("-", "").lower() == "utf8" else exc.encoding.upper()
    byte = exc.object[exc.start] if exc.start < len(exc.object) else None
    where = f"byte 0x{byte:02x} at offset {exc.start}" if byte is not None else "its last bytes"
    return f"is not {encoding} text ({where})"


def write_atomically(path: Path, data: bytes | Iterable[bytes], mode: int = 0o644) -> None:
    """Write *data* (bytes, or parts of them in order) to *path* with *mode*: temporary file,
    fsync, rename, fsync of the folder.

    The temporary file is made with mode 0600 and only then given *mode*, so a secret is never
    readable by others, not even for a moment. Raises OSError (a full disk: ENOSPC) with the
    old file untouched and no temporary file left behind.
    """
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in (data,) if isinstance(data, bytes) else data:
                out.write(part)
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
