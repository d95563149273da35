"""The process's limit on open descriptors: every connection costs one.

systemd gives a service a soft limit of 1 024 (and a hard one of 524 288 since v240); a server
that keeps its connections under a cap still wants the soft limit out of the way, so that
files, libVLC and mDNS never compete with clients for the last descriptors.
"""

from __future__ import annotations

import logging
import resource

_LOG = logging.getLogger(__name__)


def descriptor_limit() -> int:
    """Return the soft limit on open descriptors."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def raise_descriptor_limit() -> int:
    """Raise the soft limit on open descriptors to the hard limit where allowed; return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == hard:
        return descriptor_limit()
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError) as exc:  # a sandbox may refuse; the old limit still works
        _LOG.info("open descriptors: staying at %d (%s)", soft, exc)
        return descriptor_limit()
    _LOG.debug("open descriptors: soft limit raised from %d to %d", soft, hard)
    return descriptor_limit()
