"""Plain Python values from OTLP's: attributes, any-values, and compact JSON text of them."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any


def _compact_encoder() -> Any:
    """Return a function giving compact JSON text (non-JSON values as str()).

    The C encoder is made once here: `JSONEncoder.encode` makes a new one on every call, which
    was half the cost of encoding a span's data. Python's own encoder where there is no C one.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return json.JSONEncoder(separators=(",", ":"), default=str).encode
    chunks = make(
        None, str, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, True
    )
    join = "".join
    return lambda value: join(chunks(value, 0))


to_json = _compact_encoder()


def any_value(value: Any) -> Any:
    """Convert an OTLP `AnyValue` message to a plain JSON-able Python value."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return getattr(value, which)


def key_values(kvs: Iterable[Any]) -> dict[str, Any]:
    """Convert repeated OTLP `KeyValue`s to a dict."""
    out = {}
    for kv in kvs:
        value = kv.value
        # Inline the common scalar cases: this loop is most of the collector's decoding time.
        which = value.WhichOneof("value")
        if which == "string_value":
            out[kv.key] = value.string_value
        elif which == "int_value":
            out[kv.key] = value.int_value
        else:
            out[kv.key] = any_value(value)
    return out


def text(value: Any) -> str:
    return "" if value is None else str(value)


def int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def float_or_none(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok else None
