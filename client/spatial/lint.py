"""The navigation linter: unreachable items, traps and one-way moves of one screen's FocusTree."""

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


@dataclass(frozen=True)
class Finding(Generic[K]):
    """One problem: its kind, the items involved, the direction when relevant, in words."""

    kind: FindingKind
    items: tuple[K, ...]
    direction: Direction | None
    message: str


def lint(tree: FocusTree[K]) -> list[Finding[K]]:
    """Return every finding for `tree`: unreachable first, then traps, then one-way moves."""
    items = list(tree.items())
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
    for item in items:
        for direction, target in edges[item].items():
            back = tree.peek(target, direction.opposite, came_from=item)
            if back != item:
                findings.append(
                    Finding(
                        FindingKind.ONE_WAY,
                        (item, target) if back is None else (item, target, back),
                        direction,
                        f"{item!r} -{direction.value}-> {target!r} but "
                        f"{direction.opposite.value} leads to {back!r}",
                    )
                )
    return findings


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
