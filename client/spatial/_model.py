"""The focus tree's data: groups, items, move outcomes, and the read-only queries over them."""

from __future__ import annotations

import enum
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from client.spatial.geometry import Axis, Direction, Rect
from client.spatial.policies import Policy

K = TypeVar("K", bound=Hashable)

ALL_DIRECTIONS = frozenset(Direction)


class EntryRule(enum.Enum):
    """Which child a group gives focus to when focus enters it from outside."""

    GEOMETRIC = "geometric"  # the child nearest to where focus came from (the default)
    REMEMBER_LAST = "remember_last"  # the child focused last, else geometric
    PREFERRED = "preferred"  # the group's preferred child, else geometric
    FIRST = "first"  # the first child in reading order (top-left, top-right in RTL)


class MoveReason(enum.Enum):
    """Why focus ended where it did after a key press."""

    MOVED = "moved"
    WRAPPED = "wrapped"
    INITIAL = "initial"  # nothing was focused: the screen's first item took focus
    BOUNDARY = "boundary"  # a group's boundary stopped the move
    NO_TARGET = "no_target"  # nothing lies that way


@dataclass(frozen=True)
class FocusGroup:
    """How a group behaves: entry rule, boundaries (traps), wrap axes, explicit bounds."""

    entry: EntryRule = EntryRule.GEOMETRIC
    preferred: Hashable | None = None
    boundaries: frozenset[Direction] = frozenset()
    wrap: frozenset[Axis] = frozenset()
    bounds: Rect | None = None  # e.g. a scroll area's viewport; None = the children's box
    # Along these axes only children in the origin's beam count here; anything off the beam
    # is left to the enclosing groups (a screen's Left goes to the side rail, not to a field
    # further down; js-spatial-navigation's `straightOnly`, css-nav's grid function).
    straight: frozenset[Axis] = frozenset()


@dataclass(frozen=True)
class Move(Generic[K]):
    """The outcome of one arrow press: where focus was, where it is, and why."""

    source: K | None
    target: K | None
    reason: MoveReason

    @property
    def moved(self) -> bool:
        """Return True if focus changed."""
        return self.target is not None and self.target != self.source


@dataclass
class _Node(Generic[K]):
    key: K
    parent: K | None
    order: int
    group: FocusGroup | None = None  # None for items
    rect: Rect = field(default_factory=lambda: Rect(0, 0, 0, 0))
    visible: bool = True
    enabled: bool = True
    children: list[K] = field(default_factory=list)
    memory: K | None = None


class _TreeState(Generic[K]):
    """Node storage and the queries the search and the public tree share."""

    root: K
    policy: Policy
    rtl: bool

    def __init__(self, root: K, group: FocusGroup, policy: Policy, rtl: bool) -> None:
        self.root = root
        self.policy = policy
        self.rtl = rtl
        self._nodes: dict[K, _Node[K]] = {root: _Node(root, None, 0, group)}
        self._counter = 1
        self._focused: K | None = None
        self._anchor: tuple[Axis, float, float] | None = None
        self._hint: K | None = None  # what a stateless peek treats as remembered
        self._jumped = False  # set when an entry rule (not geometry) chose the last target
        self._layers: list[tuple[K, K | None]] = []  # (trap group, the opener to restore)

    def rect(self, key: K) -> Rect:
        """Return an item's layout rect, or a group's bounds (its navigable children's box)."""
        node = self._nodes[key]
        if node.group is None:
            return node.rect
        if node.group.bounds is not None:
            return node.group.bounds
        box: Rect | None = None
        for child in node.children:
            if self._enterable(child):
                r = self.rect(child)
                box = r if box is None else box.united(r)
        return box or Rect(0, 0, 0, 0)

    def is_navigable(self, key: K) -> bool:
        """Return True if focus may land on (or, for a group, enter) `key`."""
        if not self._enterable(key):
            return False
        parent = self._nodes[key].parent
        while parent is not None:
            p = self._nodes[parent]
            if not p.visible or not p.enabled:
                return False
            parent = p.parent
        return True

    @property
    def layer(self) -> K | None:
        """Return the innermost open layer (a dialog's group), or None."""
        return self._layers[-1][0] if self._layers else None

    def _enterable(self, key: K) -> bool:
        """Shown, enabled and (for a group) holding something focusable; ancestors unchecked."""
        node = self._nodes.get(key)
        if node is None or not node.visible or not node.enabled:
            return False
        return node.group is None or any(self._enterable(c) for c in node.children)

    def _ordered_children(self, group_key: K) -> list[K]:
        """Return the enterable children in reading order (RTL-aware), then registration."""
        kids = [c for c in self._nodes[group_key].children if self._enterable(c)]
        return sorted(kids, key=self._reading_key)

    def _reading_key(self, key: K) -> tuple[float, float, int]:
        r = self.rect(key)
        return (r.top, -r.right if self.rtl else r.left, self._nodes[key].order)

    def _is_within(self, key: K, ancestor: K) -> bool:
        current: K | None = key
        while current is not None:
            if current == ancestor:
                return True
            current = self._nodes[current].parent
        return False

    def _subtree(self, key: K) -> Iterator[K]:
        yield key
        for child in self._nodes[key].children:
            yield from self._subtree(child)
