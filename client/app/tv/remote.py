"""A TV's own remote over HDMI-CEC: what each key the kernel sends means to Baton, and a
reader for the CEC input device.

The kernel turns the TV's "User Control Pressed" messages into key events of an input device
(drivers/media/rc/keymaps/rc-cec.c maps each CEC UI command to a Linux KEY_* code), once the
adapter is configured with remote-control passthrough (`cec-ctl --playback`; docs/tv.md).
Many of those codes never reach a Qt app as a key it names: X11 carries key codes up to 255
only (KEY_OK is 352, the number keys 512-521, the colour keys 398-401), and Qt's own evdev
keyboard on eglfs drops every code outside its built-in keymap. So Baton reads the device
itself, grabs it (no second copy through the display server), and turns each code into the
Qt key the app acts on. `CEC_KEYS` lists every code of the kernel's CEC keymap: a Qt key, or
None for a key the app ignores on purpose (power, recording, tuner keys).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import struct
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSocketNotifier, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication

_LOG = logging.getLogger(__name__)

K = Qt.Key
EV_KEY = 1
EVENT = struct.Struct("@llHHi")  # struct input_event: timeval, type, code, value
EVIOCGRAB = 0x40044590  # _IOW('E', 0x90, int): this reader alone receives the events
XKB_OFFSET = 8  # X11 and xkb number keys 8 above the kernel: nativeScanCode as Qt reports it

# Linux KEY_* code -> the Qt key Baton acts on (None: ignored on purpose). Every code of the
# kernel's CEC keymap (rc-cec.c) is here; CEC's own name for the key is in the comment.
CEC_KEYS: dict[int, K | None] = {
    352: K.Key_Select,  # KEY_OK: Select
    103: K.Key_Up,  # KEY_UP
    108: K.Key_Down,  # KEY_DOWN
    105: K.Key_Left,  # KEY_LEFT
    106: K.Key_Right,  # KEY_RIGHT
    0x266: None,  # KEY_RIGHT_UP: diagonals mean nothing in a grid of rows
    0x267: None,  # KEY_RIGHT_DOWN
    0x268: None,  # KEY_LEFT_UP
    0x269: None,  # KEY_LEFT_DOWN
    0x26A: K.Key_Home,  # KEY_ROOT_MENU: Device Root Menu -> the home screen
    141: K.Key_Settings,  # KEY_SETUP: Setup Menu
    139: K.Key_Menu,  # KEY_MENU: Contents Menu -> the device picker
    0x16C: None,  # KEY_FAVORITES: Favorite Menu
    174: K.Key_Back,  # KEY_EXIT: Exit, the remote's Back/Return on most TVs
    0x26B: K.Key_Home,  # KEY_MEDIA_TOP_MENU: Top Menu -> the home screen
    0x1B6: K.Key_Menu,  # KEY_CONTEXT_MENU: Contents Menu -> the device picker
    0x19D: None,  # KEY_DIGITS: Number Entry Mode
    0x26C: None,  # KEY_NUMERIC_11
    0x26D: None,  # KEY_NUMERIC_12
    0x200: K.Key_0,  # KEY_NUMERIC_0..9: the pairing keypad's digits
    0x201: K.Key_1,
    0x202: K.Key_2,
    0x203: K.Key_3,
    0x204: K.Key_4,
    0x205: K.Key_5,
    0x206: K.Key_6,
    0x207: K.Key_7,
    0x208: K.Key_8,
    0x209: K.Key_9,
    52: None,  # KEY_DOT
    28: K.Key_Enter,  # KEY_ENTER: Enter
    0x163: K.Key_Clear,  # KEY_CLEAR: Clear -> erase a digit on the keypad
    0x270: None,  # KEY_NEXT_FAVORITE
    0x192: K.Key_ChannelUp,  # KEY_CHANNELUP -> next track
    0x193: K.Key_ChannelDown,  # KEY_CHANNELDOWN -> previous track
    0x19C: None,  # KEY_PREVIOUS: Previous Channel (a tuner's, not a track's)
    213: None,  # KEY_SOUND: Sound Select
    0x189: None,  # KEY_VIDEO: Input Select (the TV's business)
    0x166: K.Key_Info,  # KEY_INFO: Display Information -> Now playing
    138: None,  # KEY_HELP
    104: None,  # KEY_PAGEUP
    109: None,  # KEY_PAGEDOWN
    116: None,  # KEY_POWER: the TV's business
    115: K.Key_VolumeUp,  # KEY_VOLUMEUP -> the playing device's volume
    114: K.Key_VolumeDown,  # KEY_VOLUMEDOWN
    113: K.Key_VolumeMute,  # KEY_MUTE
    200: K.Key_MediaPlay,  # KEY_PLAYCD: Play
    166: K.Key_MediaStop,  # KEY_STOPCD: Stop
    201: K.Key_MediaPause,  # KEY_PAUSECD: Pause
    167: None,  # KEY_RECORD
    168: K.Key_AudioRewind,  # KEY_REWIND: Rewind
    208: K.Key_AudioForward,  # KEY_FASTFORWARD: Fast forward
    161: None,  # KEY_EJECTCD: Eject
    159: K.Key_MediaNext,  # KEY_FORWARD: Forward (skip to the next track)
    158: K.Key_MediaPrevious,  # KEY_BACK: CEC's Backward (skip back), not a Back key
    0x271: None,  # KEY_STOP_RECORD
    0x272: None,  # KEY_PAUSE_RECORD
    0x173: None,  # KEY_ANGLE
    0x17A: None,  # KEY_TV2: Sub picture
    0x273: None,  # KEY_VOD: Video on Demand
    0x16D: None,  # KEY_EPG: Electronic Program Guide
    0x167: None,  # KEY_TIME: Timer programming
    171: K.Key_Settings,  # KEY_CONFIG: Initial Configuration -> Settings
    0x26E: None,  # KEY_AUDIO_DESC
    150: None,  # KEY_WWW
    0x26F: None,  # KEY_3D_MODE
    0x199: None,  # KEY_SLOW: Play Function, slow
    0x275: K.Key_AudioRewind,  # KEY_FASTREVERSE: Play Function, fast reverse
    0x276: None,  # KEY_SLOWREVERSE
    164: K.Key_MediaTogglePlayPause,  # KEY_PLAYPAUSE: Pause-Play Function
    0x274: None,  # KEY_UNMUTE: Restore Volume (no absolute mute state to restore)
    142: None,  # KEY_SLEEP: Power Off Function
    143: None,  # KEY_WAKEUP: Power On Function
    0x191: K.Key_Blue,  # KEY_BLUE: F1 (Blue) -> Settings
    0x18E: K.Key_Red,  # KEY_RED: F2 (Red) -> the home screen
    0x18F: K.Key_Green,  # KEY_GREEN: F3 (Green) -> the device picker
    0x190: K.Key_Yellow,  # KEY_YELLOW: F4 (Yellow) -> Now playing
    63: None,  # KEY_F5: F5
    0x277: None,  # KEY_DATA: Data (digital TV data broadcasts)
}

_TEXT = {K.Key_0 + n: str(n) for n in range(10)}


class RemoteInputError(OSError):
    """The CEC input device cannot be opened or read (missing, or no permission)."""


def find_cec_input(sys_root: Path = Path("/sys"), dev_root: Path = Path("/dev")) -> Path | None:
    """Return the input device of the first CEC remote-control device, or None.

    The kernel names a CEC adapter's remote-control device after its keymap, `rc-cec`
    (`NAME=` in /sys/class/rc/rcN/uevent); its input device is rcN/inputM/eventK.
    """
    for rc in sorted((sys_root / "class" / "rc").glob("rc*")):
        try:
            uevent = (rc / "uevent").read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if "NAME=rc-cec" not in uevent.splitlines():
            continue
        for event in sorted(rc.glob("input*/event*")):
            return dev_root / "input" / event.name
    return None


class RemoteInput(QObject):
    """Reads key events from a CEC input device and sends the app the keys they mean."""

    problem = Signal(str)  # the device stopped being readable, in words

    def __init__(self, fd: int, *, grab: bool = True, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._fd = fd
        self._buffer = b""
        os.set_blocking(fd, False)
        if grab:
            try:
                fcntl.ioctl(fd, EVIOCGRAB, 1)
            except OSError as exc:  # keys may then also arrive through the display server
                _LOG.info("CEC remote: not grabbed (%s): its keys may arrive twice", exc)
        self._notifier = QSocketNotifier(fd, QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._read)

    @classmethod
    def open(cls, path: Path, parent: QObject | None = None) -> RemoteInput:
        """Open *path* (an evdev device); raise RemoteInputError in words if it cannot."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except PermissionError as exc:
            raise RemoteInputError(
                f"cannot read the TV remote at {path}: no permission (add the user to the "
                "'input' group)"
            ) from exc
        except OSError as exc:
            raise RemoteInputError(f"cannot read the TV remote at {path}: {exc.strerror}") from exc
        return cls(fd, parent=parent)

    def close(self) -> None:
        """Stop reading and close the device (idempotent)."""
        if self._fd < 0:
            return
        self._notifier.setEnabled(False)
        with contextlib.suppress(OSError):
            os.close(self._fd)
        self._fd = -1

    def _read(self) -> None:
        try:
            data = os.read(self._fd, EVENT.size * 64)
        except BlockingIOError:
            return
        except OSError as exc:  # unplugged (ENODEV): say so once and stop
            self.close()
            self.problem.emit(f"the TV remote stopped: {exc.strerror}")
            return
        if not data:
            self.close()
            self.problem.emit("the TV remote's device closed")
            return
        self._buffer += data
        whole = len(self._buffer) - len(self._buffer) % EVENT.size
        for _, _, kind, code, value in EVENT.iter_unpack(self._buffer[:whole]):
            if kind == EV_KEY:
                self.deliver(code, value)
        self._buffer = self._buffer[whole:]

    def deliver(self, code: int, value: int) -> None:
        """Send the app the key *code* means: value 1 pressed, 2 repeated, 0 released."""
        key = CEC_KEYS.get(code)
        if key is None:
            return
        target = QApplication.focusWidget() or QApplication.activeWindow()
        if target is None:
            return
        kind = QEvent.Type.KeyRelease if value == 0 else QEvent.Type.KeyPress
        event = QKeyEvent(
            kind, key, Qt.KeyboardModifier.NoModifier, code + XKB_OFFSET, 0, 0,
            _TEXT.get(key, ""), value == 2,
        )  # fmt: skip
        QApplication.sendEvent(target, event)
