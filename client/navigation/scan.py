"""Keep a FocusTree in step with a window's widgets: which are focusable, where, in which group."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QAbstractSpinBox, QComboBox, QWidget

from client.spatial import EntryRule, FocusGroup, FocusTree, Policy, Rect

# Compound widgets whose inner editor is part of them, not a focus target of its own.
_COMPOUND = (QAbstractSpinBox, QComboBox)


def layout_rect(widget: QWidget, window: QWidget, size: QSize | None = None) -> Rect:
    """Return `widget`'s layout rectangle in `window` coordinates, ignoring any focus zoom.

    `size` is the widget's resting size when focus makes it grow (spatnav.md D6).
    """
    top_left = widget.mapTo(window, QPoint(0, 0))
    size = size or widget.size()
    return Rect(top_left.x(), top_left.y(), size.width(), size.height())


def _is_candidate_widget(widget: QWidget, window: QWidget, ignored: Collection[QWidget]) -> bool:
    # This runs for every widget on every key press: cheap checks first.
    if widget.isWindow() or widget.window() is not window or widget in ignored:
        return False
    if not widget.focusPolicy() & Qt.FocusPolicy.TabFocus:
        return False
    # Qt's inner parts (a spin box's line edit, a scroll area's viewport) belong to their owner.
    if widget.objectName().startswith("qt_"):
        return False
    return not isinstance(widget.parentWidget(), _COMPOUND)


class WidgetTree:
    """One window's FocusTree keyed by widget, re-synced before every move (cheap if unchanged)."""

    def __init__(
        self,
        window: QWidget,
        groups: Mapping[QWidget, FocusGroup],
        policy: Policy,
        layout_sizes: Mapping[QWidget, QSize] | None = None,
        ignored: Collection[QWidget] = (),
    ) -> None:
        self.window = window
        self._groups = groups
        self._policy = policy
        self._sizes: Mapping[QWidget, QSize] = layout_sizes or {}
        self._ignored = ignored
        self.tree: FocusTree[QWidget] = self._new_tree()
        self._shape: dict[QWidget, tuple[QWidget, bool]] = {}
        self._generation: int | None = None

    def sync(self, generation: int | None = None) -> FocusTree[QWidget]:
        """Bring the tree up to date with the widgets; removed widgets trigger focus recovery.

        With a `generation` (a counter the caller bumps on every geometry, visibility or
        hierarchy event), an unchanged generation skips the scan.
        """
        if generation is not None and generation == self._generation:
            return self.tree
        self._generation = generation
        shape, states = self._scan()
        tree = self.tree
        if tree.rtl != (self.window.layoutDirection() == Qt.LayoutDirection.RightToLeft):
            tree.rtl = not tree.rtl
        kinds = {k: (parent, spec is not None) for k, (parent, spec) in shape.items()}
        root_spec = self._groups.get(self.window)
        if root_spec is not None:
            tree.update(self.window, group=root_spec)
        gone = [k for k in self._shape if kinds.get(k) != self._shape[k]]
        for key in gone:  # reparented, re-specified or deleted: remove, then add back below
            if key in tree:
                tree.remove(key)
        for key, (parent, spec) in shape.items():
            if key in tree:
                continue
            if spec is not None:
                tree.add_group(key, parent if parent is not self.window else None, spec)
            else:
                rect, visible, enabled = states[key]
                tree.add_item(key, rect, parent if parent is not self.window else None,
                              visible=visible, enabled=enabled)  # fmt: skip
        for key, (rect, visible, enabled) in states.items():
            spec = shape[key][1]
            if spec is None:
                tree.update(key, rect=rect, visible=visible, enabled=enabled)
            else:
                tree.update(key, visible=visible, group=spec)
        self._shape = kinds
        return tree

    def _group_of(self, widget: QWidget, groups: Mapping[QWidget, FocusGroup]) -> QWidget:
        """Return the nearest enclosing group widget, else the window."""
        parent = widget.parentWidget()
        while parent is not None and parent is not self.window and parent not in groups:
            parent = parent.parentWidget()
        return parent if parent is not None else self.window

    def _new_tree(self) -> FocusTree[QWidget]:
        rtl = self.window.layoutDirection() == Qt.LayoutDirection.RightToLeft
        spec = self._groups.get(self.window, FocusGroup())
        return FocusTree(self.window, group=spec, policy=self._policy, rtl=rtl)

    def _scan(
        self,
    ) -> tuple[
        dict[QWidget, tuple[QWidget, FocusGroup | None]],
        dict[QWidget, tuple[Rect, bool, bool]],
    ]:
        """Return each key's (parent group, group spec or None) and (rect, visible, enabled)."""
        window = self.window
        shape: dict[QWidget, tuple[QWidget, FocusGroup | None]] = {}
        states: dict[QWidget, tuple[Rect, bool, bool]] = {}
        groups: dict[QWidget, FocusGroup] = {}
        children = window.findChildren(QWidget)
        ignored = self._ignored
        candidates = [w for w in children if _is_candidate_widget(w, window, ignored)]
        for widget in children:
            if widget.window() is not window:
                continue
            spec = self._groups.get(widget)
            if isinstance(widget, QAbstractScrollArea) and (
                (spec is not None and spec.bounds is None)
                or (
                    spec is None
                    and any(c is not widget and widget.isAncestorOf(c) for c in candidates)
                )
            ):
                # From outside, a scroll area is as big as what it shows (its viewport); a
                # declared one keeps its rules and gets the viewport's current bounds.
                bounds = layout_rect(widget.viewport(), window)
                spec = (
                    FocusGroup(entry=EntryRule.REMEMBER_LAST, bounds=bounds)
                    if spec is None
                    else replace(spec, bounds=bounds)
                )
            if spec is not None:
                groups[widget] = spec
        for widget in [*groups, *candidates]:
            if widget in groups and widget in shape:
                continue
            owner = self._group_of(widget, groups)
            is_group = widget in groups
            shape[widget] = (owner, groups[widget] if is_group else None)
            visible = widget.isVisibleTo(window) and window.isVisible()
            rect = layout_rect(widget, window, self._sizes.get(widget))
            states[widget] = (rect, visible, widget.isEnabled())
        # Parents must be registered before children: order groups by depth.
        ordered = dict(sorted(shape.items(), key=lambda kv: (kv[1][1] is None, _depth(kv[0]))))
        return ordered, states


def _depth(widget: QWidget) -> int:
    """Return how many widgets lie between `widget` and its window."""
    depth = 0
    while not widget.isWindow():
        parent = widget.parentWidget()
        if parent is None:
            break
        widget, depth = parent, depth + 1
    return depth


def widget_rect(widget: QWidget, window: QWidget) -> QRect:
    """Return `widget`'s layout rectangle in `window` coordinates as a QRect."""
    r = layout_rect(widget, window)
    return QRect(int(r.x), int(r.y), int(r.width), int(r.height))
