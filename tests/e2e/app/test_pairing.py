"""Pairing and access in the app (docs/security.md), by remote keys and keyboard digits.

The receivers are real `baton-receiver` processes in pin mode on loopback; their codes are
read from their state directories, as a person reads the code a device shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel

from client.app import views as v
from client.app.bridge import CoreThread
from client.spatial import FindingKind
from connect.access import CredentialStore
from connect.controller import Controller
from connect.errors import AccessRevokedError, WrongPinError
from connect.wire import messages as m
from devices.tokens import TokenStore
from tests.e2e.app.conftest import open_app
from tests.e2e.app.keys import focused, press, walk_to
from tests.receivers import RunningReceiver, start_receiver

pytestmark = pytest.mark.slow

OK = Qt.Key.Key_Return
DIGIT = {str(n): getattr(Qt.Key, f"Key_{n}") for n in range(10)}
LOCKED_ID = "f" * 64


@pytest.fixture
def pin_receiver(helper_loop: CoreThread, tmp_path: Path) -> Iterator[RunningReceiver]:
    """ "Kitchen", a speaker in pin mode (the default of a real receiver)."""
    receiver = helper_loop.submit(
        start_receiver(tmp_path, "Kitchen", interface="lo", pairing="pin")
    ).result(30)
    yield receiver
    helper_loop.submit(receiver.stop()).result(30)


def code_of(receiver: RunningReceiver) -> str:
    """Return the code the receiver shows now (its `pairing-code` file)."""
    return (receiver.state_dir / "pairing-code").read_text().strip()


def type_code(code: str) -> None:
    """Type *code* with the keyboard's digit keys."""
    for digit in code:
        press(DIGIT[digit])


def wait_until_locked(qtbot, window, device_id: str) -> None:
    """Wait until the device's card offers pairing (the model first, then its card)."""
    cards = window.devices_screen.cards
    qtbot.waitUntil(
        lambda: device_id in cards and cards[device_id].button.objectName().startswith("pair-"),
        timeout=10_000,
    )


def view_of(window, device_id: str) -> v.DeviceView | None:
    return window.devices.find(device_id)


def test_keypad_moves_by_arrows_and_types_digits_and_ok(qtbot, app_window):
    window = app_window
    window.show_screen("devices")
    window.devices.put(
        v.DeviceView(
            LOCKED_ID, "Porch", m.DeviceType.SPEAKER, False, "", 0.0,
            access=v.Access.NEEDS_PAIRING,
        )
    )  # fmt: skip
    screen = window.devices_screen
    qtbot.waitUntil(lambda: LOCKED_ID in screen.cards)
    card = screen.cards[LOCKED_ID]
    assert card.state.text() == "Speaker · Needs pairing"
    assert card.button.text() == "Pair…"

    walk_to(window, "pair-Porch")
    press(OK)
    keypad = screen.keypad
    assert keypad.isVisible()
    assert focused() == "pin-1"
    # Every key of the pad is reachable by arrows (the rest of the window is not: a layer).
    unreachable = [
        f.message
        for f in window.navigator.lint()
        if f.kind in (FindingKind.UNREACHABLE, FindingKind.TRAP)
        and any(keypad.isAncestorOf(item) for item in f.items)
    ]
    assert unreachable == []
    # The 3×4 grid: 1 2 3 / 4 5 6 / 7 8 9 / ⌫ 0 OK, then Cancel below.
    for key, expected in (
        (Qt.Key.Key_Right, "pin-2"),
        (Qt.Key.Key_Down, "pin-5"),
        (Qt.Key.Key_Down, "pin-8"),
        (Qt.Key.Key_Down, "pin-0"),
        (Qt.Key.Key_Left, "pin-back"),
        (Qt.Key.Key_Right, "pin-0"),
        (Qt.Key.Key_Right, "pin-ok"),
        (Qt.Key.Key_Down, "pin-cancel"),
    ):
        press(key)
        assert focused() == expected
    press(Qt.Key.Key_Left)  # focus stays in the pad: nothing left of Cancel inside it
    assert focused() == "pin-cancel"

    # Remote: walk to 7 and press OK; keyboard: digits type and Backspace erases.
    walk_to(window, "pin-7")
    press(OK)
    assert keypad.code == "7"
    type_code("12")
    assert keypad.code == "712"
    press(Qt.Key.Key_Backspace)
    assert keypad.code == "71"
    assert keypad.isVisible()
    assert keypad.display.text().startswith("7 1")
    press(OK)  # OK on a digit key types that digit
    assert keypad.code == "717"
    walk_to(window, "pin-ok")
    press(OK)  # too short: says so, sends nothing
    assert "6 digits" in keypad.status.text()
    type_code("4567")  # one too many: the pad takes six
    assert keypad.code == "717456"
    assert focused() == "pin-ok"  # the sixth digit moves focus to OK
    with qtbot.waitSignal(keypad.submitted, timeout=2000) as sent:
        press(OK)
    assert sent.args == [LOCKED_ID, "717456"]
    # The core knows no such device: the pad says so and stays open for another try.
    qtbot.waitUntil(lambda: not keypad.busy and keypad.status.text() != "Pairing…", timeout=10_000)
    assert keypad.isVisible()
    assert keypad.code == ""

    press(Qt.Key.Key_Escape)  # Back closes the pad; focus returns to the card's button
    assert not keypad.isVisible()
    assert focused() == "pair-Porch"


