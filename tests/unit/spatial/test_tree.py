"""FocusTree behaviour the JSON cases do not reach: reasons, anchors, layers, errors, peeking."""

from __future__ import annotations

import pytest

from client.spatial import (
    ALL_DIRECTIONS,
    Axis,
    Direction,
    EntryRule,
    FocusGroup,
    FocusTree,
    MoveReason,
    Rect,
)


def row_tree(**group: object) -> FocusTree[str]:
    tree: FocusTree[str] = FocusTree("screen")
    tree.add_group("row", group=FocusGroup(**group))  # type: ignore[arg-type]
    for i in range(4):
        tree.add_item(f"i{i}", Rect(120 * i, 0, 100, 100), "row")
    return tree


def test_move_reasons() -> None:
    tree = row_tree(wrap=frozenset({Axis.HORIZONTAL}), boundaries=frozenset({Direction.UP}))
    first = tree.move(Direction.RIGHT)
    assert (first.source, first.target, first.reason) == (None, "i0", MoveReason.INITIAL)
    assert tree.move(Direction.RIGHT).reason is MoveReason.MOVED
    tree.focus("i3")
    wrapped = tree.move(Direction.RIGHT)
    assert (wrapped.target, wrapped.reason) == ("i0", MoveReason.WRAPPED)
    blocked = tree.move(Direction.UP)
    assert (blocked.target, blocked.reason, blocked.moved) == ("i0", MoveReason.BOUNDARY, False)
    edge = tree.move(Direction.DOWN)
    assert (edge.target, edge.reason) == ("i0", MoveReason.NO_TARGET)


def test_an_empty_screen_has_no_target() -> None:
    tree: FocusTree[str] = FocusTree("screen")
    tree.add_item("off", Rect(0, 0, 10, 10), enabled=False)
    move = tree.move(Direction.DOWN)
    assert (move.target, move.reason) == (None, MoveReason.NO_TARGET)


def test_vertical_wrap() -> None:
    tree: FocusTree[str] = FocusTree("screen")
    tree.add_group("col", group=FocusGroup(wrap=frozenset({Axis.VERTICAL})))
    for i in range(3):
        tree.add_item(f"c{i}", Rect(0, 120 * i, 100, 100), "col")
    tree.focus("c2")
    assert tree.move(Direction.DOWN).target == "c0"
    assert tree.move(Direction.UP).target == "c2"


def test_a_horizontal_move_resets_the_column_anchor() -> None:
    tree: FocusTree[str] = FocusTree("screen")
    for i in range(5):
        tree.add_item(f"a{i}", Rect(220 * i, 0, 200, 100))
    for i in range(2):
        tree.add_item(f"b{i}", Rect(220 * i, 200, 200, 100))
    for i in range(5):
        tree.add_item(f"c{i}", Rect(220 * i, 400, 200, 100))
    tree.focus("a3")
    assert tree.move(Direction.DOWN).target == "b1"
    assert tree.move(Direction.LEFT).target == "b0"
    assert tree.move(Direction.DOWN).target == "c0"  # the column is b0's now, not a3's


def test_peek_changes_nothing() -> None:
    tree: FocusTree[str] = FocusTree("screen")
    tree.add_group("A", group=FocusGroup(entry=EntryRule.REMEMBER_LAST))
    tree.add_group("B", group=FocusGroup(entry=EntryRule.REMEMBER_LAST))
    for i in range(3):
        tree.add_item(f"a{i}", Rect(120 * i, 0, 100, 100), "A")
        tree.add_item(f"b{i}", Rect(120 * i, 200, 100, 100), "B")
    tree.focus("a2")
    tree.move(Direction.DOWN)
    tree.focus("a0")
    assert tree.peek("a0", Direction.DOWN) == "b0"  # memory (b2) is ignored by peek
    assert tree.peek("a0", Direction.DOWN, came_from="b1") == "b1"
    assert tree.focused == "a0"
    assert tree.move(Direction.DOWN).target == "b2"  # the real move still remembers


