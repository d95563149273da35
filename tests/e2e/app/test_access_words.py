"""The keypad's words for refused pairings, and the count of wrong codes (no Qt, no sockets)."""

from __future__ import annotations

from client.app.access import WrongCodes, access_of, describe_refusal
from client.app.views import Access
from connect import messages as m
from connect.errors import ConnectError, RateLimitedError, WrongPinError
from connect.pairing import MAX_FAILURES, WINDOW_S


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_tries_left_count_down_per_device_and_come_back_after_the_window():
    clock = FakeClock()
    codes = WrongCodes(clock)
    assert [codes.record("a") for _ in range(MAX_FAILURES)] == list(range(MAX_FAILURES - 1, -1, -1))
    assert codes.tries_left("b") == MAX_FAILURES  # another device counts on its own
    clock.now += WINDOW_S + 0.1
    assert codes.tries_left("a") == MAX_FAILURES
    codes.record("a")
    codes.forget("a")
    assert codes.tries_left("a") == MAX_FAILURES


def test_refusals_in_words():
    wrong = WrongPinError("no", device="Kitchen")
    assert describe_refusal(wrong, 4) == "Wrong code — 4 tries left before a pause"
    assert describe_refusal(wrong, 1) == "Wrong code — 1 try left before a pause"
    assert describe_refusal(wrong, 0) == "Wrong code — pairing pauses for a minute now"
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