def test_pairing_a_pin_receiver_wrong_code_then_right(
    qtbot, app_window, pin_receiver, credentials_dir
):
    window = app_window
    kitchen = pin_receiver.device_id
    window.show_screen("devices")
    wait_until_locked(qtbot, window, kitchen)
    # This computer is in pin mode too, and the app is its owner over TLS.
    qtbot.waitUntil(
        lambda: any(d.is_local and d.online and d.owned for d in window.devices.views()),
        timeout=10_000,
    )
    store = CredentialStore(credentials_dir)

    walk_to(window, "pair-Kitchen")
    press(OK)
    keypad = window.devices_screen.keypad
    right = code_of(pin_receiver)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    type_code(wrong)
    press(OK)
    qtbot.waitUntil(lambda: "Wrong code" in keypad.status.text(), timeout=10_000)
    assert keypad.status.text() == "Wrong code — 4 tries left before a pause"
    assert store.get(kitchen) is None
    assert view_of(window, kitchen).locked

    type_code(code_of(pin_receiver))  # one failure does not change the code
    press(OK)
    qtbot.waitUntil(lambda: not keypad.isVisible(), timeout=10_000)
    qtbot.waitUntil(
        lambda: (view := view_of(window, kitchen)) is not None and view.online and view.owned,
        timeout=10_000,
    )
    credential = store.get(kitchen)
    assert credential is not None
    assert credential.role is m.Role.OWNER
    card = window.devices_screen.cards[kitchen]
    qtbot.waitUntil(lambda: card.button.objectName() == "transfer-Kitchen")
    assert card.access.isVisible()
    # Focus came back to the device just paired and stays there (nothing plays yet, so its
    # button is greyed), never on another device's "Transfer here".
    QApplication.processEvents()  # a lost focus is recovered on the next turn: let it run
    assert focused() == "transfer-Kitchen"

    # Usable: the app plays on it over its pinned TLS session.
    album = window.albums.albums()[0]
    window.bridge.play(album.tracks, 0, device_id=kitchen)
    qtbot.waitUntil(
        lambda: (
            window.session is not None
            and window.session.device_id == kitchen
            and window.session.state.clock.playing
        ),
        timeout=15_000,
    )

    # The receiver's owner revokes the app on the receiver's machine: the card says so, and
    # pairing again with the device's new code lets the app back in.
    tokens = TokenStore(pin_receiver.state_dir)
    tokens.load()
    assert tokens.revoke(credential.token.partition(".")[0])
    card_says = "Speaker · Access revoked"
    qtbot.waitUntil(lambda: card.state.text() == card_says, timeout=10_000)
    assert card.button.objectName() == "pair-Kitchen"
    assert store.get(kitchen) is None
    walk_to(window, "pair-Kitchen")
    press(OK)
    type_code(code_of(pin_receiver))
    press(OK)
    qtbot.waitUntil(lambda: not keypad.isVisible(), timeout=10_000)
    qtbot.waitUntil(lambda: view_of(window, kitchen).online, timeout=10_000)
    assert view_of(window, kitchen).access is v.Access.PAIRED


