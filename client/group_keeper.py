"""`baton group-keeper`: the process that keeps this user's groups while they play.

A group outlives the command that formed it: its followers must get the leader's timeline at
every change and every few seconds, from the controller that coordinates it. So `baton group`
(client/group_client.py) hands groups to one keeper per user: a Controller and its
GroupCoordinator (connect/group/coordinator.py) in a process of its own, started detached by
the first command that needs it, finding devices as every `baton` command does (where each was
last reached, else mDNS on the interfaces it was given, or at the addresses a request names)
with the same credentials.

It listens on a unix socket in $XDG_RUNTIME_DIR/baton/ (else a directory of this user's in the
temporary directory), mode 0700, and answers requests of one JSON object a line with one JSON
object a line (`keeper_protocol.py` says what each holds). One keeper at a time: it holds a lock
file while it runs, so a socket left by one that died is stale and is removed. It exits by itself
once it has kept no group for IDLE_S seconds (the devices play on, alone, as they were left).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import gc
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from client.keeper_protocol import (
    INGEST_ENV,
    LINE_LIMIT,
    bad_request,
    failure_answer,
    keeper_dir,
    kept_path,
    lock_path,
    socket_path,
)
from connect.atomic import write_atomically
from connect.errors import ConnectError

if TYPE_CHECKING:
    from connect.controller import Controller
    from tracing.setup import Tracing

_LOG = logging.getLogger("client.group_keeper")

IDLE_S = 60.0
"""A keeper that has kept no group for this long exits."""
IDLE_CHECK_S = 1.0
KEPT_IDS = 32  # group ids noted for the next keeper
_OPS = frozenset({"ping", "stop", "groups", "group", "ungroup", "volume", "transfer"})


class Keeper:
    """One keeper: its controller, its groups, its socket (see the module docstring)."""

    def __init__(
        self, interfaces: Sequence[str], *, idle_s: float = IDLE_S, controller: Any = None
    ) -> None:
        self.interfaces = list(interfaces)
        self.idle_s = idle_s
        self.stopped = asyncio.Event()
        self._busy = 0  # requests being answered
        self._kept: list[str] = []  # the group ids noted for the next keeper
        self._kept_file = Path()
        self._last_busy = time.monotonic()
        self.controller: Controller
        if controller is not None:  # a test's
            self.controller = controller
            return
        from client.targets import controller_identity
        from connect.access import CredentialStore
        from connect.controller import Controller
        from connect.discovery.last_reached import LastReached
        from connect.session import async_lean_dial

        store = CredentialStore()
        self.controller = Controller(
            controller_identity(store),
            interfaces=self.interfaces,
            credentials=store,
            last_reached=LastReached(store.directory),
            dial=async_lean_dial,
        )

    async def async_serve(
        self, path: Path, ready_fd: int | None = None, lock_fd: int | None = None
    ) -> None:
        """Listen on *path* until stopped or idle; say so on *ready_fd* once listening; let go
        of *lock_fd* once the socket is gone, so the next keeper need not wait for this one's
        sessions to close."""
        await self.controller.async_start(browse_now=False)  # browse only to find a device
        self._kept_file = kept_path(path.parent)
        self._kept = _read_kept(self._kept_file)
        self.controller.remember_groups(self._kept)  # a keeper before this one formed them
        _remove(path)  # stale: we hold the lock, so no keeper listens there
        # Only this user may connect: the directory is 0700 (keeper_protocol.keeper_dir).
        server = await asyncio.start_unix_server(self._client, path=str(path), limit=LINE_LIMIT)
        _LOG.info("keeping groups at %s (pid %d)", path, os.getpid())
        if ready_fd is not None:
            os.write(ready_fd, b"ready\n")
            os.close(ready_fd)
        idle = asyncio.get_running_loop().create_task(self._exit_when_idle())
        try:
            await self.stopped.wait()
        finally:
            idle.cancel()
            server.close()
            _remove(path)
            if lock_fd is not None:
                fcntl.flock(lock_fd, fcntl.LOCK_UN)
            await self.controller.async_close()
            _LOG.info("stopped")

    async def _exit_when_idle(self) -> None:
        """Stop once no group was kept and no request answered for `idle_s` seconds."""
        while True:
            self._note_kept()
            if self._busy or self.controller.groups():
                self._last_busy = time.monotonic()
            elif time.monotonic() - self._last_busy >= self.idle_s:
                _LOG.info("no group kept for %g s: exiting", self.idle_s)
                self.stopped.set()
                return
            await asyncio.sleep(IDLE_CHECK_S)

    def _note_kept(self) -> None:
        """Note the ids of the groups kept now, with those noted before (the newest KEPT_IDS),
        should this keeper die while they play."""
        kept = list(dict.fromkeys([*self._kept, *(g.group_id for g in self.controller.groups())]))
        kept = kept[-KEPT_IDS:]
        if kept != self._kept:
            self._kept = kept
            try:
                write_atomically(self._kept_file, json.dumps(kept).encode())
            except OSError as exc:
                _LOG.warning("cannot note the groups kept in %s: %s", self._kept_file, exc)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer each request line of one connection until it closes."""
        try:
            while True:
                try:
                    line = await reader.readline()
                except ValueError:  # over LINE_LIMIT: its answer, then the connection ends
                    writer.write(_line(bad_request("the request is too long")))
                    break
                if not line:
                    break
                self._busy += 1
                try:
                    answer = await self.answer(line)
                finally:
                    self._busy -= 1
                    self._last_busy = time.monotonic()
                writer.write(_line(answer))
                await writer.drain()
        except ConnectionError:
            pass  # the command went away: nobody to answer
        finally:
            writer.close()

    async def answer(self, line: bytes) -> dict[str, Any]:
        """Return the answer to one request line (never raises for a request or a device)."""
        try:
            request = json.loads(line)
        except ValueError:
            return bad_request("a request is one JSON object a line")
        if not isinstance(request, dict) or not isinstance(request.get("op"), str):
            return bad_request('a request is a JSON object with an "op"')
        if request["op"] not in _OPS:
            return bad_request(f"unknown op {request['op']!r}")
        try:
            return await self._carry_out(request)
        except KeyError as exc:
            return bad_request(f"{request['op']}: bad request: {exc} is missing")
        except (TypeError, ValueError) as exc:
            return bad_request(f"{request.get('op')}: bad request: {exc}")
        except ConnectError as exc:
            return failure_answer(exc)

    async def _carry_out(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request["op"]
        if op == "ping":
            return {"ok": True, "pid": os.getpid(), "interfaces": self.interfaces}
        if op == "stop":
            self.stopped.set()
            return {"ok": True}
        if op == "groups":
            return {"ok": True, "groups": [g.as_json() for g in self.controller.groups()]}
        wanted = [str(x) for x in request.get("interfaces") or ()]
        if wanted and sorted(wanted) != sorted(self.interfaces):
            if not self.controller.groups():  # the caller starts one with its interfaces
                self.stopped.set()
                return {"ok": False, "code": "restart", "error": "restarting the keeper"}
            raise ValueError(
                f"the group keeper looks for devices on {', '.join(self.interfaces) or 'all'}"
                " interfaces and keeps groups: ungroup them first to use others"
            )
        await self._add_addresses(request.get("connect") or ())
        timeout = float(request.get("timeout") or 5.0)
        if op == "group":
            ids = [await self._find(str(ref), timeout) for ref in request["devices"]]
            report = await self.controller.async_group(ids, timeout=timeout)
            return {"ok": True, "report": report.as_json()}
        if op == "transfer":  # a group's music moved (client/group_moves.py)
            from client.group_moves import async_transfer_answer

            return await async_transfer_answer(self.controller, request, self._find, timeout)
        device_id = await self._find(str(request["device"]), timeout)
        was_in = [g.group_id for g in self.controller.groups() if g.member(device_id)]
        if op == "ungroup":
            await self.controller.async_ungroup(device_id)
        else:
            volume = request["volume"]
            if not isinstance(volume, int) or isinstance(volume, bool):
                raise TypeError("volume must be a whole number")
            await self.controller.async_member_volume(device_id, volume)
        # The group as it stands after (None: it ended with this step).
        after = [g.as_json() for g in self.controller.groups() if g.group_id in was_in]
        return {"ok": True, "group": after[0] if after else None}
        raise AssertionError(op)  # _OPS holds no other

    async def _add_addresses(self, addresses: Sequence[str]) -> None:
        from connect.controller import parse_host_port

        for text in addresses:
            host, port = parse_host_port(str(text))
            await self.controller.async_add_address(host, port)

    async def _find(self, ref: str, timeout: float) -> str:
        return (await self.controller.async_find(ref, timeout)).id


def _read_kept(path: Path) -> list[str]:
    """Return the group ids noted in *path* ([] when there is no such file or it is damaged)."""
    try:
        kept = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return []
    return [x for x in kept if isinstance(x, str)] if isinstance(kept, list) else []


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _line(answer: dict[str, Any]) -> bytes:
    return json.dumps(answer).encode() + b"\n"


def run_keeper(interfaces: Sequence[str], *, ready_fd: int | None = None) -> int:
    """Run a keeper in this process until it is idle or stopped; return the exit code.

    Exits at once (0) when another keeper of this user runs: it holds the lock."""
    directory = keeper_dir()
    lock = os.open(lock_path(directory), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("baton group-keeper: another keeper runs for this user", file=sys.stderr)
        if ready_fd is not None:
            os.write(ready_fd, b"running\n")
        return 0
    keeper = Keeper(interfaces, idle_s=float(os.environ.get("BATON_KEEPER_IDLE_S", IDLE_S)))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, keeper.stopped.set)
        await keeper.async_serve(socket_path(directory), ready_fd, lock)

    try:
        asyncio.run(main())
    finally:
        os.close(lock)  # the lock goes with it
    return 0


def add_keeper_command(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `baton group-keeper` (started by `baton group`; run it by hand to watch its log)."""
    keeper = sub.add_parser(
        "group-keeper",
        parents=[common],
        help="keep this user's groups in sync (started by `baton group`; exits when idle)",
        description="Keep the groups `baton group` forms: relay each leader's timeline to its "
        "followers. `baton group` starts it when needed; it exits after "
        f"{IDLE_S:g} s without a group. It listens on $XDG_RUNTIME_DIR/baton/groups.sock (else "
        "baton-UID in the temporary directory) and logs to groups.log beside it when started "
        "by `baton group`.",
    )
    keeper.add_argument("--ready-fd", type=int, default=None, help=argparse.SUPPRESS)
    keeper.set_defaults(run=None, offline=_keeper_command)


def _keeper_command(args: argparse.Namespace, _store: object) -> None:
    gc.enable()  # `baton` turns the collector off for short commands; this one lives long
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    run_keeper(args.interface, ready_fd=args.ready_fd)


def _trace_from_environment(endpoint: str = "", user: str = "") -> Tracing | None:
    """Trace the keeper as `baton` traces a command when it was given a collector (the command
    that started it had `--trace-endpoint`), or its environment names one
    ($OTEL_EXPORTER_OTLP_ENDPOINT; the token: INGEST_ENV, else
    $OTEL_EXPORTER_OTLP_HEADERS): each group step it is asked for is a span, its frames arrows
    to the members. Else import nothing."""
    endpoint = endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")
    token = os.environ.pop(INGEST_ENV, "")
    if not endpoint:
        return None
    from client.lifeline import controller_lifeline
    from tracing.setup import TraceSettings, cache_spool_path, setup

    device_id, name = controller_lifeline("cli")  # a controller program of this host's CLI
    settings = TraceSettings(
        endpoint,
        device_id=device_id,
        device_name=name,
        device_type="controller",
        user=user,
        token=token,
        spool=cache_spool_path(),
    )
    return setup(settings)


def _detach() -> None:
    """Fork: the parent exits at once (its caller reaps it), the child goes on as the keeper in
    a session of its own, a child of no command. Called before any thread or loop exists."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()


if __name__ == "__main__":  # what `baton group` starts: python -m client.group_keeper --detach
    parsed = argparse.ArgumentParser(prog="baton group-keeper")
    parsed.add_argument("--interface", action="append", default=[])
    parsed.add_argument("--ready-fd", type=int, default=None)
    parsed.add_argument("--detach", action="store_true")
    parsed.add_argument("--trace-endpoint", default="")
    parsed.add_argument("--trace-user", default="")
    options = parsed.parse_args()
    if options.detach:
        _detach()
    # After the fork: the SDK starts a thread.
    tracing = _trace_from_environment(options.trace_endpoint, options.trace_user)
    try:
        _keeper_command(options, None)
    finally:
        if tracing is not None:
            tracing.shutdown()
