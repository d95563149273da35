"""Key repeat, long press and scroll arithmetic on a hand-advanced clock (no Qt, no sleep)."""

from __future__ import annotations

import pytest

from client.navigation.repeat import KeyRepeatGate, LongPress, RepeatSettings
from client.spatial import scroll_delta

RIGHT, LEFT = 1, 2


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def hold(gate: KeyRepeatGate, clock: Clock, seconds: float, hz: float = 30) -> int:
    moves = 0
    for _ in range(round(seconds * hz)):
        clock.now += 1 / hz
        moves += gate.press(RIGHT, auto_repeat=True)
    return moves


def test_first_press_moves_and_repeats_are_throttled_to_ten_per_second() -> None:
    clock = Clock()
    gate = KeyRepeatGate(RepeatSettings(), clock)
    assert gate.press(RIGHT, auto_repeat=False)
    assert hold(gate, clock, 0.5) <= 5


def test_holding_accelerates_to_at_least_twice_the_initial_rate() -> None:
    clock = Clock()
    gate = KeyRepeatGate(RepeatSettings(), clock)
    gate.press(RIGHT, auto_repeat=False)
    early = hold(gate, clock, 0.5)
    hold(gate, clock, 1.5)
    late = hold(gate, clock, 0.5)
    assert late >= 2 * early


def test_release_stops_and_a_new_press_moves_at_once() -> None:
    clock = Clock()
    gate = KeyRepeatGate(RepeatSettings(), clock)
    gate.press(RIGHT, auto_repeat=False)
    clock.now += 0.01
    assert not gate.press(RIGHT, auto_repeat=True)
    gate.release(RIGHT)
    assert gate.press(RIGHT, auto_repeat=False)


def test_another_key_is_a_new_press_even_if_flagged_as_repeat() -> None:
    clock = Clock()
    gate = KeyRepeatGate(RepeatSettings(), clock)
    gate.press(RIGHT, auto_repeat=False)
    assert gate.press(LEFT, auto_repeat=True)


def test_long_press_fires_once_and_is_no_click() -> None:
    clock = Clock()
    lp = LongPress(0.5, clock)
    lp.press()
    clock.now += 0.49
    assert not lp.poll()
    clock.now += 0.02
    assert lp.poll()
    assert not lp.poll()
    assert lp.release() is False


def test_short_press_is_a_click_on_release() -> None:
    clock = Clock()
    lp = LongPress(0.5, clock)
    lp.press()
    clock.now += 0.2
    assert lp.release() is True
    assert lp.release() is False  # no press, no click


def test_long_press_detected_at_release_even_without_a_poll() -> None:
    clock = Clock()
    lp = LongPress(0.5, clock)
    lp.press()
    clock.now += 0.8  # a remote that sends no auto-repeat for OK (smarttv-twitch #46)
    assert lp.release() is False


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ((100, 200), 0.0),  # fully visible: never scroll (bamlab #108)
        ((0, 300), 0.0),  # exactly filling the view counts as visible
        ((250, 350), 110.0),  # crosses the bottom: lands 60 px above it
        ((-80, 20), -140.0),  # crosses the top: lands 60 px below it
        ((200, 520), 200.0),  # taller than the view: its start aligns
        ((100, 330), 30.0 + 35.0),  # margin shrinks to what fits ((300 - 230) / 2)
    ],
)
def test_scroll_delta(item: tuple[float, float], expected: float) -> None:
    assert scroll_delta(0, 300, item[0], item[1], 60) == expected