def test_owner_revokes_another_controller_then_its_own_access(
    qtbot, app_window, pin_receiver, helper_loop, tmp_path
):
    window = app_window
    kitchen = pin_receiver.device_id
    window.show_screen("devices")
    wait_until_locked(qtbot, window, kitchen)
    walk_to(window, "pair-Kitchen")
    press(OK)
    type_code(code_of(pin_receiver))
    press(OK)
    qtbot.waitUntil(
        lambda: (view := view_of(window, kitchen)) is not None and view.online and view.owned,
        timeout=10_000,
    )

    # A phone pairs with the code and connects: a controller with its own credentials.
    phone_store = CredentialStore(tmp_path / "phone")
    phone = Controller(
        m.ClientIdentity(phone_store.client_id(), "Phone", m.DeviceType.PHONE, "test"),
        interfaces=["127.0.0.1"],
        credentials=phone_store,
    )

    async def phone_pairs_and_connects(code: str) -> str:
        await phone.async_start()
        await phone.async_find(kitchen, 10)
        granted = await phone.async_pair(kitchen, code)
        await phone.async_connect(kitchen, 10)
        return granted.token.partition(".")[0]

    try:
        phone_token = helper_loop.submit(phone_pairs_and_connects(code_of(pin_receiver))).result(30)
        # The owner opens Access: both controllers are listed, the phone as "controller".
        walk_to(window, "access-Kitchen")
        press(OK)
        panel = window.devices_screen.access_panel
        qtbot.waitUntil(lambda: phone_token in panel.revoke_buttons, timeout=10_000)
        assert len(panel.revoke_buttons) == 2
        assert panel.view is not None
        assert panel.view.own_token_id in panel.revoke_buttons
        own = [
            w.text().split("\n")[0] for w in panel.findChildren(QLabel) if "(this app)" in w.text()
        ]
        assert own == ["Baton on This computer (this app)"]  # one space, as everywhere else
        walk_to(window, f"revoke-{phone_token}")
        press(OK)
        conn = phone.known_connection(kitchen)
        assert conn is not None
        qtbot.waitUntil(lambda: isinstance(conn.stopped_by, AccessRevokedError), timeout=10_000)
        qtbot.waitUntil(lambda: phone_token not in panel.revoke_buttons, timeout=10_000)
        assert phone_store.get(kitchen) is None  # the phone forgot its revoked credential

        # "Pair another controller" shows the device's current code.
        walk_to(window, "pair-another")
        press(OK)
        qtbot.waitUntil(lambda: panel.code.isVisible(), timeout=10_000)
        assert code_of(pin_receiver) in panel.code.text()
        # The phone pairs again with that code: while the code is shown the panel re-reads
        # the list and the code, so the phone appears and the used code is replaced.
        used = code_of(pin_receiver)
        again = helper_loop.submit(phone.async_pair(kitchen, used)).result(30)
        phone_token = again.token.partition(".")[0]
        qtbot.waitUntil(lambda: phone_token in panel.revoke_buttons, timeout=15_000)
        qtbot.waitUntil(lambda: code_of(pin_receiver) in panel.code.text(), timeout=15_000)
        assert used not in panel.code.text()

        # Its own token: a confirmation first, then the device needs pairing again.
        own = panel.view.own_token_id
        walk_to(window, f"revoke-{own}")
        press(OK)
        assert panel.confirm.isVisible()
        assert focused() == "keep-access"
        walk_to(window, "confirm-revoke")
        press(OK)
        assert not panel.isVisible()
        qtbot.waitUntil(
            lambda: (
                (view := view_of(window, kitchen)) is not None
                and view.access is v.Access.NEEDS_PAIRING
            ),
            timeout=10_000,
        )
        card = window.devices_screen.cards[kitchen]
        qtbot.waitUntil(lambda: card.state.text() == "Speaker · Needs pairing")
        assert card.button.objectName() == "pair-Kitchen"
        assert not card.access.isVisible()
        assert CredentialStore().get(kitchen) is None
    finally:
        helper_loop.submit(phone.async_close()).result(30)


