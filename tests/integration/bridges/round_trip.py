"""A receiver -> bridged device -> receiver transfer, read from the two recordings."""

from __future__ import annotations

from dataclasses import dataclass

from tests.audio import Capture, first_audible_us, last_audible_us
from tests.integration.bridges.test_mpd import content_from, content_until


@dataclass(frozen=True)
class RoundTrip:
    """Each switch's gap (silence between the two sounds) and content jump, in ms."""

    there_gap_ms: float
    there_content_ms: float
    back_gap_ms: float
    back_content_ms: float

    def __str__(self) -> str:
        return (
            f"there: gap {self.there_gap_ms:.0f} ms, content {self.there_content_ms:+.0f} ms; "
            f"back: gap {self.back_gap_ms:.0f} ms, content {self.back_content_ms:+.0f} ms"
        )


def round_trip(device: Capture, home: Capture) -> RoundTrip:
    """Read the switch from *home* to *device* (the device's first sound) and back (home's
    first sound after it), each from the last sound before it on the other recording."""
    device_from = first_audible_us(device)
    assert device_from is not None, "the device played nothing"
    home_until = last_audible_us(home, before_us=device_from)
    assert home_until is not None, "home played nothing before the device"
    home_again = first_audible_us(home, after_us=device_from)
    assert home_again is not None, "home did not play again"
    device_until = last_audible_us(device, before_us=home_again)
    assert device_until is not None
    return RoundTrip(
        (device_from - home_until) / 1000,
        content_from(device, device_from) - content_until(home, home_until),
        (home_again - device_until) / 1000,
        content_from(home, home_again) - content_until(device, device_until),
    )
