"""Give memory the receiver freed back to the system.

glibc keeps what a process frees for its next allocations, and returns it only from the top of
its heap: after a long queue's transient copies (an upload, a save) the receiver's resident
size would stay at its peak though Python freed them. `malloc_trim(0)` hands the free pages
back. Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    return trim


def release_freed_memory() -> None:
    """Return the heap's free pages to the system (glibc); a no-op elsewhere."""
    trim = _trim()
    if trim is not None:
        trim(0)
