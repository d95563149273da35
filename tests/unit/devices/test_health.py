"""health.json and the status line: what an operator reads about a receiver's background tasks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from devices.check import check_running
from devices.health import HEALTH_FILE, HealthFile, read_health, status_line
from taskowner import TaskHealth

EMFILE = "OSError: [Errno 24] Too many open files"
SAVING = TaskHealth("receiver session saving", True, 4, EMFILE, 100.0)
WATCH = TaskHealth("advertise abc interfaces", False, 1, EMFILE, None)


def test_the_status_line_names_only_the_failing_tasks() -> None:
    assert status_line([WATCH]) == "background tasks running"
    assert status_line([SAVING, WATCH]) == (
        f"FAILING: receiver session saving ({EMFILE}; 4 failures, started again each time)"
    )


def test_the_file_tells_check_about_this_running_process(tmp_path: Path) -> None:
    tasks = [WATCH]
    health = HealthFile(tmp_path, lambda: tasks)
    calls: list[int] = []
    health.watch(lambda: calls.append(1))
    health.write()
    assert check_running(tmp_path).ok
    tasks.append(SAVING)
    health.changed()
    assert calls == [1]
    running = read_health(tmp_path)
    assert running is not None
    assert running.pid == os.getpid()
    assert running.tasks == (WATCH, SAVING)
    result = check_running(tmp_path)
    assert not result.ok
    assert result.detail.startswith(f"pid {os.getpid()}: FAILING: receiver session saving")
    health.remove()
    assert read_health(tmp_path) is None


def test_a_file_left_by_a_receiver_that_is_gone_reports_nothing(tmp_path: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    record = {"pid": int(gone.stdout), "written": 0, "tasks": [SAVING.__dict__]}
    (tmp_path / HEALTH_FILE).write_text(json.dumps(record))
    assert read_health(tmp_path) is None  # the power went while a task failed: stale
    assert check_running(tmp_path).ok
    (tmp_path / HEALTH_FILE).write_text("{not json")
    assert read_health(tmp_path) is None


def test_a_write_that_fails_is_logged_once(tmp_path: Path, caplog) -> None:
    health = HealthFile(tmp_path / "missing" / "dir", lambda: [SAVING])
    health.write()
    health.write()
    assert caplog.text.count("could not write") == 1
