"""OTLP JSON read straight from the parsed tree (tracing._otlp_json) decodes as json_format."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.tracing.test_otlp_attrs import _keys, _request, _values
from tracing import _otlp, _otlp_json, samples


def _slow(monkeypatch: pytest.MonkeyPatch, body: bytes) -> _otlp.Decoded:
    """Decode *body* with json_format, as before the fast reader."""
    with monkeypatch.context() as m:
        m.setattr(_otlp, "json_trace_groups", _refuse)
        return _otlp.decode_request("traces", body, "json", received_ns=1)


def _refuse(tree: object) -> list[_otlp_json.Group]:
    raise _otlp_json.UnusualJsonError("left to json_format")


def _both(monkeypatch: pytest.MonkeyPatch, body: bytes) -> _otlp.Decoded:
    fast = _otlp.decode_request("traces", body, "json", received_ns=1)
    slow = _slow(monkeypatch, body)
    assert fast.records == slow.records
    assert (fast.rejected, fast.message) == (slow.rejected, slow.message)
    return fast


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(_keys, _values), max_size=6))
def test_json_attributes_decode_as_json_format_reads_them(pairs):
    with pytest.MonkeyPatch.context() as monkeypatch:
        _both(monkeypatch, samples.to_otlp_json(_request(pairs)))


def _spec_style() -> dict:
    """A request as the specification writes one: integer enums, numbers for integers."""
    tree = json.loads(samples.to_otlp_json(_request([("n", 7), ("f", 1.5), ("b", True)])))
    for group in tree["resourceSpans"]:
        for span in group["scopeSpans"][0]["spans"]:
            span["kind"] = 4
            span["startTimeUnixNano"] = int(span["startTimeUnixNano"])
            span["status"]["code"] = 2
            span["attributes"].append({"key": "count", "value": {"intValue": 12}})
    return tree


@pytest.mark.parametrize(
    "change",
    [
        lambda tree: tree,
        lambda tree: tree["resourceSpans"][0].update(schema_url="x"),  # snake_case key
        lambda tree: tree["resourceSpans"][0].update(futureField=1),  # unknown key
        lambda tree: _span(tree).update(kind=9),  # an enum value of a later version
        lambda tree: _span(tree).update(kind="SPAN_KIND_SERVER"),
        lambda tree: _span(tree).update(traceId="not hex"),  # refused: partial success
        lambda tree: _span(tree).update(spanId=""),
        lambda tree: _span(tree).update(name=None),  # json_format: the default
        lambda tree: _span(tree).update(startTimeUnixNano="007"),
        lambda tree: _span(tree).update(startTimeUnixNano="1e3"),
        lambda tree: _span(tree)["attributes"].append(
            {"key": "d", "value": {"doubleValue": "NaN"}}
        ),
        lambda tree: _span(tree)["attributes"].append({"key": "i", "value": {"intValue": "-3"}}),
        lambda tree: _span(tree)["attributes"].append(
            {"key": "x", "value": {"bytesValue": "AQ=="}}
        ),
        lambda tree: _span(tree)["attributes"].append({"key": "e", "value": {}}),
        lambda tree: _span(tree)["attributes"].append({"key": "ü", "value": {"stringValue": "é"}}),
    ],
)
def test_what_json_format_accepts_decodes_the_same_either_way(monkeypatch, change):
    tree = _spec_style()
    change(tree)
    _both(monkeypatch, json.dumps(tree).encode())


def _span(tree: dict) -> dict:
    return tree["resourceSpans"][0]["scopeSpans"][0]["spans"][0]


@pytest.mark.parametrize(
    "change",
    [
        lambda tree: _span(tree).update(name=5),
        lambda tree: _span(tree).update(startTimeUnixNano=-1),
        lambda tree: _span(tree)["attributes"].append({"key": "b", "value": {"boolValue": 1}}),
        lambda tree: _span(tree)["attributes"].append(
            {"key": "two", "value": {"stringValue": "a", "intValue": 1}}
        ),
        lambda tree: _span(tree)["attributes"].append(
            {"key": "s", "value": {"stringValue": "\ud800"}}
        ),
        lambda tree: _span(tree)["attributes"].append(
            {"key": "d", "value": {"doubleValue": 1e400}}
        ),
    ],
)
def test_what_json_format_refuses_is_refused(monkeypatch, change):
    tree = _spec_style()
    change(tree)
    body = json.dumps(tree).encode()
    with pytest.raises(_otlp.OtlpError):
        _otlp.decode_request("traces", body, "json")
    with pytest.raises(_otlp.OtlpError):
        _slow(monkeypatch, body)


def test_spec_style_json_takes_the_fast_reader():
    tree = _spec_style()
    (group, *_) = _otlp_json.trace_groups(tree)
    span = group[1][0][1][0]
    assert (span.kind, span.status.code) == (4, 2)
    assert (span.attributes["baton.session.id"], span.attributes["count"]) == ("session-1", 12)
