"""A controller program's lifeline in traces: its own stable device id, and a name with the host.

The app and the `baton` CLI present one client id to devices (pairings are shared), but in a
trace each is a process of its own: were they one lifeline, its name would change with every
run ("Baton on Sofa TV", then "baton transfer") and a reply to one would be drawn to the other.
So each program on each host traces as its own device: the id is derived from the program,
the host and the configuration directory (the user), so it is the same on every run without
writing anything, and differs between two users or two hosts sharing a home directory.
"""

from __future__ import annotations

import hashlib

from connect.access.credentials import config_dir
from connect.controller import host_name

PROGRAMS = {"app": "Baton app", "cli": "baton CLI"}
_DOMAIN = b"baton.controller.lifeline/v1\x00"


def controller_lifeline(program: str, host: str = "", directory: str = "") -> tuple[str, str]:
    """Return (device id, name) of *program* ("app" or "cli") on this host, for its traces.

    *host* and *directory* default to this machine's short host name and the controller's
    configuration directory; raise ValueError for an unknown program.
    """
    if program not in PROGRAMS:
        raise ValueError(f"program must be one of {', '.join(PROGRAMS)}, not {program!r}")
    host = host or host_name()
    directory = directory or str(config_dir())
    seed = "\0".join((program, host, directory)).encode()
    digest = hashlib.sha256(_DOMAIN + seed).hexdigest()[:20]
    return f"ctl-{program}-{digest}", f"{PROGRAMS[program]} on {host}"
