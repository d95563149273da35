"""SpatialNavigator: arrows, OK, Back and media keys on a Qt window, through a FocusTree."""

from __future__ import annotations

import enum
import logging
import time

import shiboken6
from PySide6.QtCore import QChildEvent, QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QEnterEvent,
    QHideEvent,
    QKeyEvent,
    QMoveEvent,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import QAbstractButton, QApplication, QComboBox, QDialog, QWidget

from client.navigation.overlay import DebugOverlay, Decision
from client.navigation.repeat import Clock, KeyRepeatGate, LongPress, RepeatSettings
from client.navigation.ring import FocusRing
from client.navigation.scan import WidgetTree, layout_rect
from client.navigation.scrolling import ensure_visible
from client.navigation.textfields import is_text_entry, keeps_arrow
from client.spatial import Direction, Finding, FocusGroup, FocusTree, Move, Policy, lint

logger = logging.getLogger(__name__)

ARROWS = {
    Qt.Key.Key_Left: Direction.LEFT,
    Qt.Key.Key_Right: Direction.RIGHT,
    Qt.Key.Key_Up: Direction.UP,
    Qt.Key.Key_Down: Direction.DOWN,
}
OK_KEYS = frozenset({Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Select, Qt.Key.Key_Space})
BACK_KEYS = frozenset({Qt.Key.Key_Escape, Qt.Key.Key_Back, Qt.Key.Key_Backspace})


# Events after which the widget geometry may differ: the next key press rescans the window.
_LAYOUT_EVENTS = (QChildEvent, QShowEvent, QHideEvent, QMoveEvent, QResizeEvent)
_LAYOUT_EVENT_TYPES = frozenset(
    {
        QEvent.Type.EnabledChange,
        QEvent.Type.ParentChange,
        QEvent.Type.LayoutDirectionChange,
        QEvent.Type.ShowToParent,
        QEvent.Type.HideToParent,
    }
)


class MediaAction(enum.Enum):
    """A remote's media key, as the player understands it."""

    PLAY_PAUSE = "play_pause"
    PLAY = "play"
    PAUSE = "pause"
    STOP = "stop"
    NEXT = "next"
    PREVIOUS = "previous"
    FORWARD = "forward"
    REWIND = "rewind"
    VOLUME_UP = "volume_up"
    VOLUME_DOWN = "volume_down"
    MUTE = "mute"


MEDIA_KEYS = {
    Qt.Key.Key_MediaTogglePlayPause: MediaAction.PLAY_PAUSE,
    Qt.Key.Key_MediaPlay: MediaAction.PLAY,
    Qt.Key.Key_MediaPause: MediaAction.PAUSE,
    Qt.Key.Key_MediaStop: MediaAction.STOP,
    Qt.Key.Key_MediaNext: MediaAction.NEXT,
    Qt.Key.Key_MediaPrevious: MediaAction.PREVIOUS,
    Qt.Key.Key_AudioForward: MediaAction.FORWARD,
    Qt.Key.Key_AudioRewind: MediaAction.REWIND,
    Qt.Key.Key_VolumeUp: MediaAction.VOLUME_UP,
    Qt.Key.Key_VolumeDown: MediaAction.VOLUME_DOWN,
    Qt.Key.Key_VolumeMute: MediaAction.MUTE,
}


