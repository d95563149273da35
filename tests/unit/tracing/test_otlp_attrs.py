"""Span attributes read from their bytes (tracing._otlp_attrs) decode as upb reads them."""

from __future__ import annotations

import json

import pytest
from google.protobuf.message import DecodeError
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2

from tests.unit.tracing.support import ALICE_PHONE, ALICE_SPEAKER
from tracing import _otlp, _otlp_attrs, samples
from tracing._otlp_values import any_value

_keys = st.sampled_from(["baton.session.id", "baton.envelope.seq", "k", "", "ü", "a" * 130])
_scalars = st.one_of(
    st.text(max_size=140),
    st.integers(-(2**63), 2**63 - 1),
    st.booleans(),
    st.floats(allow_nan=False),
    st.binary(max_size=8),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def _any(value: object) -> common_pb2.AnyValue:
    if isinstance(value, bool):
        return common_pb2.AnyValue(bool_value=value)
    if isinstance(value, int):
        return common_pb2.AnyValue(int_value=value)
    if isinstance(value, float):
        return common_pb2.AnyValue(double_value=value)
    if isinstance(value, bytes):
        return common_pb2.AnyValue(bytes_value=value)
    if isinstance(value, list):
        return common_pb2.AnyValue(array_value=common_pb2.ArrayValue(values=map(_any, value)))
    if isinstance(value, dict):
        pairs = [common_pb2.KeyValue(key=k, value=_any(v)) for k, v in value.items()]
        return common_pb2.AnyValue(kvlist_value=common_pb2.KeyValueList(values=pairs))
    return common_pb2.AnyValue(string_value=str(value))


def _request(pairs: list[tuple[str, object]]) -> trace_service_pb2.ExportTraceServiceRequest:
    request = samples.traces_request([samples.Message(ALICE_PHONE, ALICE_SPEAKER)])
    kvs = [common_pb2.KeyValue(key=k, value=_any(v)) for k, v in pairs]
    for group in request.resource_spans:
        for span in group.scope_spans[0].spans:
            span.attributes.extend(kvs)
            span.events.add(name="e", time_unix_nano=5, attributes=kvs)
            span.links.add(trace_id=span.trace_id, span_id=span.span_id, attributes=kvs)
            span.status.message = "slow"
    return request


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_keys, _values), max_size=6))
def test_protobuf_attributes_decode_as_the_full_parse_reads_them(pairs):
    request = _request(pairs)
    lean = _otlp.decode_request("traces", request.SerializeToString(), "protobuf", received_ns=1)
    full = _otlp.decode_request("traces", samples.to_otlp_json(request), "json", received_ns=1)
    assert lean.records == full.records
    # Twice: the second time every attribute comes from the cache.
    again = _otlp.decode_request("traces", request.SerializeToString(), "protobuf", received_ns=1)
    assert again.records == full.records


def test_a_key_given_twice_keeps_the_last_value_in_the_first_place():
    request = _request([("a", "first"), ("b", 2), ("a", "last")])
    (record, _) = _otlp.decode("traces", request.SerializeToString(), "application/x-protobuf")
    attrs = json.loads(record.data)["attributes"]
    assert list(attrs.items())[-2:] == [("a", "last"), ("b", 2)]


@given(st.binary(max_size=40))
def test_hand_read_attributes_agree_with_upb_or_are_left_to_it(raw):
    for body in (raw, common_pb2.KeyValue(key="baton.x", value=_any(300)).SerializeToString()):
        known = _otlp_attrs._scalar(body)
        if known is not None:
            kv = common_pb2.KeyValue.FromString(body)  # raises if the hand reader took bad bytes
            assert known[:2] == (kv.key, any_value(kv.value))
            assert type(known[1]) is type(any_value(kv.value))


def test_a_malformed_attribute_refuses_the_request_even_on_a_refused_span():
    request = samples.traces_request([samples.Message(ALICE_PHONE, ALICE_SPEAKER)])
    span = request.resource_spans[0].scope_spans[0].spans[0]
    span.trace_id = b"short"  # this span is refused for its id...
    bad = common_pb2.KeyValue(key="k", value=_any("v")).SerializeToString().replace(b"v", b"\xff")
    lean = _otlp_attrs.LeanTraceRequest.FromString(request.SerializeToString())
    lean.resource_spans[0].scope_spans[0].spans[0].attributes.append(bad)  # ...not valid UTF-8
    with pytest.raises(_otlp.OtlpError):
        _otlp.decode("traces", lean.SerializeToString(), "application/x-protobuf")
    with pytest.raises(DecodeError):  # as the full parse does
        trace_service_pb2.ExportTraceServiceRequest.FromString(lean.SerializeToString())
