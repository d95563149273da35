"""A connection to a PulseAudio (or pipewire-pulse) server: libpulse's threaded main loop and
one context, with bounded waits. devices/_pulse_stream.py plays through it.

Locks: libpulse runs its callbacks on its main-loop thread with the main-loop lock held; any
other thread takes that lock (`locked()`) around every libpulse call.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from devices import _libpulse as pa
from devices.errors import AudioOutputError

CONNECT_TIMEOUT_S = 3.0


class PulseContext:
    """libpulse's main loop and a context connected to one server; close() frees both."""

    def __init__(self, server: str | None, on_lost: Callable[[str], None]) -> None:
        self._server = server
        self._on_lost = on_lost  # called on the main-loop thread when the connection ends
        self.lib: Any = None
        self.mainloop: Any = None
        self.context: Any = None
        self._alarm: threading.Timer | None = None  # ends a wait for the server (wait_until)
        self._connected = False
        # Kept referenced: ctypes frees a callback's trampoline with its Python object.
        self._on_state = pa.ContextNotify(self._context_state)

    def connect(self) -> None:
        """Start the main loop and connect; raise AudioOutputError. The lock is free after."""
        lib = self.lib = pa.libpulse()
        self.mainloop = lib.pa_threaded_mainloop_new()
        if not self.mainloop or lib.pa_threaded_mainloop_start(self.mainloop) < 0:
            raise AudioOutputError("pulse output: cannot start libpulse's main loop")
        with self.locked():
            props = lib.pa_proplist_new()
            for key, value in (
                ("application.name", "Baton"),
                ("application.id", "org.baton.Receiver"),
                ("application.icon_name", "audio-speakers"),
            ):
                lib.pa_proplist_sets(props, key.encode(), value.encode())
            api = lib.pa_threaded_mainloop_get_api(self.mainloop)
            self.context = lib.pa_context_new_with_proplist(api, b"Baton", props)
            lib.pa_proplist_free(props)
            if not self.context:
                raise AudioOutputError("pulse output: cannot create a libpulse context")
            lib.pa_context_set_state_callback(self.context, self._on_state, None)
            server = self._server.encode() if self._server else None
            where = self._server or os.environ.get("PULSE_SERVER") or "its default address"
            doing = f"no sound server answers at {where}"
            if lib.pa_context_connect(self.context, server, pa.CONTEXT_NOAUTOSPAWN, None) < 0:
                raise AudioOutputError(f"pulse output: {doing}: {self.error()}")
            self.wait_until(
                lambda: lib.pa_context_get_state(self.context),
                pa.CONTEXT_READY,
                (pa.CONTEXT_FAILED, pa.CONTEXT_TERMINATED),
                doing,
            )
            self._connected = True

    def server(self) -> str:
        """Return where the server answered."""
        with self.locked():
            where = self.lib.pa_context_get_server(self.context)
        return where.decode(errors="replace") if where else "the default server"

    def server_name(self) -> str:
        """Return the server's name (PulseAudio: "pulseaudio"; PipeWire's pulse layer:
        "PulseAudio (on PipeWire x.y.z)"); "" if it does not say within CONNECT_TIMEOUT_S."""
        names: list[str] = []

        def answered(_context: Any, info: Any, _userdata: Any) -> None:
            name = info.contents.server_name if info else None
            names.append(name.decode(errors="replace") if name else "")
            self.signal()

        callback = pa.ServerInfoCallback(answered)
        with self.locked():
            op = self.lib.pa_context_get_server_info(self.context, callback, None)
            if not op:
                return ""
            try:
                self.wait_until(lambda: len(names), 1, (), "asking the server's name")
            except AudioOutputError:
                self.lib.pa_operation_cancel(op)  # never calls back once we are gone
                return ""
            finally:
                self.lib.pa_operation_unref(op)
        return names[0]

    def wait_until(
        self, state: Callable[[], int], ready: int, failed: tuple[int, ...], doing: str
    ) -> None:
        """Wait (lock held) until *state()* is *ready*; raise AudioOutputError on a failed
        state or after CONNECT_TIMEOUT_S."""
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        # libpulse has no timed wait: the state callbacks signal each change, and this timer
        # signals once at the deadline, so a server that never answers cannot hang us.
        alarm = self._alarm = threading.Timer(CONNECT_TIMEOUT_S, self._signal)
        alarm.daemon = True
        alarm.start()
        try:
            while (now := state()) != ready:
                if now in failed:
                    raise AudioOutputError(f"pulse output: {doing}: {self.error()}")
                if time.monotonic() >= deadline:
                    raise AudioOutputError(
                        f"pulse output: {doing} (no answer within {CONNECT_TIMEOUT_S:g} s)"
                    )
                self.lib.pa_threaded_mainloop_wait(self.mainloop)
        finally:
            alarm.cancel()  # joined in close(): it may be waiting for the lock we hold

    def signal(self) -> None:
        """Wake a wait_until (main-loop thread, lock held)."""
        self.lib.pa_threaded_mainloop_signal(self.mainloop, 0)

    def error(self) -> str:
        """Return libpulse's words for the context's last error."""
        if not self.context:
            return "no context"
        return pa.strerror(self.lib.pa_context_errno(self.context))

    def locked(self) -> _MainLoopLock:
        """Return a `with` holding the main-loop lock (not from the main-loop thread)."""
        return _MainLoopLock(self.lib, self.mainloop)

    def close(self, before: Callable[[], None] = lambda: None) -> None:
        """Run *before* (lock held), disconnect, stop and free the main loop; idempotent."""
        if self._alarm is not None:
            self._alarm.cancel()
            self._alarm.join()  # it takes the main loop's lock: never let it outlive the loop
        lib, mainloop = self.lib, self.mainloop
        if lib is None or mainloop is None:
            return
        with self.locked():
            before()
            if self.context:
                lib.pa_context_set_state_callback(self.context, pa.ContextNotify(), None)
                lib.pa_context_disconnect(self.context)
                lib.pa_context_unref(self.context)
                self.context = None
        lib.pa_threaded_mainloop_stop(mainloop)
        lib.pa_threaded_mainloop_free(mainloop)
        self.mainloop = None

    def _signal(self) -> None:
        with self.locked():
            self.signal()

    def _context_state(self, _context: Any, _userdata: Any) -> None:
        if (
            self.lib.pa_context_get_state(self.context)
            in (
                pa.CONTEXT_FAILED,
                pa.CONTEXT_TERMINATED,
            )
            and self._connected
        ):
            self._connected = False
            self._on_lost(f"the sound server connection ended: {self.error()}")
        self.signal()


class _MainLoopLock:
    """`with` holds libpulse's main-loop lock."""

    def __init__(self, lib: Any, mainloop: Any) -> None:
        self._lib = lib
        self._mainloop = mainloop

    def __enter__(self) -> None:
        self._lib.pa_threaded_mainloop_lock(self._mainloop)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._lib.pa_threaded_mainloop_unlock(self._mainloop)


def probe_sound_server() -> str:
    """Return where a PulseAudio (or pipewire-pulse) server answers; raise AudioOutputError."""
    context = PulseContext(None, lambda _why: None)
    try:
        context.connect()
        return context.server()
    finally:
        context.close()
