"""The navigation linter on small screens with one known flaw each."""

from __future__ import annotations

from client.spatial import (
    ALL_DIRECTIONS,
    Direction,
    FindingKind,
    FocusGroup,
    FocusTree,
    Rect,
    lint,
)


def grid(rows: int, cols: int) -> FocusTree[str]:
    tree: FocusTree[str] = FocusTree("screen")
    for r in range(rows):
        for c in range(cols):
            tree.add_item(f"r{r}c{c}", Rect(120 * c, 120 * r, 100, 100))
    return tree


def test_a_regular_grid_is_clean() -> None:
    assert lint(grid(3, 4)) == []


def test_two_items_on_the_same_spot_leave_one_unreachable() -> None:
    tree = grid(2, 2)
    tree.add_item("shadow", Rect(120, 0, 100, 100))  # a widget stacked under r0c1
    findings = lint(tree)
    unreachable = [f.items for f in findings if f.kind is FindingKind.UNREACHABLE]
    assert unreachable == [("shadow",)]


def test_a_group_that_blocks_its_only_exit_is_a_trap() -> None:
    tree: FocusTree[str] = FocusTree("screen")
    tree.add_item("A", Rect(0, 0, 100, 100))
    tree.add_item("B", Rect(200, 0, 100, 100))
    tree.add_group("panel", group=FocusGroup(boundaries=frozenset({Direction.UP})))
    tree.add_item("C", Rect(0, 200, 100, 100), "panel")
    tree.add_item("D", Rect(200, 200, 100, 100), "panel")
    findings = lint(tree)
    traps = [f.items for f in findings if f.kind is FindingKind.TRAP]
    assert traps == [("C", "D")]
    one_way = {(f.items[0], f.direction) for f in findings if f.kind is FindingKind.ONE_WAY}
    assert ("A", Direction.DOWN) in one_way


def test_a_declared_dialog_is_not_reported_as_a_trap() -> None:
    tree: FocusTree[str] = FocusTree("screen")
    tree.add_item("A", Rect(0, 0, 100, 100))
    tree.add_group("dialog", group=FocusGroup(boundaries=ALL_DIRECTIONS))
    tree.add_item("C", Rect(0, 200, 100, 100), "dialog")
    tree.add_item("D", Rect(200, 200, 100, 100), "dialog")
    kinds = {f.kind for f in lint(tree)}
    assert FindingKind.TRAP not in kinds


def test_rails_of_different_lengths_report_the_one_way_move() -> None:
    tree: FocusTree[str] = FocusTree("screen")
    for i in range(5):
        tree.add_item(f"r1c{i}", Rect(220 * i, 0, 200, 150))
    for i in range(2):
        tree.add_item(f"r2c{i}", Rect(220 * i, 300, 200, 150))
    findings = [f for f in lint(tree) if f.kind is FindingKind.ONE_WAY]
    described = {(f.items, f.direction) for f in findings}
    assert (("r1c3", "r2c1", "r1c1"), Direction.DOWN) in described
    assert all(f.message for f in findings)


def test_remembering_groups_are_linted_with_their_memory() -> None:
    # Without memory b4 -up-> a4 would never return to a3; a remembering row does.
    from client.spatial import EntryRule

    tree: FocusTree[str] = FocusTree("screen")
    for row, y in (("A", 0), ("B", 200)):
        tree.add_group(row, group=FocusGroup(entry=EntryRule.REMEMBER_LAST))
        for i in range(3):
            tree.add_item(f"{row}{i}", Rect(120 * i, y, 100, 100), row)
    tree.add_item("wide", Rect(0, 400, 340, 100))
    one_way = {(f.items[0], f.direction) for f in lint(tree) if f.kind is FindingKind.ONE_WAY}
    assert ("B0", Direction.DOWN) not in one_way  # wide -up-> remembered B0
    assert ("B2", Direction.DOWN) not in one_way


def _rail_content_bar(bar: FocusGroup) -> FocusTree[str]:
    """A desktop shell: a full-height rail, a content area, a player bar under the content."""
    from client.spatial import EntryRule

    tree: FocusTree[str] = FocusTree("window")
    rail = FocusGroup(
        entry=EntryRule.PREFERRED,
        preferred="nav1",
        boundaries=frozenset({Direction.UP, Direction.DOWN}),
        bounds=Rect(0, 0, 200, 800),
    )
    tree.add_group("rail", group=rail)
    for i in range(3):
        tree.add_item(f"nav{i}", Rect(10, 60 * i + 10, 180, 50), "rail")
    tree.add_group("content", group=FocusGroup(entry=EntryRule.REMEMBER_LAST))
    for i in range(3):
        tree.add_item(f"card{i}", Rect(220 + 220 * i, 40, 200, 200), "content")
    tree.add_group("bar", group=bar)
    tree.add_item("play", Rect(220, 700, 80, 80), "bar")
    tree.add_item("next", Rect(320, 700, 80, 80), "bar")
    return tree


def test_a_move_into_another_area_must_come_back_the_opposite_way() -> None:
    # Left from the bar enters the rail, whose Right returns to the content, not the bar.
    findings = lint(_rail_content_bar(FocusGroup()))
    crossings = [f for f in findings if f.kind is FindingKind.ONE_WAY_AREA]
    assert [(f.items[:2], f.direction) for f in crossings] == [(("play", "nav1"), Direction.LEFT)]
    assert "'bar'" in crossings[0].message
    assert "'content'" in crossings[0].message


def test_areas_that_answer_each_other_are_clean() -> None:
    bar = FocusGroup(boundaries=frozenset({Direction.LEFT}))
    findings = lint(_rail_content_bar(bar))
    assert [f for f in findings if f.kind is FindingKind.ONE_WAY_AREA] == []
    # Item-level one-way moves inside an area are still reported, as before.
    assert any(f.kind is FindingKind.ONE_WAY for f in findings)


def test_with_a_dialog_open_only_the_dialog_is_linted() -> None:
    tree: FocusTree[str] = FocusTree("screen")
    tree.add_item("behind", Rect(0, 0, 100, 100))
    tree.add_group("dialog", group=FocusGroup(boundaries=ALL_DIRECTIONS))
    tree.add_item("yes", Rect(0, 200, 100, 100), "dialog")
    tree.add_item("no", Rect(200, 200, 100, 100), "dialog")
    tree.open_layer("dialog")
    assert lint(tree) == []  # "behind" is out of reach on purpose while the dialog is open
