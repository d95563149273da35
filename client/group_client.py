"""Groups for `baton` and the app: requests to this user's group keeper (client/group_keeper.py),
which is started, detached, when a request needs it and none runs.

`GroupClient(interfaces=..., connect=..., timeout=...)` takes the device-finding options of the
command (or the app's); `async_group(refs)`, `async_ungroup(ref)` and `async_member_volume(ref,
volume)` start a keeper if none answers; `async_groups()` never does (no keeper: no group is
kept). A refusal comes back as the error the keeper caught (GroupRefusedError naming the device
and why, NotPairedError, DeviceNotFoundError); a keeper that cannot be reached or started is a
KeeperError saying why and where its log is.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from client.keeper_protocol import (
    INGEST_ENV,
    LINE_LIMIT,
    KeeperDirError,
    keeper_dir,
    lock_path,
    log_path,
    raise_failure,
    socket_path,
)
from client.targets import CommandFailed
from client.transfer_json import options_json, outcome_from_json
from connect.group.reports import GroupReport, GroupView
from connect.transfer.coordination import TransferOutcome
from connect.wire import messages as m

START_TIMEOUT_S = 10.0  # a keeper imports the controller and listens: ~0.5 s on a slow machine
ANSWER_TIMEOUT_S = 60.0  # finding devices, then every join's outcome (each bounded by the keeper)
_RESTART_PAUSE_S = 0.1


class KeeperError(CommandFailed):
    """The group keeper cannot be reached or started; the message says why."""


class GroupClient:
    """Requests to this user's group keeper, with one command's device-finding options."""

    def __init__(
        self,
        *,
        interfaces: Sequence[str] = (),
        connect: Sequence[str] = (),
        timeout: float | None = None,
        trace_endpoint: str = "",
        trace_user: str = "",
        trace_token: str = "",
    ) -> None:
        self.interfaces, self.connect, self.timeout = list(interfaces), list(connect), timeout
        # Where a keeper this starts sends its traces (else its environment says, if anything).
        self.trace = (trace_endpoint, trace_user, trace_token)

    async def async_group(self, refs: Sequence[str]) -> GroupReport:
        """Group the devices *refs* names (the first leads, or all join the group one plays in)."""
        answer = await self._ask({"op": "group", "devices": list(refs)})
        return GroupReport.from_json(answer["report"])

    async def async_ungroup(self, ref: str) -> GroupView | None:
        """Take *ref* out of its group; return the group as it stands after (None: it ended)."""
        answer = await self._ask({"op": "ungroup", "device": ref})
        return GroupView.from_json(answer["group"]) if answer.get("group") else None

    async def async_member_volume(self, ref: str, volume: int) -> GroupView | None:
        """Set member *ref*'s own volume; return its group as it stands after."""
        answer = await self._ask({"op": "volume", "device": ref, "volume": volume})
        return GroupView.from_json(answer["group"]) if answer.get("group") else None

    async def async_transfer(
        self, source: str, target: str, options: m.TransferOptions
    ) -> tuple[str, TransferOutcome]:
        """Move the music of *source* (a group's member: its whole group) to *target* through
        the keeper (client/group_moves.py); return what it resolved, in words, and the outcome."""
        answer = await self._ask({"op": "transfer", "source": source, "target": target,
                                  "options": options_json(options)})  # fmt: skip
        return str(answer.get("said") or ""), outcome_from_json(answer["outcome"])

    async def async_groups(self) -> list[GroupView]:
        """Return the groups the keeper keeps ([] when no keeper runs; none is started)."""
        answer = await self._exchange({"op": "groups"})
        if answer is None:
            return []
        if not answer.get("ok"):
            raise_failure(answer)
        return [GroupView.from_json(x) for x in answer["groups"]]

    async def async_stop(self) -> bool:
        """Ask a running keeper to stop; return whether one was running."""
        return await self._exchange({"op": "stop"}) is not None

    # -------------------------------------------------------------------------- internals

    async def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send *request* (with this command's options), starting a keeper when none answers."""
        request |= {"interfaces": self.interfaces, "connect": self.connect}
        if self.timeout is not None:
            request["timeout"] = self.timeout
        for _ in range(3):  # absent: start one; "restart": it exits, start another
            answer = await self._exchange(request)
            if answer is not None and answer.get("code") != "restart":
                if not answer.get("ok"):
                    raise_failure(answer)
                return answer
            await self._start()
        raise KeeperError(f"the group keeper did not stay up; see {self._log()}")

    async def _exchange(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """Return the keeper's answer to *request*, or None when no keeper listens."""
        # Asking makes no directory: without one, no keeper runs (`_start` makes it).
        path = socket_path(keeper_dir(create=False))
        try:
            reader, writer = await asyncio.open_unix_connection(str(path), limit=LINE_LIMIT)
        except (FileNotFoundError, ConnectionRefusedError):
            return None  # none runs, or one died and left its socket
        except OSError as exc:
            raise KeeperError(f"cannot reach the group keeper at {path}: {exc}") from exc
        try:
            writer.write(json.dumps(request).encode() + b"\n")
            await writer.drain()
            async with asyncio.timeout(ANSWER_TIMEOUT_S):
                line = await reader.readline()
        except (OSError, TimeoutError, ValueError) as exc:
            raise KeeperError(
                f"the group keeper did not answer ({exc}); see {self._log()}"
            ) from exc
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        if not line:
            raise KeeperError(f"the group keeper went away mid-request; see {self._log()}")
        try:
            answer = json.loads(line)
        except ValueError as exc:
            raise KeeperError(f"the group keeper's answer cannot be read: {exc}") from exc
        if not isinstance(answer, dict):
            raise KeeperError("the group keeper's answer cannot be read")
        return answer

    async def _start(self) -> None:
        """Start a keeper, detached, and return once it listens (or another one does)."""
        directory = self._dir()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT_S
        while True:
            said = await self._spawn(directory, deadline)
            if said == "ready":
                return
            if said != "running":
                log = log_path(directory)
                raise KeeperError(f"the group keeper did not start{_tail(log)}; see {log}")
            # Another keeper holds the lock: one another command started, listening within
            # moments, or one told to restart, letting go within moments. Wait for whichever
            # comes first: it answers, or the lock is free to start ours.
            while not _lock_free(directory):
                if await self._exchange({"op": "ping"}) is not None:
                    return
                if loop.time() > deadline:
                    raise KeeperError(f"another group keeper holds {directory} and does not answer")
                await asyncio.sleep(_RESTART_PAUSE_S)  # another process's doing: no event here

    async def _spawn(self, directory: Path, deadline: float) -> str:
        """Start one keeper process; return what it said on its ready pipe ("" if it died)."""
        read_fd, write_fd = os.pipe()
        command = [sys.executable, "-m", "client.group_keeper", "--ready-fd", str(write_fd)]
        for interface in self.interfaces:
            command += ["--interface", interface]
        endpoint, user, token = self.trace
        command += ["--trace-endpoint", endpoint] if endpoint else []
        command += ["--trace-user", user] if user else []
        env = os.environ | ({INGEST_ENV: token} if token else {})  # a secret: not argv
        try:
            launcher = _detached(command, log_path(directory), write_fd, env)
        except OSError as exc:
            os.close(read_fd)
            raise KeeperError(f"cannot start the group keeper: {exc}") from exc
        finally:
            os.close(write_fd)
        await asyncio.to_thread(launcher.wait)  # it forks the keeper and exits at once
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        pipe = os.fdopen(read_fd, "rb", buffering=0)
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), pipe
        )
        try:
            async with asyncio.timeout(max(0.0, deadline - loop.time())):
                return (await reader.readline()).decode().strip()
        except TimeoutError:
            return ""
        finally:
            transport.close()

    def _dir(self) -> Path:
        try:
            return keeper_dir()
        except KeeperDirError as exc:
            raise KeeperError(f"the group keeper cannot run: {exc}") from exc

    def _log(self) -> Path:
        return log_path(keeper_dir(create=False))


def _detached(
    command: list[str], log: Path, ready_fd: int, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """Start *command*, its output appended to *log*; it detaches itself (`--detach`: it forks,
    the child carries on in a session of its own, the parent exits at once and is reaped by
    the caller), so the keeper is never a child of a long-lived caller (the app) left a zombie.

    Not asyncio's subprocess: its transport kills a child still running when it closes."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [*command, "--detach"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            pass_fds=(ready_fd,),
            env=env,
        )


def _lock_free(directory: Path) -> bool:
    """Say whether no keeper holds the lock (taking it for an instant to see)."""
    try:
        fd = os.open(lock_path(directory), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing lets go of a lock taken
    return True


def _tail(log: Path, lines: int = 3) -> str:
    """Return the last *lines* of the keeper's log as ": ..." (empty if there is none)."""
    try:
        text = log.read_text(errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return ""
    return (": " + " / ".join(text)) if text else ""
