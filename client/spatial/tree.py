"""FocusTree: a screen's focusable items in nested groups, and where each key press sends focus.

Navigation searches the innermost group first and escapes outward (css-nav-1); a group is
entered by its entry rule; boundaries stop a move, wrap loops it; focus never disappears.
Every decision where the references disagree is pinned in tests/unit/spatial/cases/decisions.json.
"""

from __future__ import annotations

from collections.abc import Iterator

from client.spatial._model import (
    ALL_DIRECTIONS,
    EntryRule,
    FocusGroup,
    K,
    Move,
    MoveReason,
    _Node,
)
from client.spatial._walk import _Navigation
from client.spatial.geometry import Direction, Rect
from client.spatial.policies import Policy, choose_next

__all__ = ["ALL_DIRECTIONS", "EntryRule", "FocusGroup", "FocusTree", "Move", "MoveReason"]


class FocusTree(_Navigation[K]):
    """The focus model of one screen: items in groups under a root group, and the focus."""

    def __init__(
        self,
        root: K,
        *,
        group: FocusGroup | None = None,
        policy: Policy = Policy.TV,
        rtl: bool = False,
    ) -> None:
        super().__init__(root, group or FocusGroup(), policy, rtl)

    # ------------------------------------------------------------------ building
    def add_group(self, key: K, parent: K | None = None, group: FocusGroup | None = None) -> None:
        """Add an (empty) group under `parent` (the root when None)."""
        self._add(_Node(key, self._parent_key(parent), self._counter, group or FocusGroup()))

    def add_item(
        self,
        key: K,
        rect: Rect,
        parent: K | None = None,
        *,
        visible: bool = True,
        enabled: bool = True,
    ) -> None:
        """Add a focusable item with its layout rect (never the zoomed visual rect)."""
        node = _Node(key, self._parent_key(parent), self._counter, rect=rect)
        node.visible, node.enabled = visible, enabled
        self._add(node)

    def update(
        self,
        key: K,
        *,
        rect: Rect | None = None,
        visible: bool | None = None,
        enabled: bool | None = None,
        group: FocusGroup | None = None,
    ) -> None:
        """Change an item's or group's geometry or state; focus recovers if it just became lost."""
        node = self._nodes[key]
        if group is not None and node.group is not None:
            node.group = group
        was = self._focused is not None and self.is_navigable(self._focused)
        lost_rect = self._nodes[self._focused].rect if self._focused is not None else None
        if rect is not None:
            node.rect = rect
        if visible is not None:
            node.visible = visible
        if enabled is not None:
            node.enabled = enabled
        if was and self._focused is not None and not self.is_navigable(self._focused):
            self._recover(self._focused, lost_rect or node.rect)

    def remove(self, key: K) -> None:
        """Remove an item or a whole group; if it held focus, focus goes to the nearest sibling."""
        if key == self.root:
            raise ValueError("the root group cannot be removed")
        node = self._nodes[key]
        parent_key = node.parent
        assert parent_key is not None
        lost = self._focused
        holds_focus = lost is not None and self._is_within(lost, key)
        for other in self._nodes.values():
            if other.memory is not None and self._is_within(other.memory, key):
                other.memory = None
        self._layers = [(g, o) for g, o in self._layers if not self._is_within(g, key)]
        self._nodes[parent_key].children.remove(key)
        if holds_focus and lost is not None:
            self._recover_from(parent_key, self._nodes[lost].rect, lost)
        for descendant in list(self._subtree(key)):
            del self._nodes[descendant]

    # ------------------------------------------------------------------ queries
    @property
    def focused(self) -> K | None:
        """Return the focused item, or None."""
        return self._focused

    def __contains__(self, key: object) -> bool:
        return key in self._nodes

    def members(self) -> Iterator[tuple[K, K]]:
        """Yield (key, parent) for every item and group but the root, shown or not."""
        for key, node in self._nodes.items():
            if node.parent is not None:
                yield key, node.parent

    def items(self) -> Iterator[K]:
        """Yield every navigable item (not groups) in registration order."""
        for key, node in self._nodes.items():
            if node.group is None and self.is_navigable(key):
                yield key

    def parent(self, key: K) -> K | None:
        """Return the group holding `key` (None for the root)."""
        return self._nodes[key].parent

    def group(self, key: K) -> FocusGroup | None:
        """Return the behaviour of group `key`, or None if `key` is an item."""
        return self._nodes[key].group

    def groups(self) -> Iterator[K]:
        """Yield every group key, root first."""
        for key, node in self._nodes.items():
            if node.group is not None:
                yield key

    # ------------------------------------------------------------------ focus changes
    def focus(self, key: K) -> None:
        """Focus `key` directly (pointer, program); the next arrow continues from it."""
        node = self._nodes[key]
        if node.group is not None:
            target = self._descend(key, self.rect(key), None)
            if target is None:
                return
            key = target
        self._set_focus(key)
        self._anchor = None

    def entry_item(self) -> K | None:
        """Return the item an arrow focuses when nothing is: the preferred, else top-left one."""
        scope = self.layer if self.layer is not None else self.root
        return self._descend(scope, None, None, initial=True)

    def move(self, direction: Direction) -> Move[K]:
        """Apply one arrow press and return what happened."""
        source = self._focused
        if source is None or not self.is_navigable(source):
            target = self.entry_item()
            if target is not None:
                self._set_focus(target)
            self._anchor = None
            return Move(source, target, MoveReason.INITIAL if target else MoveReason.NO_TARGET)
        origin = self._probe(source, direction)
        self._jumped = False
        target, reason = self._resolve(source, origin, direction, stateful=True)
        if target is None or target == source:
            return Move(source, source, reason)
        self._set_focus(target)
        if self._jumped or reason is MoveReason.WRAPPED:
            self._anchor = None
        else:
            self._narrow_anchor(target, direction)
        return Move(source, target, reason)

    def move_from(self, origin: Rect, direction: Direction) -> Move[K]:
        """Move from a rect that is no item: an untracked widget or a pointer position.

        The search is flat over every navigable item of the open layer (or the screen), like
        Android's `findNextFocusFromRect` and the css-nav "starting point".
        """
        scope = self.layer if self.layer is not None else self.root
        items = {
            k: self._nodes[k].rect
            for k in self._subtree(scope)
            if self._nodes[k].group is None and self.is_navigable(k)
        }
        target = choose_next(origin, items, direction, self.policy)
        if target is None:
            return Move(None, None, MoveReason.NO_TARGET)
        self._set_focus(target)
        self._anchor = None
        return Move(None, target, MoveReason.MOVED)

    def peek(self, key: K, direction: Direction, came_from: K | None = None) -> K | None:
        """Return where `direction` leads from `key`, without changing anything (for linting).

        Anchors and stored memory are ignored; a remembering group entered on the way
        remembers `came_from` if it holds it (as it would right after leaving it).
        """
        self._hint = came_from
        try:
            target, _ = self._resolve(key, self.rect(key), direction, stateful=False)
        finally:
            self._hint = None
        return None if target == key else target

    def open_layer(self, group_key: K) -> None:
        """Trap focus inside `group_key` (a dialog) until `close_layer`; remember the opener."""
        self._layers.append((group_key, self._focused))
        target = self._descend(group_key, None, None, initial=True)
        if target is not None:
            self._set_focus(target)
        self._anchor = None

    def close_layer(self) -> K | None:
        """Close the innermost layer; focus returns to its opener (or recovers); return it."""
        _, opener = self._layers.pop()
        if opener is not None and self.is_navigable(opener):
            self._set_focus(opener)
        else:
            self._focused = None
            target = self.entry_item()
            if target is not None:
                self._set_focus(target)
        self._anchor = None
        return self._focused

    def remember(self, group_key: K, child: K | None) -> None:
        """Replace what `group_key` remembers (None forgets); Norigin #60."""
        self._nodes[group_key].memory = child

    def reset_memory(self, group_key: K) -> None:
        """Forget the remembered child of `group_key` and of every group inside it; Norigin #11."""
        for key in self._subtree(group_key):
            self._nodes[key].memory = None

    # ------------------------------------------------------------------ internals
    def _add(self, node: _Node[K]) -> None:
        if node.key in self._nodes:
            raise ValueError(f"duplicate focus key {node.key!r}")
        parent = self._nodes[node.parent]  # type: ignore[index]
        if parent.group is None:
            raise ValueError(f"{node.parent!r} is an item, not a group")
        self._nodes[node.key] = node
        parent.children.append(node.key)
        self._counter += 1

    def _parent_key(self, parent: K | None) -> K:
        return self.root if parent is None else parent
