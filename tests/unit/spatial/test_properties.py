"""Properties every policy keeps on any layout (hypothesis), from spatnav.md §8.4."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from client.spatial import Direction, FocusTree, Policy, Rect, choose_next, lint

policies = st.sampled_from(list(Policy))
directions = st.sampled_from(list(Direction))
rects = st.builds(
    Rect,
    st.integers(-500, 500),
    st.integers(-500, 500),
    st.integers(0, 300),
    st.integers(0, 300),
)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 5), st.integers(1, 6), st.integers(0, 40), policies)
def test_right_then_left_returns_in_a_regular_grid(rows: int, cols: int, gap: int, policy: Policy):
    layout = {
        (r, c): Rect(c * (100 + gap), r * (80 + gap), 100, 80)
        for r in range(rows)
        for c in range(cols)
    }
    for (r, c), origin in layout.items():
        for d in Direction:
            others = {k: v for k, v in layout.items() if k != (r, c)}
            target = choose_next(origin, others, d, policy)
            if target is None:
                continue
            back = choose_next(
                layout[target], {k: v for k, v in layout.items() if k != target}, d.opposite, policy
            )
            assert back == (r, c)


@settings(max_examples=300, deadline=None)
@given(rects, st.lists(rects, max_size=12), directions, policies)
def test_the_choice_is_never_the_origin_nor_around_it(
    origin: Rect, others: list[Rect], direction: Direction, policy: Policy
):
    candidates = dict(enumerate(others))
    got = choose_next(origin, candidates, direction, policy)
    if got is not None:
        chosen = candidates[got]
        assert chosen != origin
        # A zero-area origin (AOSP testSearchFromEmptyRect) may lie inside its target.
        if origin.width > 0 and origin.height > 0:
            assert not chosen.contains(origin)


@settings(max_examples=300, deadline=None)
@given(rects, st.lists(rects, max_size=12), directions, st.sampled_from([Policy.TV, Policy.WICG]))
def test_the_choice_only_depends_on_order_through_exact_ties(
    origin: Rect, others: list[Rect], direction: Direction, policy: Policy
):
    # Not Policy.ANDROID: FocusFinder's pairwise rule is not transitive (kept for parity).
    forward = dict(enumerate(others))
    backward = dict(reversed(list(forward.items())))
    a, b = (
        choose_next(origin, forward, direction, policy),
        choose_next(origin, backward, direction, policy),
    )
    if a != b:
        assert a is not None
        assert b is not None
        # A different answer is only allowed between two candidates that tie.
        assert choose_next(origin, {0: forward[a], 1: forward[b]}, direction, policy) == 0
        assert choose_next(origin, {0: forward[b], 1: forward[a]}, direction, policy) == 0


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(rects, st.booleans(), st.booleans()), min_size=1, max_size=15),
    st.lists(directions, max_size=20),
)
def test_focus_never_lands_on_a_hidden_or_disabled_item_and_never_vanishes(items, presses):
    tree: FocusTree[int] = FocusTree(-1)
    for i, (r, visible, enabled) in enumerate(items):
        tree.add_item(i, r, visible=visible, enabled=enabled)
    navigable = {i for i, (_, v, e) in enumerate(items) if v and e}
    for d in presses:
        tree.move(d)
        if navigable:
            assert tree.focused in navigable
        else:
            assert tree.focused is None


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(1, 5))
def test_regular_grids_lint_clean(rows: int, cols: int):
    tree: FocusTree[tuple[int, int]] = FocusTree((-1, -1))
    for r in range(rows):
        for c in range(cols):
            tree.add_item((r, c), Rect(120 * c, 120 * r, 100, 100))
    assert lint(tree) == []
