"""Load the JSON acceptance cases and run one case against a policy (shared by the tests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from client.spatial import (
    ALL_DIRECTIONS,
    Axis,
    Direction,
    EntryRule,
    FocusGroup,
    FocusTree,
    Policy,
    Rect,
    choose_next,
    in_beam,
)

CASES_DIR = Path(__file__).parent / "cases"


def load(name: str) -> list[dict[str, Any]]:
    """Return the cases of one case file."""
    data = json.loads((CASES_DIR / name).read_text(encoding="utf-8"))
    return list(data["cases"])


def rect(values: list[float]) -> Rect:
    """Build a Rect from [x, y, width, height]."""
    return Rect(*(float(v) for v in values))


def run_case(case: dict[str, Any], policy: Policy) -> None:
    """Assert that `policy` meets `case`; raise AssertionError with the case id otherwise."""
    kind = case["kind"]
    cid = case["id"]
    if kind == "better":
        d = Direction(case["direction"])
        origin, better, worse = rect(case["origin"]), rect(case["better"]), rect(case["worse"])
        for order in ({"better": better, "worse": worse}, {"worse": worse, "better": better}):
            got = choose_next(origin, order, d, policy)
            assert got == "better", f"{cid}: {policy.name} chose {got} (order {list(order)})"
    elif kind == "candidate":
        got = choose_next(
            rect(case["origin"]), {"c": rect(case["rect"])}, Direction(case["direction"]), policy
        )
        assert (got == "c") == case["expected"], f"{cid}: {policy.name} candidate={got}"
    elif kind == "beam":
        got_beam = in_beam(
            rect(case["origin"]), rect(case["rect"]), Direction(case["direction"]), policy
        )
        assert got_beam == case["expected"], f"{cid}: {policy.name} in_beam={got_beam}"
    elif kind == "steps":
        _run_flat(case, policy)
    elif kind == "tree":
        _run_tree(case, policy)
    else:
        raise AssertionError(f"{cid}: unknown kind {kind}")


def _run_flat(case: dict[str, Any], policy: Policy) -> None:
    layout = {k: rect(v) for k, v in case["layout"].items()}
    focused = case["start"]
    for i, step in enumerate(case["steps"]):
        others = {k: r for k, r in layout.items() if k != focused}
        got = choose_next(layout[focused], others, Direction(step["press"]), policy)
        focused = got if got is not None else focused
        assert focused == step["expect"], (
            f"{case['id']} step {i} ({step['press']}): {policy.name} focused {focused}, "
            f"expected {step['expect']}"
        )


def build_tree(case: dict[str, Any], policy: Policy) -> FocusTree[str]:
    """Build the FocusTree a tree case describes: groups first, then items in layout order."""
    tree: FocusTree[str] = FocusTree(
        "screen",
        group=FocusGroup(preferred=case.get("preferred_first")),
        policy=policy,
        rtl=case.get("rtl", False),
    )
    hidden_groups = set(case.get("hidden_groups", []))
    for key, spec in case.get("groups", {}).items():
        tree.add_group(
            key,
            spec.get("parent"),
            FocusGroup(
                entry=EntryRule(spec.get("entry", "geometric")),
                preferred=spec.get("preferred"),
                boundaries=(
                    ALL_DIRECTIONS
                    if spec.get("trap")
                    else frozenset(Direction(d) for d in spec.get("boundaries", []))
                ),
                wrap=frozenset(Axis(a) for a in spec.get("wrap", [])),
            ),
        )
        if key in hidden_groups:
            tree.update(key, visible=False)
    parents = case.get("parents", {})
    hidden = set(case.get("hidden", []))
    disabled = set(case.get("disabled", []))
    for key, values in case["layout"].items():
        tree.add_item(
            key,
            rect(values),
            parents.get(key),
            visible=key not in hidden,
            enabled=key not in disabled,
        )
    return tree


def _run_tree(case: dict[str, Any], policy: Policy) -> None:
    tree = build_tree(case, policy)
    if case.get("start") is not None:
        tree.focus(case["start"])
    for i, step in enumerate(case["steps"]):
        if "press" in step:
            tree.move(Direction(step["press"]))
        elif "remove" in step:
            tree.remove(step["remove"])
        elif "update" in step:
            tree.update(step["update"], rect=rect(step["rect"]))
        elif "hide" in step:
            tree.update(step["hide"], visible=False)
        elif "focus" in step:
            tree.focus(step["focus"])
        elif "open_layer" in step:
            tree.open_layer(step["open_layer"])
        elif "close_layer" in step:
            tree.close_layer()
        elif "reset_memory" in step:
            tree.reset_memory(step["reset_memory"])
        elif "remember" in step:
            tree.remember(step["remember"], step["child"])
        assert tree.focused == step["expect"], (
            f"{case['id']} step {i} ({step}): {policy.name} focused {tree.focused}"
        )
