"""The navigation linter: unreachable items, traps and one-way moves of one screen's FocusTree.

A screen's main areas are the groups directly under its root, or under the open layer
(items lying loose there share one area): a side rail, the content, a player bar, a TV's top
bar. A move that crosses from one area to another must come back the opposite way (Android
TV's "predictable"): Right from the rail into the content and Left back to the rail, never
Left into a different area.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from client.spatial.geometry import Direction
from client.spatial.tree import ALL_DIRECTIONS, FocusTree

K = TypeVar("K", bound=Hashable)


class FindingKind(enum.Enum):
    """What the linter found (after WICG's chrome-extension detectors)."""

    UNREACHABLE = "unreachable"  # no arrow path from the screen's entry item
    TRAP = "trap"  # a set of items arrows cannot leave, and no dialog declared it
    ONE_WAY = "one_way"  # A -d-> B but B -opposite(d)-> does not return to A
    ONE_WAY_AREA = "one_way_area"  # A -d-> B in another area, and the way back leaves A's area


@dataclass(frozen=True)
class Finding(Generic[K]):
    """One problem: its kind, the items involved, the direction when relevant, in words."""

    kind: FindingKind
    items: tuple[K, ...]
    direction: Direction | None
    message: str


def lint(tree: FocusTree[K]) -> list[Finding[K]]:
    """Return every finding for `tree`: unreachable, traps, one-way moves, one-way crossings."""
    # With a dialog open (a layer), the screen is the dialog: nothing outside it counts.
    items = [i for i in tree.items() if tree.layer is None or _within(tree, i, tree.layer)]
    edges: dict[K, dict[Direction, K]] = {}
    for item in items:
        edges[item] = {}
        for direction in Direction:
            target = tree.peek(item, direction)
            if target is not None:
                edges[item][direction] = target
    entry = tree.entry_item()
    reachable = _reachable(entry, edges)
    findings: list[Finding[K]] = [
        Finding(FindingKind.UNREACHABLE, (item,), None, f"{item!r} cannot be reached by arrows")
        for item in items
        if item not in reachable
    ]
    findings += _traps(tree, [i for i in items if i in reachable], edges)
    area_of = _areas(tree)
    crossings: list[Finding[K]] = []
    for item in items:
        for direction, target in edges[item].items():
            back = tree.peek(target, direction.opposite, came_from=item)
            if back == item:
                continue
            involved = (item, target) if back is None else (item, target, back)
            findings.append(
                Finding(
                    FindingKind.ONE_WAY,
                    involved,
                    direction,
                    f"{item!r} -{direction.value}-> {target!r} but "
                    f"{direction.opposite.value} leads to {back!r}",
                )
            )
            home = area_of.get(item)
            if area_of.get(target) == home or (back is not None and area_of.get(back) == home):
                continue
            crossings.append(
                Finding(
                    FindingKind.ONE_WAY_AREA,
                    involved,
                    direction,
                    f"{item!r} -{direction.value}-> {target!r} leaves {home!r} for "
                    f"{area_of.get(target)!r}, but {direction.opposite.value} from there leads "
                    f"to {back!r} in {area_of.get(back) if back is not None else None!r}",
                )
            )
    return findings + crossings


def _areas(tree: FocusTree[K]) -> dict[K, K]:
    """Map every navigable item to its main area: its group just under the root (or layer).

    Items lying loose under the root share one area, the root's own.
    """
    scope = tree.layer if tree.layer is not None else tree.root
    areas: dict[K, K] = {}
    for item in tree.items():
        current: K = item
        parent = tree.parent(current)
        while parent is not None and parent != scope:
            current, parent = parent, tree.parent(parent)
        if parent == scope:
            areas[item] = scope if current == item else current
    return areas


def _reachable(entry: K | None, edges: dict[K, dict[Direction, K]]) -> set[K]:
    seen: set[K] = set()
    stack = [] if entry is None else [entry]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(edges.get(node, {}).values())
    return seen


def _traps(
    tree: FocusTree[K], nodes: list[K], edges: dict[K, dict[Direction, K]]
) -> list[Finding[K]]:
    """Closed strongly connected sets smaller than the screen, unless a dialog declares them."""
    findings: list[Finding[K]] = []
    for component in _components(nodes, edges):
        closed = all(t in component for n in component for t in edges[n].values())
        if not closed or len(component) == len(nodes) or _declared_trap(tree, component):
            continue
        ordered = tuple(n for n in nodes if n in component)
        findings.append(
            Finding(FindingKind.TRAP, ordered, None, f"arrows cannot leave {list(ordered)!r}")
        )
    return findings


def _declared_trap(tree: FocusTree[K], component: set[K]) -> bool:
    """True if the items fill a group with all four boundaries (a dialog) or the open layer."""
    for group_key in tree.groups():
        spec = tree.group(group_key)
        if spec is None:
            continue
        if spec.boundaries == ALL_DIRECTIONS or group_key == tree.layer:
            members = {i for i in tree.items() if _within(tree, i, group_key)}
            if members == component:
                return True
    return False


def _within(tree: FocusTree[K], item: K, group_key: K) -> bool:
    current: K | None = item
    while current is not None:
        if current == group_key:
            return True
        current = tree.parent(current)
    return False


def _components(nodes: list[K], edges: dict[K, dict[Direction, K]]) -> list[set[K]]:
    """Strongly connected components (Kosaraju, iterative: screens can hold thousands)."""
    order: list[K] = []
    seen: set[K] = set()
    for start in nodes:
        if start in seen:
            continue
        seen.add(start)
        stack = [(start, iter(edges[start].values()))]
        while stack:
            node, successors = stack[-1]
            nxt = next((s for s in successors if s not in seen and s in edges), None)
            if nxt is None:
                stack.pop()
                order.append(node)
            else:
                seen.add(nxt)
                stack.append((nxt, iter(edges[nxt].values())))
    reverse: dict[K, list[K]] = {n: [] for n in nodes}
    for n in nodes:
        for t in edges[n].values():
            if t in reverse:
                reverse[t].append(n)
    components: list[set[K]] = []
    assigned: set[K] = set()
    for root in reversed(order):
        if root in assigned:
            continue
        component = {root}
        assigned.add(root)
        todo = [root]
        while todo:
            for pred in reverse[todo.pop()]:
                if pred not in assigned:
                    assigned.add(pred)
                    component.add(pred)
                    todo.append(pred)
        components.append(component)
    return components
