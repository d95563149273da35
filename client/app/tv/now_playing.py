"""Now playing, full screen: a large cover, big progress, transport, the device it plays on,
and the whole queue one press below, as one list of any length (screens/queue_list.py: Up,
Down, Page Up, Page Down, Home and End on the remote; OK plays a row).

Nothing else is on the screen (no top bar, no player bar): Back returns where it came from,
and the device chip (or the remote's device key) opens the device picker.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from client.app import theme
from client.app import views as v
from client.app.models import format_ms
from client.app.playing import title_and_credit
from client.app.queue_model import QueueModel
from client.app.screens.queue_list import QueueList
from client.app.tv.theme import TvSizes
from client.app.widgets import label
from connect.wire import messages as m

PROGRESS_STEPS = 1000
ArtFor = Callable[[m.QueueItem], "bytes | None"]


def _round_button(
    px: TvSizes, icon: str, tip: str, name: str, *, play: bool = False
) -> QToolButton:
    button = QToolButton()
    button.setObjectName(name)
    button.setToolTip(tip)
    button.setAccessibleName(tip)
    button.setProperty("role", "play" if play else "round")
    side = round(px.button * (0.5 if play else 0.42))
    button.setIcon(theme.icon(icon, side, theme.BACKGROUND if play else theme.TEXT))
    button.setIconSize(QSize(side, side))
    extent = px.button if play else round(px.button * 0.8)
    button.setFixedSize(extent, extent)
    button.setStyleSheet(f"border-radius: {extent // 2}px; padding: 0;")  # a circle
    button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    return button


class TvNowPlaying(QWidget):
    """The full-screen Now playing page."""

    action = Signal(object)  # an action for the followed device
    play_item = Signal(str)  # a queue item's uid
    open_picker = Signal()

    def __init__(self, px: TvSizes, art_for: ArtFor, queue: QueueModel | None = None) -> None:
        super().__init__()
        self.px = px
        self._art_for = art_for
        self._session: v.SessionView | None = None
        self._playing = False
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(px.gap)
        body = QHBoxLayout()
        body.setSpacing(px.gap * 2)
        self.art = QLabel()
        self.art.setObjectName("tv-np-art")
        self.art.setFixedSize(px.big_art, px.big_art)
        self.art.setPixmap(theme.cover(None, "Baton", px.big_art, 24))
        body.addWidget(self.art, 0, Qt.AlignmentFlag.AlignTop)
        info = QVBoxLayout()
        info.setSpacing(px.gap // 2)
        self.title = label("Nothing playing", "hero", wrap=True)
        self.title.setObjectName("tv-np-title")
        self.artist = label("Pick an album on the home screen", "subhero", wrap=True)
        self.artist.setObjectName("tv-np-artist")
        self.device = QPushButton("No device")
        self.device.setObjectName("tv-np-device")
        self.device.setProperty("role", "chip")
        self.device.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.device.setIconSize(QSize(px.icon, px.icon))
        self.device.clicked.connect(self.open_picker.emit)
        info.addWidget(self.title)
        info.addWidget(self.artist)
        info.addWidget(self.device, 0, Qt.AlignmentFlag.AlignLeft)
        info.addStretch(1)
        self.progress = QProgressBar()
        self.progress.setObjectName("tv-progress")
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setTextVisible(False)
        info.addWidget(self.progress)
        times = QHBoxLayout()
        self.elapsed = label("0:00", "muted")
        self.elapsed.setObjectName("tv-np-elapsed")
        self.total = label("0:00", "muted")
        times.addWidget(self.elapsed)
        times.addStretch(1)
        times.addWidget(self.total)
        info.addLayout(times)
        transport = QHBoxLayout()
        transport.setSpacing(px.gap)
        self.previous = _round_button(px, "previous", "Previous", "tv-np-previous")
        self.play = _round_button(px, "play", "Play", "tv-np-play", play=True)
        self.next = _round_button(px, "next", "Next", "tv-np-next")
        for button in (self.previous, self.play, self.next):
            transport.addWidget(button)
        transport.addStretch(1)
        info.addLayout(transport)
        body.addLayout(info, 1)
        body.setContentsMargins(0, 0, 0, 0)
        holder = QWidget()
        holder.setLayout(body)
        holder.setFixedHeight(px.big_art)  # the text column is as tall as the cover
        outer.addWidget(holder)
        heading = label("Queue", "muted")
        heading.setObjectName("tv-np-queue-heading")
        outer.addWidget(heading)
        self.queue = queue if queue is not None else QueueModel(self)
        self.queue_list = QueueList(self.queue, round(px.body * 2.4))
        self.queue_list.setObjectName("tv-queue-list")
        self.queue_list.setMinimumHeight(round(px.body * 2.4) * 3)
        self.queue_list.play_item.connect(self.play_item.emit)
        self.queue_list.queue_edit.connect(self.action.emit)
        outer.addWidget(self.queue_list, 1)
        self.previous.clicked.connect(lambda: self.action.emit(m.SkipPrevious()))
        self.next.clicked.connect(lambda: self.action.emit(m.SkipNext()))
        self.play.clicked.connect(
            lambda: self.action.emit(m.Pause() if self._playing else m.Resume())
        )

    def set_session(self, session: v.SessionView, art: bytes | None, device_icon: str) -> None:
        """Show the followed session."""
        self._session = session
        state = session.state
        item = state.current_item
        title, credit = title_and_credit(state)  # a radio: what the station says is on
        self.title.setText(title)
        self.artist.setText(credit)
        self.artist.setVisible(bool(credit))
        where = "Playing on" if state.clock.playing else "On"
        self.device.setText(f"  {where} {session.device_name}  ▾")
        self.device.setIcon(theme.icon(device_icon, self.px.icon, theme.ACCENT))
        self.art.setPixmap(theme.cover(art, item.album if item else "Baton", self.px.big_art, 24))
        self._set_playing(state.clock.playing)
        self.total.setText(format_ms(item.duration_ms if item else 0))
        self.queue.set_state(state, session.device_id)

    def set_position(self, position_ms: int) -> None:
        """Move the progress bar (about 30 times a second)."""
        item = self._session.state.current_item if self._session else None
        duration = item.duration_ms if item else 0
        self.elapsed.setText(format_ms(position_ms))
        value = round(PROGRESS_STEPS * position_ms / duration) if duration else 0
        self.progress.setValue(max(0, min(PROGRESS_STEPS, value)))

    def _set_playing(self, playing: bool) -> None:
        if playing != self._playing:
            self._playing = playing
            name = "pause" if playing else "play"
            side = self.play.iconSize().width()
            self.play.setIcon(theme.icon(name, side, theme.BACKGROUND))
            self.play.setAccessibleName(name.title())
            self.play.setToolTip(name.title())