class SpatialNavigator(QObject):
    """Drives focus in `window` (and its dialogs) from remote keys; one per top-level window."""

    moved = Signal(object, object)  # (source widget or None, target widget)
    no_target = Signal(object)  # Direction: nothing that way, or a boundary
    activated = Signal(object)  # OK released on a widget (buttons are also clicked)
    long_pressed = Signal(object)  # OK held past the threshold on a widget
    back_requested = Signal()  # Back with no layer or dialog left to close
    media_key = Signal(object)  # MediaAction

    def __init__(
        self,
        window: QWidget,
        *,
        policy: Policy = Policy.TV,
        repeat: RepeatSettings | None = None,
        clock: Clock = time.monotonic,
        scroll_margin: int = 48,
        debug_key: Qt.Key = Qt.Key.Key_F12,
        hover_focus: bool = True,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.policy = policy
        self.scroll_margin = scroll_margin
        self.debug_key = debug_key
        self.hover_focus = hover_focus
        self._settings = repeat or RepeatSettings()
        self._gate = KeyRepeatGate(self._settings, clock)
        self._long = LongPress(self._settings.long_press, clock)
        self._long_target: QWidget | None = None
        self._groups: dict[QWidget, FocusGroup] = {}
        self._layout_sizes: dict[QWidget, QSize] = {}
        self._ignored: set[QWidget] = set()
        self._trees: dict[QWidget, WidgetTree] = {}
        self._layers: list[QWidget] = []
        self._openers: dict[QWidget, QWidget | None] = {}  # dialog -> widget focused before it
        self._guard = False
        self._closed = False
        self._ring_refresh_pending = False
        self._generation = 0  # bumped by layout events; trees rescan only when it moved
        self._rings: dict[QWidget, FocusRing] = {}
        self.ring = self._ring_for(window)
        self.overlay = DebugOverlay(window)
        app = QApplication.instance()
        assert isinstance(app, QApplication), "a QApplication must exist"
        app.installEventFilter(self)
        app.focusChanged.connect(self._on_focus_changed)

    # ------------------------------------------------------------------ public
    def declare_group(self, widget: QWidget, group: FocusGroup | None = None) -> None:
        """Make `widget`'s focusable descendants one FocusGroup (rows, grids, dialogs)."""
        self._groups[widget] = group or FocusGroup()
        self._generation += 1

    def set_layout_size(self, widget: QWidget, size: QSize) -> None:
        """Navigate `widget` by this resting size even while focus makes it grow (D6)."""
        self._layout_sizes[widget] = size
        self._generation += 1

    def ignore(self, widget: QWidget) -> None:
        """Never focus `widget` with arrows (it stays reachable by pointer and Tab)."""
        self._ignored.add(widget)
        self._generation += 1

    def invalidate(self) -> None:
        """Rescan on the next key press; for changes Qt reports with no event (focus policy)."""
        self._generation += 1

    def tree(self, window: QWidget | None = None) -> FocusTree[QWidget]:
        """Return the synced FocusTree of `window` (the main window by default)."""
        return self._widget_tree(window or self.window).sync(self._generation)

    def close(self) -> None:
        """Stop listening to the application (idempotent); the window keeps its focus."""
        if self._closed:
            return
        self._closed = True
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.removeEventFilter(self)
            app.focusChanged.disconnect(self._on_focus_changed)
        for ring in self._rings.values():
            if shiboken6.isValid(ring):
                ring.hide()
        self._rings.clear()
        self._trees.clear()

    def navigate(self, direction: Direction, *, _retry: bool = True) -> Move[QWidget]:
        """Move focus one step as an arrow press would (without throttling)."""
        window = self._current_window()
        tree = self.tree(window)
        current = QApplication.focusWidget()
        if (
            current is not None
            and current in tree
            and tree.group(current) is None
            and tree.focused is not current
        ):
            tree.focus(current)  # pointer or program moved focus: continue from there
        source = tree.focused
        origin = tree.rect(source) if source is not None and source in tree else None
        if (
            current is not None
            and current is not window
            and (current not in tree or tree.group(current) is not None)
        ):
            # Focus sits on a widget arrows never target (click-focus only, ignored, a scroll
            # area's frame): search from where it is, not from the screen's first item. Items
            # inside it are reached first (the TV policy's insiders rule).
            origin = layout_rect(current, window)
            source = None
            move = tree.move_from(origin, direction)
        else:
            move = tree.move(direction)
        target = move.target
        if target is not None and not shiboken6.isValid(target) and _retry:
            # Deleted since the last scan without an event we saw: rescan, try once more.
            self._generation += 1
            return self.navigate(direction, _retry=False)
        if self.overlay.isVisible() and origin is not None:
            self.overlay.show_decision(
                Decision(
                    direction,
                    origin,
                    tuple(tree.rect(k) for k in tree.items() if k is not source),
                    tree.rect(target) if target is not None and move.moved else None,
                    move.reason.value,
                )
            )
        if target is not None and (move.moved or QApplication.focusWidget() is not target):
            self._focus_widget(target)
            self.moved.emit(move.source, target)
        else:
            self.no_target.emit(direction)
        return move

    def open_layer(self, widget: QWidget) -> None:
        """Show `widget` (a declared group) as a layer that traps focus until Back."""
        if widget not in self._groups:
            self.declare_group(widget)
        widget.show()
        widget.raise_()
        tree = self.tree(widget.window())
        current = QApplication.focusWidget()
        if current is not None and current in tree and tree.group(current) is None:
            tree.focus(current)
        tree.open_layer(widget)
        self._layers.append(widget)
        if tree.focused is not None:
            self._focus_widget(tree.focused)

    def close_layer(self) -> bool:
        """Close the innermost layer and refocus its opener; False if none is open."""
        if not self._layers:
            return False
        widget = self._layers.pop()
        tree = self.tree(widget.window())
        target = tree.close_layer()
        widget.hide()
        if target is not None:
            self._focus_widget(target)
        return True

    def back(self) -> None:
        """Close the innermost layer, else the active dialog, else emit back_requested."""
        if self.close_layer():
            return
        window = self._current_window()
        if isinstance(window, QDialog) and window is not self.window:
            opener = self._openers.pop(window, None)
            window.reject()
            if opener is not None and shiboken6.isValid(opener) and opener.isVisible():
                opener.window().activateWindow()
                self._focus_widget(opener)
            return
        self.back_requested.emit()

    def lint(self, window: QWidget | None = None) -> list[Finding[QWidget]]:
        """Return the navigation linter's findings for `window` (the main window by default)."""
        return lint(self.tree(window))

    def poll_long_press(self) -> None:
        """Fire long_pressed if OK has been held long enough (a timer calls this too)."""
        if self._long.poll() and self._long_target is not None:
            self.long_pressed.emit(self._long_target)

    # ------------------------------------------------------------------ Qt plumbing
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """Take remote keys meant for our windows; let everything else through."""
        # Every event of the application passes here: dispatch on the Python class first,
        # which is much cheaper than `event.type()` (an enum conversion per call).
        cls = type(event)
        if cls is QKeyEvent:
            assert isinstance(event, QKeyEvent)
            if not self._owns(obj):
                return False
            if event.type() == QEvent.Type.KeyPress:
                return self._key_press(event)
            return self._key_release(event)
        if cls in _LAYOUT_EVENTS or (cls is QEvent and event.type() in _LAYOUT_EVENT_TYPES):
            self._generation += 1
            if not self._ring_refresh_pending:  # the focused widget may have moved: follow it
                self._ring_refresh_pending = True
                QTimer.singleShot(0, self._refresh_ring)
        elif cls is QEnterEvent and self.hover_focus and isinstance(obj, QWidget):
            self._hover(obj)
        return False

    def _owns(self, obj: QObject) -> bool:
        """Handle a key once: at the focus widget (or the window when nothing has focus)."""
        if not isinstance(obj, QWidget):
            return False
        focus = QApplication.focusWidget()
        if focus is not None and obj is not focus:
            return False
        return self._is_ours(obj.window())

    def _is_ours(self, window: QWidget) -> bool:
        """Return True for our window and its dialogs; popups (combo lists, menus) keep keys."""
        if window.windowType() == Qt.WindowType.Popup:
            return False
        current: QWidget | None = window
        while current is not None:
            if current is self.window:
                return True
            current = current.parentWidget()
        return False

    def _key_press(self, event: QKeyEvent) -> bool:
        key = Qt.Key(event.key())
        focus = QApplication.focusWidget()
        if key == self.debug_key:
            if not event.isAutoRepeat():
                self.overlay.toggle()
            return True
        direction = ARROWS.get(key)
        if direction is not None:
            if event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
                return False  # Shift+arrow selects text, Alt+arrow is the window manager's
            if focus is not None and keeps_arrow(focus, key):
                return False
            if self._gate.press(int(key), event.isAutoRepeat()):
                self.navigate(direction)
            return True
        if key in OK_KEYS:
            if focus is not None and (is_text_entry(focus) or key == Qt.Key.Key_Space):
                return False  # Enter submits a field; Space types or toggles natively
            if not event.isAutoRepeat():
                self._long.press()
                self._long_target = focus
                QTimer.singleShot(int(self._settings.long_press * 1000) + 10, self.poll_long_press)
            else:
                self.poll_long_press()
            return True
        if key in BACK_KEYS:
            if key == Qt.Key.Key_Backspace and focus is not None and is_text_entry(focus):
                return False
            if not event.isAutoRepeat():
                self.back()
            return True
        action = MEDIA_KEYS.get(key)
        if action is not None:
            self.media_key.emit(action)
            return True
        return False

    def _key_release(self, event: QKeyEvent) -> bool:
        key = Qt.Key(event.key())
        if event.isAutoRepeat():
            return key in ARROWS or (key in OK_KEYS and self._long.held)
        if key in ARROWS:
            self._gate.release(int(key))
            return False
        if key in OK_KEYS and self._long.held:
            target = self._long_target
            self._long_target = None
            if self._long.release() and target is not None and shiboken6.isValid(target):
                if isinstance(target, QAbstractButton):
                    target.click()
                elif isinstance(target, QComboBox):
                    target.showPopup()
                self.activated.emit(target)
            return True
        return False

    def _hover(self, widget: QWidget) -> None:
        """Pointer over a focusable widget focuses it; keys continue from it (bitmovin #580)."""
        if widget.window() is not self._current_window() or not widget.isEnabled():
            return
        tree = self.tree(widget.window())
        if widget in tree and tree.is_navigable(widget) and tree.group(widget) is None:
            if tree.layer is not None and not _inside(widget, tree.layer):
                return
            widget.setFocus(Qt.FocusReason.MouseFocusReason)

    def _on_focus_changed(self, old: QWidget | None, new: QWidget | None) -> None:
        if self._guard:
            return
        if new is not None and shiboken6.isValid(new) and self._is_ours(new.window()):
            window = new.window()
            for dialog in list(self._openers):  # closed without Back: forget their opener
                if not shiboken6.isValid(dialog) or not dialog.isVisible():
                    del self._openers[dialog]
            if window is not self.window and window not in self._openers:
                came_from = old if old is not None and shiboken6.isValid(old) else None
                self._openers[window] = came_from
            self._show_ring(new)
        # A focused widget that vanished (hidden, disabled, deleted) hands focus to its
        # nearest sibling on the next event-loop turn, never to Qt's next-in-tab-chain.
        QTimer.singleShot(0, self._recover_if_lost)

    def _recover_if_lost(self) -> None:
        if self._closed or not shiboken6.isValid(self) or not shiboken6.isValid(self.window):
            return
        for window, wtree in list(self._trees.items()):
            if not shiboken6.isValid(window):
                del self._trees[window]  # a closed and deleted dialog
                continue
            if not window.isVisible():
                continue
            before = wtree.tree.focused
            if before is None:
                continue
            lost = not shiboken6.isValid(before) or not wtree.tree.is_navigable(before)
            if not lost:
                lost = not before.isVisibleTo(window) or not before.isEnabled()
            if not lost:
                continue
            self._generation += 1
            tree = wtree.sync(self._generation)
            if tree.focused is not None and tree.focused is not before:
                logger.debug("focus lost by %r, recovered to %r", before, tree.focused)
                self._focus_widget(tree.focused)

    def _focus_widget(self, widget: QWidget) -> None:
        self._guard = True
        try:
            widget.setFocus(Qt.FocusReason.OtherFocusReason)
        finally:
            self._guard = False
        ensure_visible(widget, self.scroll_margin)
        self._show_ring(widget)

    def _show_ring(self, widget: QWidget) -> None:
        """Ring `widget` in its own window and hide the rings of every other window."""
        window = widget.window()
        for other, ring in list(self._rings.items()):
            if not shiboken6.isValid(other) or not shiboken6.isValid(ring):
                del self._rings[other]
            elif other is not window:
                ring.follow(None)
        self._ring_for(window).follow(widget)

    def _refresh_ring(self) -> None:
        self._ring_refresh_pending = False
        if self._closed or not shiboken6.isValid(self):
            return
        focus = QApplication.focusWidget()
        if focus is not None and self._is_ours(focus.window()):
            self._ring_for(focus.window()).follow(focus)

    def _ring_for(self, window: QWidget) -> FocusRing:
        ring = self._rings.get(window)
        if ring is None:
            ring = self._rings[window] = FocusRing(window)
        return ring

    def _current_window(self) -> QWidget:
        focus = QApplication.focusWidget()
        if focus is not None and self._is_ours(focus.window()):
            return focus.window()
        active = QApplication.activeWindow()
        if active is not None and self._is_ours(active):
            return active
        return self.window

    def _widget_tree(self, window: QWidget) -> WidgetTree:
        wtree = self._trees.get(window)
        if wtree is None:
            wtree = self._trees[window] = WidgetTree(
                window, self._groups, self.policy, self._layout_sizes, self._ignored
            )
        return wtree


def _inside(widget: QWidget, ancestor: QWidget) -> bool:
    return ancestor is widget or ancestor.isAncestorOf(widget)
