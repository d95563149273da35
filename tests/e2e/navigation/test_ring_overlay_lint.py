"""The focus ring's pixels, the debug overlay's record, the linter on a real window, D6."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor

from client.navigation import (
    contrast_ratio,
    ring_thickness,
    worst_ring_contrast,
)
from client.spatial import FindingKind
from tests.e2e.navigation.conftest import button, focused_name, press, show

channel = st.integers(0, 255)


@settings(max_examples=500, deadline=None)
@given(channel, channel, channel)
def test_one_band_of_the_ring_reaches_3_to_1_on_any_background(r, g, b):
    assert worst_ring_contrast((r, g, b)) >= 3.0


def test_contrast_and_thickness_reference_values():
    assert round(contrast_ratio((255, 255, 255), (0, 0, 0)), 1) == 21.0
    assert ring_thickness(1080) == 6
    assert ring_thickness(2160) == 12
    assert ring_thickness(480) == 4


def test_the_ring_surrounds_the_focused_widget_with_both_tones(qtbot, screen, navigator):
    screen.setStyleSheet("background: rgb(40, 90, 160);")
    a = button(screen, "a", 200, 200, 200, 100)
    button(screen, "b", 500, 200, 200, 100)
    show(qtbot, screen)
    a.setFocus()
    press(qtbot, Qt.Key.Key_Right)
    assert focused_name() == "b"
    ring = navigator.ring
    assert ring.isVisible()
    t = ring.thickness
    assert ring.ring_rect.contains(navigator.tree().rect(screen.findChild(type(a), "b")).x + 1, 201)
    image = screen.grab().toImage()
    left = ring.ring_rect.left()
    mid_y = ring.ring_rect.center().y()
    # Outer band light, inner band dark, then the widget: the ring never covers content.
    assert QColor(image.pixel(left + 1, mid_y)).name() == "#ffffff"
    assert QColor(image.pixel(left + t + 1, mid_y)).name() == "#000000"
    assert ring.ring_rect.left() < 500
    assert ring.ring_rect.right() > 700


def test_the_debug_overlay_toggles_and_shows_the_choice(qtbot, screen, navigator):
    a = button(screen, "a", 100, 100)
    button(screen, "b", 300, 100)
    button(screen, "c", 100, 300)
    show(qtbot, screen)
    a.setFocus()
    press(qtbot, Qt.Key.Key_F12)
    assert navigator.overlay.isVisible()
    press(qtbot, Qt.Key.Key_Right)
    decision = navigator.overlay.decision
    assert decision is not None
    assert (decision.chosen.x, decision.chosen.y) == (300, 100)
    assert (decision.origin.x, decision.origin.y) == (100, 100)
    assert len(decision.candidates) == 2
    assert not navigator.overlay.grab().isNull()
    press(qtbot, Qt.Key.Key_F12)
    assert not navigator.overlay.isVisible()


def test_the_linter_reads_a_real_window(qtbot, screen, navigator):
    button(screen, "a", 100, 100)
    button(screen, "b", 300, 100)
    button(screen, "stacked", 300, 100)  # two widgets on one spot: one can never be reached
    ignored = button(screen, "decoration", 500, 100)
    navigator.ignore(ignored)
    show(qtbot, screen)
    findings = navigator.lint()
    described = [(f.kind, [w.objectName() for w in f.items]) for f in findings]
    assert described == [
        (FindingKind.UNREACHABLE, ["stacked"]),
        # From the hidden twin Left reaches a, whose Right goes to b, not back to it.
        (FindingKind.ONE_WAY, ["stacked", "a", "b"]),
    ]


def test_a_widget_that_grows_when_focused_is_navigated_by_its_resting_size(
    qtbot, screen, navigator
):
    menu = button(screen, "menu", 0, 100, 80, 60)
    navigator.set_layout_size(menu, QSize(80, 60))
    button(screen, "card0", 120, 100, 200, 120)
    button(screen, "card1", 340, 100, 200, 120)
    show(qtbot, screen)
    menu.setFocus()
    menu.resize(
        300, 60
    )  # the expanded, focused look overlaps card0 (react-spatial-navigation #106)
    menu.raise_()
    press(qtbot, Qt.Key.Key_Right)
    assert focused_name() == "card0"


def test_the_ring_follows_a_widget_the_layout_moves(qtbot, screen, navigator):
    a = button(screen, "a", 200, 200)
    show(qtbot, screen)
    a.setFocus()
    qtbot.waitUntil(lambda: navigator.ring.isVisible() and navigator.ring.ring_rect.left() < 200)
    a.move(600, 300)
    qtbot.waitUntil(lambda: navigator.ring.ring_rect.left() > 500, timeout=2000)
    assert navigator.ring.ring_rect.top() < 300 < navigator.ring.ring_rect.bottom()
