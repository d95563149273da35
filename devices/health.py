"""Whether a running receiver's background tasks are well, told to whoever looks after it.

The loops a receiver lives on (saving the session, watching the token file and the network
interfaces, checkpoints) are supervised (taskowner): one that fails is started again with
backoff. Someone must still hear that it keeps failing, and it is the operator, not a
controller (a controller can do nothing about a receiver's disk or descriptors). So:

* `systemctl status baton-receiver` shows it in the service's status line (devices/service.py
  sends `status_line()` to systemd whenever a task fails or runs again);
* `baton-receiver --check` reads it from `health.json` in the state directory, which the
  running receiver rewrites at each change (`HealthFile`) with its pid, so a file left by a
  receiver that is gone is recognised as such (`read_health`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from taskowner import TaskHealth

_LOG = logging.getLogger(__name__)

HEALTH_FILE = "health.json"


def failing(health: Sequence[TaskHealth]) -> list[TaskHealth]:
    """Return the tasks failing now."""
    return [task for task in health if task.failing]


def status_line(health: Sequence[TaskHealth]) -> str:
    """Say in one line which background tasks fail, or that none does."""
    bad = failing(health)
    if not bad:
        return "background tasks running"
    return "FAILING: " + "; ".join(
        f"{task.name} ({task.error}; {task.failures} failures, started again each time)"
        for task in bad
    )


class HealthFile:
    """Keeps `health.json` in a state directory true for a running receiver."""

    def __init__(self, state_dir: Path, health: Callable[[], Sequence[TaskHealth]]) -> None:
        self._path = state_dir / HEALTH_FILE
        self._health = health
        self._listeners: list[Callable[[], None]] = []
        self._failed_write = ""

    def watch(self, listener: Callable[[], None]) -> None:
        """Call *listener* after each change (the service updates systemd's status line)."""
        self._listeners.append(listener)

    def changed(self) -> None:
        """A task failed or runs again: rewrite the file, tell the listeners."""
        self.write()
        for listener in list(self._listeners):
            listener()

    def write(self) -> None:
        """Write the file now (a failure is logged once, and retried at the next change)."""
        tasks = [asdict(task) for task in self._health()]
        record = {"pid": os.getpid(), "tasks": tasks}
        temporary = self._path.with_name(f".{HEALTH_FILE}.tmp")
        try:
            temporary.write_text(json.dumps(record, indent=1) + "\n")
            temporary.replace(self._path)  # no fsync: a status, rewritten at the next change
        except OSError as exc:
            if str(exc) != self._failed_write:  # the cause (no descriptor left) repeats
                _LOG.warning("could not write %s: %s", self._path, exc)
            self._failed_write = str(exc)
            return
        self._failed_write = ""

    def remove(self) -> None:
        """The receiver stops: nothing left to report."""
        with contextlib.suppress(OSError):
            self._path.unlink()


@dataclass(frozen=True)
class RunningHealth:
    """What `health.json` says about a running receiver."""

    pid: int
    tasks: tuple[TaskHealth, ...]


def read_health(state_dir: Path) -> RunningHealth | None:
    """Return the health of the receiver running on *state_dir*, None if none runs there."""
    try:
        record = json.loads((state_dir / HEALTH_FILE).read_text())
        pid = int(record["pid"])
        tasks = tuple(TaskHealth(**task) for task in record["tasks"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no file, or one this version cannot read: nothing to say
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # left by a receiver that is gone (killed, or the power went)
    except PermissionError:
        pass  # it runs, as another user
    return RunningHealth(pid, tasks)
