"""The keypad's words for refused pairings, with the device's count of wrong codes left."""

from __future__ import annotations

from client.app.access import access_of, describe_refusal
from client.app.views import Access
from connect.errors import ConnectError, RateLimitedError, WrongPinError
from connect.wire import messages as m


def test_refusals_in_words():
    def wrong(left: int | None) -> WrongPinError:
        return WrongPinError("no", device="Kitchen", tries_left=left)

    assert describe_refusal(wrong(4)) == "Wrong code — 4 tries left before a pause"
    assert describe_refusal(wrong(1)) == "Wrong code — 1 try left before a pause"
    assert describe_refusal(wrong(0)) == "Wrong code — pairing pauses for a minute now"
    assert describe_refusal(wrong(None)) == "Wrong code"  # a device that does not say
    paused = RateLimitedError("slow down", device="Kitchen", retry_after_s=41.6)
    assert describe_refusal(paused) == (
        "Too many wrong codes: the device pauses pairing; try again in 42 s"
    )
    assert describe_refusal(ConnectError("gone")) == "Could not pair: gone"


def test_access_follows_what_is_held_and_the_mode():
    assert access_of(None, m.PairingMode.OPEN, Access.OPEN) == (Access.OPEN, None)
    assert access_of(None, m.PairingMode.PIN, Access.OPEN) == (Access.NEEDS_PAIRING, None)
    assert access_of(None, None, Access.OPEN) == (Access.NEEDS_PAIRING, None)  # unknown: pin
    assert access_of(None, m.PairingMode.PIN, Access.REVOKED) == (Access.REVOKED, None)
