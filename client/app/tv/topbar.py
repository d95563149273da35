"""The TV's top bar: the pages (Home, Settings), what plays, and the device picker's chip.

Entered from below it focuses the page shown (never the tab used last), and Down returns to
the page; Left and Right move along it only.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QPushButton

from client.app import theme
from client.app import views as v
from client.app.playing import title_and_credit
from client.app.tv.theme import TvSizes
from client.app.widgets import label

TABS = {"home": "Home", "settings": "Settings"}


class TvTopBar(QFrame):
    """Brand, page tabs, the music playing and the device chip."""

    tab_chosen = Signal(str)  # a key of TABS
    open_now_playing = Signal()
    open_picker = Signal()

    def __init__(self, px: TvSizes) -> None:
        super().__init__()
        self.px = px
        self.setObjectName("tv-topbar")
        layout = QHBoxLayout(self)
        ring = px.gap // 2
        layout.setContentsMargins(ring, ring, ring, ring)
        layout.setSpacing(px.gap)
        brand = label("Baton", "")
        brand.setObjectName("brand")
        layout.addWidget(brand)
        layout.addSpacing(px.gap)
        self.tabs: dict[str, QPushButton] = {}
        for key, text in TABS.items():
            tab = self._button(text, "tab", f"tab-{key}")
            tab.setCheckable(True)
            tab.clicked.connect(lambda _=False, k=key: self.tab_chosen.emit(k))
            self.tabs[key] = tab
            layout.addWidget(tab)
        layout.addStretch(1)
        self.now_playing = self._button("", "chip", "tb-now-playing")
        self.now_playing.setIconSize(QSize(px.icon * 2 // 3, px.icon * 2 // 3))
        self.now_playing.setIcon(theme.icon("nowplaying", px.icon, theme.ACCENT))
        self.now_playing.clicked.connect(self.open_now_playing.emit)
        self.now_playing.hide()
        layout.addWidget(self.now_playing)
        self.devices = self._button("  Devices  ▾", "chip", "tb-devices")
        self.devices.setIconSize(QSize(px.icon * 2 // 3, px.icon * 2 // 3))
        self.devices.setIcon(theme.icon("devices", px.icon, theme.TEXT))
        self.devices.clicked.connect(self.open_picker.emit)
        layout.addWidget(self.devices)

    def _button(self, text: str, role: str, name: str) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setProperty("role", role)
        button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        button.setAutoDefault(False)
        return button

    def set_page(self, key: str) -> None:
        """Check the tab of the page shown (none for pages under Home)."""
        for other, tab in self.tabs.items():
            tab.setChecked(other == key)

    def set_session(self, session: v.SessionView, device_icon: str) -> None:
        """Show what plays and where."""
        item = session.state.current_item
        self.now_playing.setText(f"  {title_and_credit(session.state)[0]}" if item else "")
        self.now_playing.setVisible(item is not None)
        playing = session.state.clock.playing
        self.devices.setText(f"  {'Playing on' if playing else 'On'} {session.device_name}  ▾")
        self.devices.setIcon(theme.icon(device_icon, self.px.icon, theme.ACCENT))