def test_a_tv_shows_this_devices_pairing_code(qtbot, tmp_path, library_dir):
    window = open_app(qtbot, tmp_path, library_dir, tv=True)
    try:
        window.open_tab("settings")  # the TV layout shows its own code in Settings
        shown = window.settings.local_code
        qtbot.waitUntil(shown.isVisible, timeout=15_000)
        code = (tmp_path / "app-state" / "this-computer" / "pairing-code").read_text().strip()
        assert shown.text() == f"To pair a phone or laptop with this TV, enter {code}"
    finally:
        window.close()
        window.bridge.close()


def test_a_damaged_credentials_file_is_reported_and_left_alone(
    qtbot, tmp_path, library_dir, credentials_dir
):
    credentials_dir.mkdir(parents=True)
    damaged = credentials_dir / "credentials.json"
    damaged.write_text("{ not json")
    window = open_app(qtbot, tmp_path, library_dir)
    try:
        qtbot.waitUntil(lambda: "damaged" in window.notice_label.text(), timeout=15_000)
        assert window.notice_label.property("role") == "error"
        assert damaged.read_text() == "{ not json"  # it may hold the only owner token
        qtbot.waitUntil(lambda: window.albums.rowCount() == 3, timeout=10_000)  # the rest works
    finally:
        window.close()
        window.bridge.close()


def test_wrong_codes_count_down_then_the_device_pauses_pairing(
    qtbot, app_window, pin_receiver, credentials_dir, helper_loop, tmp_path
):
    window = app_window
    kitchen = pin_receiver.device_id
    window.show_screen("devices")
    wait_until_locked(qtbot, window, kitchen)
    walk_to(window, "pair-Kitchen")
    press(OK)
    keypad = window.devices_screen.keypad
    # Someone else got a code wrong first: the device counts every controller's wrong codes,
    # and the keypad shows the device's count, not one of its own.
    stranger = Controller(
        m.ClientIdentity("stranger", "Stranger"),
        interfaces=["127.0.0.1"],
        credentials=CredentialStore(tmp_path / "stranger"),
    )

    async def stranger_tries(code: str) -> None:
        await stranger.async_start()
        try:
            await stranger.async_find(kitchen, 10)
            with pytest.raises(WrongPinError):
                await stranger.async_pair(kitchen, code)
        finally:
            await stranger.async_close()

    wrong = f"{(int(code_of(pin_receiver)) + 1) % 1_000_000:06d}"
    helper_loop.submit(stranger_tries(wrong)).result(30)
    said = []
    for _ in range(5):
        wrong = f"{(int(code_of(pin_receiver)) + 1) % 1_000_000:06d}"
        type_code(wrong)
        press(OK)
        qtbot.waitUntil(lambda: not keypad.busy, timeout=10_000)
        said.append(keypad.status.text())
    assert said[:4] == [
        "Wrong code — 3 tries left before a pause",
        "Wrong code — 2 tries left before a pause",
        "Wrong code — 1 try left before a pause",
        "Wrong code — pairing pauses for a minute now",
    ]
    assert said[4].startswith("Too many wrong codes: the device pauses pairing; try again in ")
    assert said[4].endswith(" s")
    assert CredentialStore(credentials_dir).get(kitchen) is None
    assert view_of(window, kitchen).locked
