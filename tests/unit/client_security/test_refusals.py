"""What a user reads when a device refuses: HTTP status to typed error, Retry-After, URLs."""

from __future__ import annotations

import aiohttp
import pytest

from connect.access._requests import Request, refusal, retry_after_s
from connect.errors import (
    AccessRevokedError,
    ConnectError,
    ForbiddenError,
    NotPairedError,
    RateLimitedError,
    TokenNotFoundError,
    UntrustedDeviceError,
    WrongPinError,
)
from connect.session import Endpoint
from connect.session.connection import pinned
from connect.wire import codec
from connect.wire import messages as m

FAILURE = codec.encode_failure(m.Failure(m.ErrorCode.MALFORMED, "body is not a PairingRequest"))


@pytest.mark.parametrize(
    ("status", "request_kind", "kind", "words"),
    [
        (401, Request.PAIR, WrongPinError, "did not accept that code"),
        (401, Request.LIST_TOKENS, NotPairedError, "run `baton pair Kitchen`"),
        (401, Request.RENAME, AccessRevokedError, "Kitchen revoked this controller's access"),
        (403, Request.REVOKE, ForbiddenError, "only Kitchen's owner may revoke access"),
        (404, Request.REVOKE, TokenNotFoundError, "no token '0badcafe'"),
        (404, Request.PAIRING_CODE, ConnectError, "not in pin mode"),
        (429, Request.PAIR, RateLimitedError, "try again in 30 s"),
        (400, Request.PAIR, ConnectError, "HTTP 400): body is not a PairingRequest"),
    ],
)
def test_each_refusal_becomes_a_typed_error_in_plain_words(
    status: int, request_kind: Request, kind: type[Exception], words: str
) -> None:
    body = FAILURE
    if kind is AccessRevokedError:
        body = codec.encode_failure(m.Failure(m.ErrorCode.REVOKED, "access revoked"))
    error = refusal(
        status,
        {"Retry-After": "30"},
        body,
        device="Kitchen",
        request=request_kind,
        token_id="0badcafe",
    )
    assert type(error) is kind
    assert words in str(error)


@pytest.mark.parametrize(
    ("left", "words"),
    [
        (4, "Kitchen did not accept that code; 4 more wrong codes before it pauses pairing: "),
        (1, "Kitchen did not accept that code; 1 more wrong code before it pauses pairing: "),
        (0, "Kitchen did not accept that code; it now pauses pairing for a while: "),
        (None, "Kitchen did not accept that code: use the code it shows now"),
    ],
)
def test_a_wrong_code_carries_the_devices_count_of_tries_left(left: int | None, words: str) -> None:
    body = codec.encode_failure(
        m.Failure(m.ErrorCode.UNAUTHENTICATED, "wrong pairing code", pairing_tries_left=left)
    )
    error = refusal(401, {}, body, device="Kitchen", request=Request.PAIR)
    assert isinstance(error, WrongPinError)
    assert error.tries_left == left
    assert str(error).startswith(words)


def test_a_refusal_with_an_unreadable_body_still_says_what_happened() -> None:
    error = refusal(500, {}, b"\xff\xff not protobuf", device="Car", request=Request.PAIR)
    assert str(error) == "Car refused to pair with it (HTTP 500)"


def test_retry_after_reads_seconds_and_nothing_else() -> None:
    assert retry_after_s("12") == 12
    assert retry_after_s(" 7 ") == 7
    for unknown in (None, "", "soon", "-3", "Sat, 21 Nov 2026 23:01:00 GMT"):
        assert retry_after_s(unknown) == 0, unknown


def test_endpoint_uses_tls_exactly_when_pinned() -> None:
    device_id = "ab" * 32
    pin = Endpoint("::1", 4000, fingerprint=device_id)
    assert (pin.url, pin.http_url("/x")) == (
        "wss://[::1]:4000/connect/v1/ws",
        "https://[::1]:4000/x",
    )
    assert isinstance(pin.ssl, aiohttp.Fingerprint)
    assert pin.ssl.fingerprint == bytes.fromhex(device_id)
    plain = Endpoint("10.0.0.2", 4000)
    assert (plain.url, plain.http_url("/x")) == (
        "ws://10.0.0.2:4000/connect/v1/ws",
        "http://10.0.0.2:4000/x",
    )


@pytest.mark.parametrize("device_id", ["", "dev-test", "AB" * 32, "ab" * 31])
def test_only_a_certificate_fingerprint_can_be_pinned(device_id: str) -> None:
    with pytest.raises(UntrustedDeviceError):
        pinned(device_id)


def test_the_controller_asks_the_paths_the_receiver_serves() -> None:
    # The controller's side: the paths connect/controller.py asks, the body type of
    # connect/access/_requests.py; the receiver's: connect/access/_endpoints.py.
    from connect import controller
    from connect.access import _endpoints, _requests

    for name in ("PAIR_PATH", "TOKENS_PATH", "PAIRING_CODE_PATH", "NAME_PATH"):
        assert getattr(controller, name) == getattr(_endpoints, name), name
    assert _requests.PROTOBUF == _endpoints.PROTOBUF


def test_pin_mode_and_unknown_modes_mean_tls() -> None:
    from connect.discovery.txt import parse_txt

    def record(pair: str) -> bool:
        return parse_txt("Kitchen", {"id": "a" * 64, "pair": pair}).tls

    assert record("pin") is True
    assert record("") is True  # missing: assume pin
    assert record("something-new") is True
    assert record("open") is False
