"""The search behind FocusTree: escape outward, enter groups, wrap, anchor, recover."""

from __future__ import annotations

from client.spatial._model import EntryRule, K, MoveReason, _TreeState
from client.spatial.geometry import Axis, Direction, Rect
from client.spatial.policies import choose_next, in_beam


class _Navigation(_TreeState[K]):
    """Where a key press or a lost focus sends focus; no public API here."""

    def _set_focus(self, key: K) -> None:
        """Focus `key` and make every enclosing group remember the path to it."""
        self._focused = key
        child, parent = key, self._nodes[key].parent
        while parent is not None:
            self._nodes[parent].memory = child
            child, parent = parent, self._nodes[parent].parent

    def _resolve(
        self, source: K, origin: Rect, direction: Direction, *, stateful: bool
    ) -> tuple[K | None, MoveReason]:
        """Search the innermost group first, then escape outward until a boundary or the root."""
        child, group_key = source, self._nodes[source].parent
        while group_key is not None:
            spec = self._nodes[group_key].group
            assert spec is not None
            kids = {k: self.rect(k) for k in self._ordered_children(group_key) if k != child}
            if direction.axis in spec.straight:
                kids = {k: r for k, r in kids.items() if in_beam(origin, r, direction)}
            pick = choose_next(origin, kids, direction, self.policy)
            if pick is not None:
                target = self._descend(pick, origin, direction, stateful=stateful)
                if target is not None:
                    return target, MoveReason.MOVED
            if direction.axis in spec.wrap:
                target = self._wrap(group_key, origin, direction, stateful=stateful)
                if target is not None and target != source:
                    return target, MoveReason.WRAPPED
            if direction in spec.boundaries or group_key == self.layer:
                return None, MoveReason.BOUNDARY
            child, group_key = group_key, self._nodes[group_key].parent
        return None, MoveReason.NO_TARGET

    def _wrap(
        self, group_key: K, origin: Rect, direction: Direction, *, stateful: bool
    ) -> K | None:
        """Search again from just outside the group's opposite edge (opt-in, Norigin #158)."""
        b = self.rect(group_key)
        if direction is Direction.RIGHT:
            probe = Rect(b.left - 1, origin.y, 0, origin.height)
        elif direction is Direction.LEFT:
            probe = Rect(b.right + 1, origin.y, 0, origin.height)
        elif direction is Direction.DOWN:
            probe = Rect(origin.x, b.top - 1, origin.width, 0)
        else:
            probe = Rect(origin.x, b.bottom + 1, origin.width, 0)
        kids = self._ordered_children(group_key)
        pick = choose_next(probe, {k: self.rect(k) for k in kids}, direction, self.policy)
        return None if pick is None else self._descend(pick, probe, direction, stateful=stateful)

    def _descend(
        self,
        key: K,
        origin: Rect | None,
        direction: Direction | None,
        *,
        initial: bool = False,
        stateful: bool = True,
    ) -> K | None:
        """Return the item focus lands on when it enters `key` (an item is its own answer)."""
        node = self._nodes[key]
        spec = node.group
        if spec is None:
            return key
        kids = self._ordered_children(key)
        if not kids:
            return None
        preferred = spec.preferred
        if (
            preferred is not None
            and preferred in self._nodes
            and self._is_within(preferred, key)
            and self.is_navigable(preferred)
            and (initial or spec.entry is EntryRule.PREFERRED)
        ):
            self._jumped = True
            return self._descend(preferred, origin, direction, stateful=stateful)
        if initial:
            return self._top_start_item(key)
        pick: K | None = None
        if spec.entry is EntryRule.REMEMBER_LAST and stateful and node.memory in kids:
            pick = node.memory
        elif spec.entry is EntryRule.REMEMBER_LAST and not stateful and self._hint is not None:
            hint = self._hint
            pick = next((k for k in kids if self._is_within(hint, k)), None)
        elif spec.entry is EntryRule.FIRST:
            pick = kids[0]
        # An entry rule can put focus far from where the eye was: the column anchor restarts.
        self._jumped = self._jumped or pick is not None
        if pick is None and origin is not None and direction is not None:
            pick = choose_next(origin, {k: self.rect(k) for k in kids}, direction, self.policy)
        if pick is None:
            ref = origin or self.rect(key)
            pick = min(kids, key=lambda k: ref.center_distance(self.rect(k)))
        return self._descend(pick, origin, direction, stateful=stateful)

    def _top_start_item(self, group_key: K) -> K | None:
        """Return the item nearest the group's top-left corner (top-right in RTL); Norigin."""
        box = self.rect(group_key)
        best: K | None = None
        best_d = float("inf")
        for key in self._subtree(group_key):
            if self._nodes[key].group is not None or not self.is_navigable(key):
                continue
            r = self._nodes[key].rect
            d = (box.right - r.right if self.rtl else r.left - box.left) + (r.top - box.top)
            if d < best_d:
                best, best_d = key, d
        return best

    def _probe(self, source: K, direction: Direction) -> Rect:
        """Return the search origin: the source narrowed to the sticky cross-axis anchor."""
        r = self._nodes[source].rect
        horizontal = direction.axis is Axis.HORIZONTAL
        lo, hi = (r.top, r.bottom) if horizontal else (r.left, r.right)
        if self._anchor is None or self._anchor[0] is not direction.axis:
            self._anchor = (direction.axis, lo, hi)
        _, a_lo, a_hi = self._anchor
        if horizontal:
            return Rect(r.x, a_lo, r.width, a_hi - a_lo)
        return Rect(a_lo, r.y, a_hi - a_lo, r.height)

    def _narrow_anchor(self, target: K, direction: Direction) -> None:
        """Keep the anchor where the target overlaps it; keep it whole where it does not."""
        if self._anchor is None:
            return
        r = self._nodes[target].rect
        lo, hi = (r.top, r.bottom) if direction.axis is Axis.HORIZONTAL else (r.left, r.right)
        axis, a_lo, a_hi = self._anchor
        if lo < a_hi and hi > a_lo:
            self._anchor = (axis, max(lo, a_lo), min(hi, a_hi))

    def _recover(self, lost_key: K, lost_rect: Rect) -> None:
        """Refocus after the focused item became hidden or disabled."""
        parent = self._nodes[lost_key].parent
        assert parent is not None
        self._recover_from(parent, lost_rect, lost_key)

    def _recover_from(self, group_key: K, lost_rect: Rect, lost_key: K) -> None:
        """Focus the nearest sibling of a lost item (the next in reading order on a tie)."""
        lost_reading = (lost_rect.top, -lost_rect.right if self.rtl else lost_rect.left)
        current: K | None = group_key
        self._anchor = None
        while current is not None:
            if self.is_navigable(current):
                kids = [
                    k for k in self._ordered_children(current) if not self._is_within(lost_key, k)
                ]
                if kids:
                    pick = min(
                        kids,
                        key=lambda k: (
                            lost_rect.center_distance(self.rect(k)),
                            0 if self._reading_key(k)[:2] > lost_reading else 1,
                        ),
                    )
                    target = self._descend(pick, lost_rect, None)
                    if target is not None:
                        self._set_focus(target)
                        return
            if current == self.layer:
                break
            current = self._nodes[current].parent
        self._focused = None
        scope = self.layer if self.layer is not None else self.root
        target = self._descend(scope, None, None, initial=True)
        if target is not None:
            self._set_focus(target)
