"""The player bar at the bottom of every screen: what plays, the transport, where it plays.

Three columns, as Spotify's and most players' bars: the item (art, title, artist) on the left,
the transport with shuffle and repeat over the progress in the middle, and the device picker
("Playing on Car ▾") with the volume on the right. The side columns share the width equally
and ignore their texts' widths (long titles are elided), so the transport stays centred and
never moves when a title or an artist changes.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFontMetrics, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from client.app import theme
from client.app import views as v
from client.app.models import format_ms
from client.app.screens.now_playing import PROGRESS_STEPS, Transport
from client.app.theme import Metrics
from client.app.widgets import icon_button, label, restyle
from connect.wire import messages as m

NO_DEVICE = "Pick a device"
_REPEAT_NEXT = {
    m.RepeatMode.OFF: m.RepeatMode.ALL,
    m.RepeatMode.ALL: m.RepeatMode.ONE,
    m.RepeatMode.ONE: m.RepeatMode.OFF,
}
_REPEAT_WORDS = {
    m.RepeatMode.OFF: "Repeat: off",
    m.RepeatMode.ALL: "Repeat: the queue",
    m.RepeatMode.ONE: "Repeat: this track",
}


def _style(mx: Metrics) -> str:
    pad = 10 if mx.tv else 6
    return f"""
    QWidget[role="bar-column"] {{ background: transparent; }}
    QPushButton[role="barlink"] {{
        background: transparent; border: none; padding: 0; text-align: left;
        font-weight: 700;
    }}
    QPushButton[role="barlink"]:hover {{ text-decoration: underline; }}
    QPushButton[role="barlink"]:focus {{ color: {theme.ACCENT}; }}
    QPushButton[role="picker"] {{
        background: transparent; border: 1px solid {theme.RAISED}; border-radius: 14px;
        padding: {pad}px {pad + 6}px; text-align: left; color: {theme.ACCENT};
    }}
    QPushButton[role="picker"]:focus, QPushButton[role="picker"]:hover {{
        background: {theme.RAISED};
    }}
    QToolButton[role="toggle"] {{
        background: transparent; border-radius: {mx.icon}px; padding: {pad}px;
    }}
    QToolButton[role="toggle"]:hover, QToolButton[role="toggle"]:focus {{
        background: {theme.RAISED};
    }}
    """


class ElidedLabel(QLabel):
    """A one-line label that elides its text to the width it gets and never asks for more."""

    def __init__(self, text: str = "", role: str = "") -> None:
        super().__init__()
        if role:
            self.setProperty("role", role)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.set_full_text(text)

    def set_full_text(self, text: str) -> None:
        """Show *text*, elided at the right when it does not fit."""
        self._full = text
        self.setToolTip(text)
        self._elide()

    def full_text(self) -> str:
        """Return the text before elision."""
        return self._full

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        """Elide again for the new width."""
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(0, self.width())
        metrics = QFontMetrics(self.font())
        self.setText(metrics.elidedText(self._full, Qt.TextElideMode.ElideRight, width))


class ElidedButton(QPushButton):
    """A flat text button (the bar's title) whose text is elided to the width it gets."""

    def __init__(self, role: str) -> None:
        super().__init__()
        self.setProperty("role", role)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAutoDefault(False)

    def set_full_text(self, text: str) -> None:
        """Show *text*, elided at the right when it does not fit."""
        self._full = text
        self.setAccessibleName(text)
        self.setToolTip(text)
        self._elide()

    def full_text(self) -> str:
        """Return the text before elision."""
        return self._full

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        """Elide again for the new width."""
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        metrics = QFontMetrics(self.font())
        self.setText(metrics.elidedText(self._full, Qt.TextElideMode.ElideRight, self.width()))


class _Column(QWidget):
    """A bar column that says when its width changes (the bar's own resize comes too early)."""

    resized = Signal()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        """Tell the bar, which fits its texts into the new width."""
        super().resizeEvent(event)
        self.resized.emit()


class PlayerBar(QFrame):
    """The compact player at the bottom of every screen."""

    action = Signal(object)  # an action for the followed device
    open_now_playing = Signal()
    open_devices = Signal()  # the device picker asked for

    def __init__(self, mx: Metrics) -> None:
        super().__init__()
        self.mx = mx
        self.setProperty("role", "playerbar")
        self.setObjectName("player-bar")
        self.setStyleSheet(_style(mx))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(mx.margin, mx.margin // 2, mx.margin, mx.margin // 2)
        layout.setSpacing(mx.margin)
        # Equal stretch for both sides and Ignored policies: the middle stays centred.
        layout.addWidget(self._build_item(), 1)
        layout.addWidget(self._build_middle(), 1)
        layout.addWidget(self._build_device(), 1)
        self._duration = 0
        self._device_text = NO_DEVICE
        self._short_text = NO_DEVICE
        self._state: m.PlaybackState | None = None
        self._updating_volume = False

    # ------------------------------------------------------------------ building
    def _build_item(self) -> QWidget:
        box = QWidget()
        box.setProperty("role", "bar-column")
        box.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(self.mx.margin // 2 + 4)
        self.art = QLabel()
        side = self.mx.icon * 2 + 8
        self.art.setFixedSize(side, side)
        self.art.setPixmap(theme.cover(None, "Baton", side, 8))
        row.addWidget(self.art)
        text = QVBoxLayout()
        text.setContentsMargins(0, 0, 0, 0)
        text.setSpacing(2)
        text.addStretch(1)
        self.title = ElidedButton("barlink")
        self.title.setObjectName("bar-title")
        self.title.set_full_text("Nothing playing")
        self.title.clicked.connect(self.open_now_playing.emit)
        self.where = ElidedLabel("", "muted")
        self.where.setObjectName("bar-subtitle")
        text.addWidget(self.title)
        text.addWidget(self.where)
        text.addStretch(1)
        row.addLayout(text, 1)
        return box

    def _build_middle(self) -> QWidget:
        box = QWidget()
        box.setProperty("role", "bar-column")
        box.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        buttons = QHBoxLayout()
        buttons.setSpacing(self.mx.margin // 2)
        buttons.addStretch(1)
        self.shuffle = icon_button("shuffle", "Shuffle", self.mx, role="toggle", scale=0.8)
        self.shuffle.setObjectName("bar-shuffle")
        self.shuffle.setCheckable(True)
        self.shuffle.clicked.connect(self._toggle_shuffle)
        self.transport = Transport(self.mx, 1.0, prefix="bar-")
        self.transport.action.connect(self.action.emit)
        self.repeat = icon_button("repeat", "Repeat: off", self.mx, role="toggle", scale=0.8)
        self.repeat.setObjectName("bar-repeat")
        self.repeat.clicked.connect(self._cycle_repeat)
        for widget in (self.shuffle, self.transport, self.repeat):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        column.addLayout(buttons)
        times = QHBoxLayout()
        times.setSpacing(self.mx.margin // 2)
        self.elapsed = label("0:00", "muted")
        self.total = label("0:00", "muted")
        for time_label in (self.elapsed, self.total):
            # Room for "88:88": the bar does not move as the digits change.
            time_label.setMinimumWidth(QFontMetrics(time_label.font()).horizontalAdvance("88:88"))
        self.elapsed.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.progress = QProgressBar()
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setTextVisible(False)
        times.addWidget(self.elapsed)
        times.addWidget(self.progress, 1)
        times.addWidget(self.total)
        column.addLayout(times)
        return box

    def _build_device(self) -> QWidget:
        box = _Column()
        box.resized.connect(self._fit_device_text)
        box.setProperty("role", "bar-column")
        box.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(self.mx.margin // 2)
        row.addStretch(1)
        self.device_button = QPushButton(f"{NO_DEVICE}  ▾")
        self.device_button.setObjectName("bar-devices")
        self.device_button.setProperty("role", "picker")
        self.device_button.setAccessibleName("Choose where the music plays")
        self.device_button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.device_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.device_button.setAutoDefault(False)
        self.device_button.setIconSize(QSize(self.mx.icon, self.mx.icon))
        self.device_button.setIcon(theme.icon("devices", self.mx.icon, theme.ACCENT))
        self.device_button.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.device_button.clicked.connect(self.open_devices.emit)
        row.addWidget(self.device_button, 0)
        self.volume_icon = QLabel()
        self.volume_icon.setPixmap(theme.pixmap("volume", self.mx.icon, theme.MUTED, 2.0))
        row.addWidget(self.volume_icon)
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setObjectName("bar-volume")
        self.volume.setAccessibleName("Volume")
        self.volume.setRange(0, 100)
        self.volume.setSingleStep(5)
        self.volume.setPageStep(10)
        self.volume.setFixedWidth(self.mx.icon * 4)
        self.volume.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.volume.valueChanged.connect(self._volume_moved)
        row.addWidget(self.volume)
        return box

    # ------------------------------------------------------------------ showing
    def set_session(self, session: v.SessionView, art: bytes | None, device_icon: str = "") -> None:
        """Show the followed session."""
        state = session.state
        self._state = state
        item = state.current_item
        self.title.set_full_text(
            (item.title or item.url.rsplit("/", 1)[-1]) if item else "Nothing playing"
        )
        self.where.set_full_text(subtitle(item))
        on = state.now_playing if state.live else None
        if on is not None and (on.title or on.station):  # a radio: what the station says is on
            self.title.set_full_text(on.title or on.station)
            self.where.set_full_text(" · ".join(x for x in (on.station, "Live") if x))
        side = self.art.width()
        self.art.setPixmap(theme.cover(art, item.album if item else "Baton", side, 8))
        self.transport.set_playing(state.clock.playing)
        self._duration = item.duration_ms if item else 0
        self.total.setText("LIVE" if state.live else format_ms(self._duration))
        self.set_device(session.device_name, device_icon)
        self._show_options(state)
        if not self.volume.isSliderDown():
            self._updating_volume = True
            self.volume.setValue(state.volume)
            self._updating_volume = False

    def set_device(self, name: str, icon: str = "") -> None:
        """Say where the music plays ("Playing on Car ▾"); "" for no device yet."""
        self._device_text = f"Playing on {name}" if name else NO_DEVICE
        self._short_text = name or NO_DEVICE  # when "Playing on" leaves no room for the name
        self.device_button.setToolTip(self._device_text)
        self.device_button.setAccessibleName(f"{self._device_text}: choose where the music plays")
        self.device_button.setIcon(theme.icon(icon or "devices", self.mx.icon, theme.ACCENT))
        self._fit_device_text()

    def say_device(self, text: str) -> None:
        """Show *text* on the device button for now ("Moving to Car…")."""
        self._device_text = self._short_text = text
        self._fit_device_text()

    def _fit_device_text(self) -> None:
        """Elide the device button's words so that it never grows past its column."""
        box = self.device_button.parentWidget()
        if box is None:
            return
        row = box.layout()
        spacing = row.spacing() if row is not None else 0
        room = box.width() - self.volume.width() - self.volume_icon.width() - 2 * spacing
        metrics = QFontMetrics(self.device_button.font())
        whole = f"{self._device_text}  ▾"
        self.device_button.setText(whole)
        # What the button adds around its text (icon, padding, border), from its own hint.
        chrome = self.device_button.sizeHint().width() - metrics.horizontalAdvance(whole)
        if chrome + metrics.horizontalAdvance(whole) > room:
            # The device's whole name beats "Playing on Livin…": the icon and the place of the
            # button already say what it is; only a name too long for the column is elided.
            arrow = metrics.horizontalAdvance("  ▾")
            fitted = metrics.elidedText(
                self._short_text, Qt.TextElideMode.ElideRight, max(40, room - chrome - arrow)
            )
            self.device_button.setText(f"{fitted}  ▾")

    def set_position(self, position_ms: int) -> None:
        """Move the progress bar."""
        value = round(PROGRESS_STEPS * position_ms / self._duration) if self._duration else 0
        self.progress.setValue(max(0, min(PROGRESS_STEPS, value)))
        self.elapsed.setText(format_ms(position_ms))

    def _show_options(self, state: m.PlaybackState) -> None:
        """Shuffle and repeat as the device has them (lit when on)."""
        self.shuffle.setChecked(state.shuffle)
        shuffle_color = theme.ACCENT if state.shuffle else theme.MUTED
        size = round(self.mx.icon * 0.8)
        self.shuffle.setIcon(theme.icon("shuffle", size, shuffle_color))
        self.shuffle.setAccessibleName("Shuffle: on" if state.shuffle else "Shuffle: off")
        self.shuffle.setToolTip(self.shuffle.accessibleName())
        name = "repeat-one" if state.repeat is m.RepeatMode.ONE else "repeat"
        color = theme.MUTED if state.repeat is m.RepeatMode.OFF else theme.ACCENT
        self.repeat.setIcon(theme.icon(name, size, color))
        self.repeat.setAccessibleName(_REPEAT_WORDS[state.repeat])
        self.repeat.setToolTip(_REPEAT_WORDS[state.repeat])
        restyle(self.repeat, "mode", state.repeat.name.lower())

    # ------------------------------------------------------------------ actions
    def _toggle_shuffle(self) -> None:
        on = not (self._state.shuffle if self._state else False)
        self.shuffle.setChecked(not on)  # the device's state decides, when it answers
        self.action.emit(m.SetOptions(shuffle=on))

    def _cycle_repeat(self) -> None:
        current = self._state.repeat if self._state else m.RepeatMode.OFF
        self.action.emit(m.SetOptions(repeat=_REPEAT_NEXT[current]))

    def _volume_moved(self, value: int) -> None:
        if not self._updating_volume:
            self.action.emit(m.SetVolume(value))


def subtitle(item: m.QueueItem | None) -> str:
    """Return the bar's second line: the artist, else the album, else nothing."""
    if item is None:
        return ""
    return item.artist or item.album
