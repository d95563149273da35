"""A TV's remote over HDMI-CEC: every key of the kernel's CEC keymap has a meaning here, and
the reader turns the input device's events into the keys the app acts on.

The device is a pipe carrying `struct input_event`s, as /dev/input/eventN does.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QLineEdit

from client.app.tv.remote import CEC_KEYS, EV_KEY, EVENT, RemoteInput, find_cec_input

# Every KEY_* code drivers/media/rc/keymaps/rc-cec.c maps a CEC UI command to (Linux 6.x),
# as numbers from include/uapi/linux/input-event-codes.h.
KERNEL_CEC_KEYS = {
    352, 103, 108, 105, 106, 0x266, 0x267, 0x268, 0x269, 0x26A, 141, 139, 0x16C, 174, 0x26B,
    0x1B6, 0x19D, 0x26C, 0x26D, *range(0x200, 0x20A), 52, 28, 0x163, 0x270, 0x192, 0x193,
    0x19C, 213, 0x189, 0x166, 138, 104, 109, 116, 115, 114, 113, 200, 166, 201, 167, 168, 208,
    161, 159, 158, 0x271, 0x272, 0x173, 0x17A, 0x273, 0x16D, 0x167, 171, 0x26E, 150, 0x26F,
    0x199, 0x275, 0x276, 164, 0x274, 142, 143, 0x191, 0x18E, 0x18F, 0x190, 63, 0x277,
}  # fmt: skip


def test_every_key_of_the_kernels_cec_keymap_has_a_meaning():
    assert set(CEC_KEYS) == KERNEL_CEC_KEYS
    # The keys a remote user needs most, whatever X11 or Qt's evdev keymap would drop.
    assert CEC_KEYS[352] is Qt.Key.Key_Select  # OK (352: beyond X11's 255)
    assert CEC_KEYS[174] is Qt.Key.Key_Back  # Exit, the remote's Back
    assert [CEC_KEYS[0x200 + n] for n in range(10)] == [Qt.Key.Key_0 + n for n in range(10)]
    assert CEC_KEYS[0x18F] is Qt.Key.Key_Green  # the device picker
    assert CEC_KEYS[116] is None  # Power is the TV's business


class _Keys(QObject):
    """Records the key events a widget receives."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, Qt.Key, str, bool, int]] = []

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            kind = "press" if event.type() == QEvent.Type.KeyPress else "release"
            self.seen.append(
                (kind, Qt.Key(event.key()), event.text(), event.isAutoRepeat(),
                 event.nativeScanCode())
            )  # fmt: skip
        return False


@pytest.fixture
def device():
    read, write = os.pipe()
    yield read, write
    for fd in (read, write):
        with contextlib.suppress(OSError):  # closed by the test already
            os.close(fd)


def _send(fd: int, *events: tuple[int, int]) -> None:
    os.write(fd, b"".join(EVENT.pack(0, 0, EV_KEY, code, value) for code, value in events))


def test_the_reader_sends_the_focused_widget_the_keys_they_mean(qtbot, device):
    read, write = device
    field = QLineEdit()
    qtbot.addWidget(field)
    field.show()
    qtbot.waitExposed(field)
    field.setFocus()
    qtbot.waitUntil(field.hasFocus)
    keys = _Keys()
    field.installEventFilter(keys)
    remote = RemoteInput(read, grab=True)  # a pipe cannot be grabbed: it carries on
    try:
        # 4 pressed, held (a repeat), released; Power (ignored); OK; and half an event.
        _send(write, (0x204, 1), (0x204, 2), (0x204, 0), (116, 1), (116, 0), (352, 1))
        os.write(write, EVENT.pack(0, 0, EV_KEY, 352, 0)[:10])
        qtbot.waitUntil(lambda: len(keys.seen) == 4)
        assert keys.seen == [
            ("press", Qt.Key.Key_4, "4", False, 0x204 + 8),
            ("press", Qt.Key.Key_4, "4", True, 0x204 + 8),
            ("release", Qt.Key.Key_4, "4", False, 0x204 + 8),
            ("press", Qt.Key.Key_Select, "", False, 352 + 8),
        ]
        assert field.text() == "44"  # a line edit types the digits it is sent
        os.write(write, EVENT.pack(0, 0, EV_KEY, 352, 0)[10:])  # the rest of the event
        qtbot.waitUntil(lambda: len(keys.seen) == 5)
        assert keys.seen[-1][:2] == ("release", Qt.Key.Key_Select)
    finally:
        remote.close()


def test_an_unplugged_remote_is_said_in_words_not_a_crash(qtbot, device):
    read, write = device
    remote = RemoteInput(read, grab=False)
    with qtbot.waitSignal(remote.problem, timeout=5000) as said:
        os.close(write)  # the device went away: end of file
    assert "TV remote" in said.args[0]
    remote.close()  # idempotent


def test_the_cec_remote_is_found_by_its_keymap_name(tmp_path: Path):
    rc = tmp_path / "sys" / "class" / "rc"
    (rc / "rc0").mkdir(parents=True)
    (rc / "rc0" / "uevent").write_text("NAME=rc-rc6-mce\nDRV_NAME=ite-cir\n")
    (rc / "rc0" / "input3" / "event3").mkdir(parents=True)
    assert find_cec_input(tmp_path / "sys", tmp_path / "dev") is None
    (rc / "rc1").mkdir()
    (rc / "rc1" / "uevent").write_text("NAME=rc-cec\nDRV_NAME=vc4\nDEV_NAME=vc4-hdmi-0\n")
    (rc / "rc1" / "input7" / "event5").mkdir(parents=True)
    assert find_cec_input(tmp_path / "sys", tmp_path / "dev") == tmp_path / "dev/input/event5"


def test_a_remote_that_cannot_be_read_says_why(tmp_path: Path):
    from client.app.tv.remote import RemoteInputError

    with pytest.raises(RemoteInputError, match="cannot read the TV remote"):
        RemoteInput.open(tmp_path / "no-such-device")