def test_focusing_a_group_enters_it() -> None:
    tree = row_tree(entry=EntryRule.PREFERRED, preferred="i2")
    tree.focus("row")
    assert tree.focused == "i2"


def test_a_hidden_preferred_first_item_falls_back_to_the_top_left() -> None:
    tree: FocusTree[str] = FocusTree("screen", group=FocusGroup(preferred="b"))
    tree.add_item("a", Rect(0, 0, 10, 10))
    tree.add_item("b", Rect(50, 0, 10, 10), visible=False)
    assert tree.move(Direction.LEFT).target == "a"


def test_hiding_the_group_holding_focus_recovers_outside_it() -> None:
    tree = row_tree()
    tree.add_item("below", Rect(120, 300, 100, 100))
    tree.focus("i1")
    tree.update("row", visible=False)
    assert tree.focused == "below"


def test_closing_a_layer_whose_opener_vanished_focuses_the_entry_item() -> None:
    tree: FocusTree[str] = FocusTree("screen")
    tree.add_item("menu", Rect(0, 0, 100, 50))
    tree.add_item("opener", Rect(200, 0, 100, 50))
    tree.add_group("dialog", group=FocusGroup(boundaries=ALL_DIRECTIONS))
    tree.add_item("ok", Rect(100, 200, 100, 50), "dialog")
    tree.focus("opener")
    tree.open_layer("dialog")
    assert (tree.focused, tree.layer) == ("ok", "dialog")
    tree.remove("opener")
    assert tree.close_layer() == "menu"
    assert tree.layer is None


def test_removing_the_last_item_leaves_nothing_focused() -> None:
    tree: FocusTree[str] = FocusTree("screen")
    tree.add_item("only", Rect(0, 0, 10, 10))
    tree.focus("only")
    tree.remove("only")
    assert tree.focused is None
    assert list(tree.members()) == []


def test_building_errors() -> None:
    tree: FocusTree[str] = FocusTree("screen")
    tree.add_item("a", Rect(0, 0, 10, 10))
    with pytest.raises(ValueError, match="duplicate"):
        tree.add_item("a", Rect(0, 0, 10, 10))
    with pytest.raises(ValueError, match="not a group"):
        tree.add_item("b", Rect(0, 0, 10, 10), "a")
    with pytest.raises(ValueError, match="root"):
        tree.remove("screen")
    with pytest.raises(ValueError, match="negative"):
        Rect(0, 0, -1, 5)


def test_move_from_a_rect_that_is_no_item() -> None:
    tree = row_tree()
    tree.add_item("below", Rect(240, 300, 100, 100))
    move = tree.move_from(Rect(230, 150, 20, 20), Direction.DOWN)
    assert (move.source, move.target, move.reason) == (None, "below", MoveReason.MOVED)
    assert tree.focused == "below"
    assert tree.move_from(Rect(0, 500, 10, 10), Direction.DOWN).reason is MoveReason.NO_TARGET
    assert tree.focused == "below"


def test_a_straight_group_leaves_off_beam_moves_to_the_enclosing_group() -> None:
    # A device card's button at the right; the address field further down reaches further
    # left. Without `straight`, Left from the button lands on the field; with it, the rail.
    def screen(straight: frozenset[Axis]) -> FocusTree[str]:
        tree: FocusTree[str] = FocusTree("window")
        tree.add_group("rail", group=FocusGroup(bounds=Rect(0, 0, 200, 800)))
        tree.add_item("nav", Rect(10, 10, 180, 50), "rail")
        tree.add_group("page", group=FocusGroup(straight=straight))
        tree.add_item("transfer", Rect(900, 100, 200, 60), "page")
        tree.add_item("address", Rect(220, 300, 700, 60), "page")
        tree.focus("transfer")
        return tree

    assert screen(frozenset()).move(Direction.LEFT).target == "address"
    assert screen(frozenset({Axis.HORIZONTAL})).move(Direction.LEFT).target == "nav"
    # Up and down are not restricted: Down from the button still reaches the field.
    assert screen(frozenset({Axis.HORIZONTAL})).move(Direction.DOWN).target == "address"
