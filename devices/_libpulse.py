"""The few libpulse calls Baton's own PulseAudio output needs, declared for ctypes.

libpulse (PulseAudio's client library, which PipeWire's pipewire-pulse serves too) is loaded on
first use, so a receiver that never plays through a sound server needs none of it. Only the
asynchronous API with a threaded main loop is used: the simple API reports one latency figure
and cannot place a sample at an instant (research/real-world.md §3). The one struct whose layout
varies by platform, pa_timing_info (it starts with a `struct timeval`, 32- or 64-bit time_t), is
declared with the layout libpulse itself writes: found at load time by having it store a known
time (`_timeval_type`). Sample spec and buffer attributes have fixed-size fields.

Values below are PulseAudio's ABI (pulse/def.h, pulse/sample.h), stable since 0.9.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from typing import Any

from devices.errors import AudioOutputError

# pa_context_state_t
CONTEXT_READY = 4
CONTEXT_FAILED = 5
CONTEXT_TERMINATED = 6
# pa_stream_state_t
STREAM_READY = 2
STREAM_FAILED = 3
STREAM_TERMINATED = 4
# pa_context_flags_t
CONTEXT_NOAUTOSPAWN = 0x1
# pa_stream_flags_t
STREAM_START_CORKED = 0x0001
STREAM_NOT_MONOTONIC = 0x0004
STREAM_ADJUST_LATENCY = 0x2000
# pa_sample_format_t
SAMPLE_S16LE = 3
# pa_seek_mode_t
SEEK_RELATIVE = 0
# pa_operation_state_t
OPERATION_RUNNING = 0


class SampleSpec(ctypes.Structure):
    """pa_sample_spec."""

    _fields_ = (("format", ctypes.c_int), ("rate", ctypes.c_uint32), ("channels", ctypes.c_uint8))


class BufferAttr(ctypes.Structure):
    """pa_buffer_attr: byte counts; (uint32)-1 lets the server choose."""

    _fields_ = (
        ("maxlength", ctypes.c_uint32),
        ("tlength", ctypes.c_uint32),
        ("prebuf", ctypes.c_uint32),
        ("minreq", ctypes.c_uint32),
        ("fragsize", ctypes.c_uint32),
    )


def _timeval_type(lib: Any) -> type[ctypes.Structure]:
    """Return libpulse's `struct timeval`: the candidate layout that pa_timeval_store fills
    exactly (3 s and 5 µs read back, not a byte written past it)."""
    candidates = (
        (ctypes.c_int64, ctypes.c_int64),  # 64-bit Linux; 32-bit with a 64-bit time_t
        (ctypes.c_int32, ctypes.c_int32),  # 32-bit time_t
    )
    for sec, usec in candidates:
        fields = (("sec", sec), ("usec", usec))
        kind: type[ctypes.Structure] = type("Timeval", (ctypes.Structure,), {"_fields_": fields})
        size = ctypes.sizeof(kind)
        buffer = (ctypes.c_ubyte * (size + 16))(*([0xA5] * (size + 16)))
        lib.pa_timeval_store(buffer, 3_000_005)
        stored = kind.from_buffer(buffer)
        if (stored.sec, stored.usec) == (3, 5) and all(b == 0xA5 for b in buffer[size:]):
            return kind
    raise AudioOutputError("the pulse output cannot read this libpulse's timing information")


def _timing_info_type(timeval: type[ctypes.Structure]) -> type[ctypes.Structure]:
    """Return pa_timing_info (pulse/def.h) around libpulse's own `struct timeval`."""
    fields = (
        ("timestamp", timeval),  # when the server measured (CLOCK_REALTIME)
        ("synchronized_clocks", ctypes.c_int),
        ("sink_usec", ctypes.c_uint64),  # from the read index to the speaker
        ("source_usec", ctypes.c_uint64),
        ("transport_usec", ctypes.c_uint64),
        ("playing", ctypes.c_int),
        ("write_index_corrupt", ctypes.c_int),
        ("write_index", ctypes.c_int64),
        ("read_index_corrupt", ctypes.c_int),
        ("read_index", ctypes.c_int64),  # bytes the server had taken from the stream
        ("configured_sink_usec", ctypes.c_uint64),
        ("configured_source_usec", ctypes.c_uint64),
        ("since_underrun", ctypes.c_int64),
    )
    return type("TimingInfo", (ctypes.Structure,), {"_fields_": fields})


class ServerInfo(ctypes.Structure):
    """pa_server_info's first fields (the rest is never read, so never declared)."""

    _fields_ = (
        ("user_name", ctypes.c_char_p),
        ("host_name", ctypes.c_char_p),
        ("server_version", ctypes.c_char_p),
        ("server_name", ctypes.c_char_p),
    )


