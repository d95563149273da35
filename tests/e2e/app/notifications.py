"""A stand-in for the desktop's notification daemon (org.freedesktop.Notifications).

Kept out of the test module: dbus-fast reads D-Bus signatures from annotations, which the
tests' `from __future__ import annotations` would turn into text.
"""

from typing import Annotated, Any

from dbus_fast import Variant
from dbus_fast.annotations import DBusInt32, DBusSignature, DBusStr, DBusUInt32
from dbus_fast.service import ServiceInterface, method

StrList = Annotated[list[str], DBusSignature("as")]
Hints = Annotated[dict[str, Variant], DBusSignature("a{sv}")]


class NotificationService(ServiceInterface):
    """Records each Notify call's arguments in `calls`; answers ids 1, 2, 3, ..."""

    def __init__(self, calls: list[tuple[Any, ...]]) -> None:
        super().__init__("org.freedesktop.Notifications")
        self.calls = calls

    @method()
    def Notify(
        self,
        app_name: DBusStr,
        replaces_id: DBusUInt32,
        app_icon: DBusStr,
        summary: DBusStr,
        body: DBusStr,
        actions: StrList,
        hints: Hints,
        expire_timeout: DBusInt32,
    ) -> DBusUInt32:
        self.calls.append((app_name, replaces_id, app_icon, summary, body, expire_timeout))
        return len(self.calls)

    @method()
    def GetCapabilities(self) -> StrList:
        return ["body"]

    @method()
    def GetServerInformation(self) -> Annotated[tuple[str, str, str, str], DBusSignature("ssss")]:
        return ["fake", "baton-tests", "1", "1.2"]  # type: ignore[return-value]


async def watch_seeked(address: str, seen: list[int]) -> Any:
    """Connect to the bus at *address* and append every MPRIS Seeked position to *seen*."""
    from dbus_fast import Message, MessageType
    from dbus_fast.aio import MessageBus

    bus = await MessageBus(bus_address=address).connect()
    rule = "type='signal',interface='org.mpris.MediaPlayer2.Player',member='Seeked'"
    await bus.call(
        Message(
            destination="org.freedesktop.DBus",
            path="/org/freedesktop/DBus",
            interface="org.freedesktop.DBus",
            member="AddMatch",
            signature="s",
            body=[rule],
        )
    )

    def handler(message: Message) -> None:
        if message.message_type is MessageType.SIGNAL and message.member == "Seeked":
            seen.append(int(message.body[0]))

    bus.add_message_handler(handler)
    return bus