ContextNotify = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
ServerInfoCallback = ctypes.CFUNCTYPE(
    None, ctypes.c_void_p, ctypes.POINTER(ServerInfo), ctypes.c_void_p
)
StreamNotify = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
StreamRequest = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)
StreamSuccess = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)

_P = ctypes.c_void_p
_SIGNATURES: dict[str, tuple[Any, tuple[Any, ...]]] = {
    "pa_threaded_mainloop_new": (_P, ()),
    "pa_threaded_mainloop_start": (ctypes.c_int, (_P,)),
    "pa_threaded_mainloop_stop": (None, (_P,)),
    "pa_threaded_mainloop_free": (None, (_P,)),
    "pa_threaded_mainloop_lock": (None, (_P,)),
    "pa_threaded_mainloop_unlock": (None, (_P,)),
    "pa_threaded_mainloop_wait": (None, (_P,)),
    "pa_threaded_mainloop_signal": (None, (_P, ctypes.c_int)),
    "pa_threaded_mainloop_get_api": (_P, (_P,)),
    "pa_proplist_new": (_P, ()),
    "pa_proplist_sets": (ctypes.c_int, (_P, ctypes.c_char_p, ctypes.c_char_p)),
    "pa_proplist_free": (None, (_P,)),
    "pa_context_new_with_proplist": (_P, (_P, ctypes.c_char_p, _P)),
    "pa_context_set_state_callback": (None, (_P, ContextNotify, _P)),
    "pa_context_connect": (ctypes.c_int, (_P, ctypes.c_char_p, ctypes.c_int, _P)),
    "pa_context_get_state": (ctypes.c_int, (_P,)),
    "pa_context_errno": (ctypes.c_int, (_P,)),
    "pa_context_get_server": (ctypes.c_char_p, (_P,)),
    "pa_context_get_server_info": (_P, (_P, ServerInfoCallback, _P)),
    "pa_context_disconnect": (None, (_P,)),
    "pa_context_unref": (None, (_P,)),
    "pa_strerror": (ctypes.c_char_p, (ctypes.c_int,)),
    "pa_stream_new_with_proplist": (
        _P,
        (_P, ctypes.c_char_p, ctypes.POINTER(SampleSpec), _P, _P),
    ),
    "pa_stream_set_state_callback": (None, (_P, StreamNotify, _P)),
    "pa_stream_set_write_callback": (None, (_P, StreamRequest, _P)),
    "pa_stream_set_underflow_callback": (None, (_P, StreamNotify, _P)),
    "pa_stream_connect_playback": (
        ctypes.c_int,
        (_P, ctypes.c_char_p, ctypes.POINTER(BufferAttr), ctypes.c_int, _P, _P),
    ),
    "pa_stream_get_state": (ctypes.c_int, (_P,)),
    "pa_stream_get_buffer_attr": (ctypes.POINTER(BufferAttr), (_P,)),
    "pa_stream_write": (
        ctypes.c_int,
        (_P, ctypes.c_void_p, ctypes.c_size_t, _P, ctypes.c_int64, ctypes.c_int),
    ),
    "pa_stream_update_timing_info": (_P, (_P, StreamSuccess, _P)),
    "pa_timeval_store": (_P, (_P, ctypes.c_uint64)),
    "pa_stream_cork": (_P, (_P, ctypes.c_int, StreamSuccess, _P)),
    "pa_stream_is_corked": (ctypes.c_int, (_P,)),
    "pa_stream_disconnect": (ctypes.c_int, (_P,)),
    "pa_stream_unref": (None, (_P,)),
    "pa_operation_unref": (None, (_P,)),
    "pa_operation_cancel": (None, (_P,)),
}


@functools.cache
def libpulse() -> Any:
    """Return the loaded libpulse with its signatures declared; raise AudioOutputError."""
    name = ctypes.util.find_library("pulse") or "libpulse.so.0"
    try:
        lib = ctypes.CDLL(name)
    except OSError as exc:
        raise AudioOutputError(
            f"the pulse output needs libpulse (Debian: libpulse0), which cannot be loaded: {exc}"
        ) from exc
    for function, (restype, argtypes) in _SIGNATURES.items():
        declared = getattr(lib, function)
        declared.restype = restype
        declared.argtypes = argtypes
    info = lib.pa_stream_get_timing_info
    info.restype, info.argtypes = ctypes.POINTER(_timing_info_type(_timeval_type(lib))), (_P,)
    return lib


def strerror(code: int) -> str:
    """Return libpulse's message for error *code*."""
    text = libpulse().pa_strerror(code)
    return text.decode(errors="replace") if text else f"error {code}"
