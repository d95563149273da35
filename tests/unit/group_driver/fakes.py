"""A controller's devices for the group driver's tests: each fake device runs connect/group/
member.py's machine behind a fake session, every frame through the codec, its player's answers
(pre-roll done, output edges at the instants asked) on the event loop's clock plus its offset."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from connect.clock import ClockEstimate, monotonic_us
from connect.errors import ConnectionLostError, ConnectTimeoutError
from connect.group import member as mb
from connect.session.connection import (
    Connected,
    ConnectionEvent,
    Disconnected,
    GroupMessage,
    StateChanged,
)
from connect.wire import codec
from connect.wire import messages as m

ITEM = m.QueueItem("q1", "http://127.0.0.1:8000/a.flac", duration_ms=300_000)
GROUP_CAPS = m.Capabilities(group_member=True)
V12 = m.ProtocolVersion(1, 2)


def wire(body: m.Body) -> m.Body:
    """Send *body* through the codec, as the session would."""
    return codec.decode(codec.encode(m.Envelope(1, "x", body))).body


@dataclass
class Entry:
    id: str
    name: str


class Registry:
    """The names of the devices: what the coordinator reads of a DeviceRegistry."""

    def __init__(self) -> None:
        self.known: dict[str, Entry] = {}

    def get(self, device_id: str) -> Entry | None:
        return self.known.get(device_id)

    def entries(self) -> list[Entry]:
        return list(self.known.values())


@dataclass
class Device:
    """One device: its group machine, its session's state, what its player was asked."""

    id: str
    offset_us: int
    devices: Devices
    version: m.ProtocolVersion = V12
    caps: m.Capabilities = GROUP_CAPS
    state: m.PlaybackState | None = None
    member: mb.Member = field(init=False)
    holds_session: bool = False
    silent: bool = False  # receives, never answers (a hung device)
    preroll_fails: bool = False
    slow_prerolls: int = 0  # this many pre-rolls take 300 ms (a slow first open), then 10 ms
    started_at: int | None = None  # its clock: the output's start edge
    stopped_at: int | None = None
    followed: list[m.GroupTimeline] = field(default_factory=list)
    volume: tuple[int, bool] | None = None
    received: list[m.Body] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.member = mb.Member(self.id)

    def now(self) -> int:
        return monotonic_us() + self.offset_us

    def receive(self, body: m.Body) -> None:
        body = wire(body)
        self.received.append(body)
        if self.silent:
            return
        self.act(self.member.step(mb.Received(body, self.holds_session), self.now()))  # type: ignore[arg-type]

    def later(self, at_us: int, event: mb.MemberEvent) -> None:
        delay = max(0.0, (at_us - self.now()) / 1e6)
        asyncio.get_running_loop().call_later(delay, self.on, event)

    def on(self, event: mb.MemberEvent) -> None:
        self.act(self.member.step(event, self.now()))

    def act(self, actions: list[mb.MemberAction]) -> None:
        loop = asyncio.get_running_loop()
        for action in actions:
            if isinstance(action, mb.Reply):
                loop.call_soon(self.tell, action.body)
            elif isinstance(action, mb.Preroll):
                failure = (
                    m.Failure(m.ErrorCode.MEDIA_NOT_FOUND, "404") if self.preroll_fails else None
                )
                slow, self.slow_prerolls = self.slow_prerolls > 0, max(0, self.slow_prerolls - 1)
                loop.call_later(0.3 if slow else 0.01, self.on, mb.Prerolled(failure))
            elif isinstance(action, mb.ArmInstant):
                self.later(action.at_us, mb.InstantPassed())
            elif isinstance(action, mb.StartAt):
                self.started_at = action.at_us
                self.later(action.at_us, mb.OutputEdge(action.at_us, 0))
            elif isinstance(action, mb.StopAt):
                at = max(action.at_us, self.now())
                self.stopped_at = at
                self.later(at, mb.OutputEdge(at, 0))
            elif isinstance(action, mb.Follow):
                self.followed.append(action.timeline)
            elif isinstance(action, mb.TakeSession):
                self.holds_session = True
                self.publish(replace(action.state, device_id=self.id))
            elif isinstance(action, mb.Publish):
                if self.state is not None:
                    self.publish(replace(self.state, group=action.group))
            elif isinstance(action, mb.SendTimeline):
                loop.call_soon(self.tell, self.timeline())
            elif isinstance(action, mb.SetVolume):
                self.volume = (action.volume, action.muted)

    def timeline(self, revision: int = 7, playing: bool = True) -> m.GroupTimeline:
        group = self.member.group
        assert group is not None
        return m.GroupTimeline(
            group.group_id, group.group_epoch, "sess-1", revision, ITEM, self.now(), 5_000_000,
            1.0, playing,
        )  # fmt: skip

    def tell(self, body: m.Body) -> None:
        """Send *body* to the controller, if the session is up."""
        conn = self.devices.conns[self.id]
        if conn.connected:
            self.devices.emit(GroupMessage(self.id, wire(body)))  # type: ignore[arg-type]

    def publish(self, state: m.PlaybackState) -> None:
        self.state = state
        conn = self.devices.conns[self.id]
        conn.state = state
        if conn.connected:
            self.devices.emit(StateChanged(self.id, m.StateSnapshot(state)))


class Connection:
    """A DeviceConnection as the coordinator uses it."""

    def __init__(self, device: Device) -> None:
        self.device_id = device.id
        self.device = device
        self.connected = True
        self.reachable = True
        self.clock: ClockEstimate | None = ClockEstimate(device.offset_us, 400, 8)
        self.state = device.state
        self.welcome = m.Welcome(
            device.version,
            m.Role.CONTROLLER,
            m.DeviceInfo(
                device.id, device.id.title(), m.DeviceType.SPEAKER, m.PROTOCOL_V1, device.caps
            ),
            "conn",
            1000,
        )
        self.listeners: list[Callable[[ConnectionEvent], None]] = []
        self.synced: list[int] = []  # the clock samples asked for, batch by batch

    def subscribe(self, listener: Callable[[ConnectionEvent], None]) -> Callable[[], None]:
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    async def async_send(self, body: m.Body) -> None:
        if not self.connected:
            raise ConnectionLostError(f"not connected to device {self.device_id}")
        asyncio.get_running_loop().call_soon(self.device.receive, body)

    async def async_sync_clock(self, samples: int = 3) -> None:
        self.synced.append(samples)


class Devices:
    """What GroupCoordinator needs of a Controller, over fake devices."""

    def __init__(self) -> None:
        self.registry = Registry()
        self.conns: dict[str, Connection] = {}
        self.devices: dict[str, Device] = {}
        self.listeners: list[Callable[[ConnectionEvent], None]] = []

    def add(self, device_id: str, offset_us: int, *, plays: bool = False, **kw: object) -> Device:
        # Every session's first snapshot follows its Welcome: a device alone, holding nothing.
        state = m.PlaybackState(f"own-{device_id}", 1, device_id)
        if plays:
            clock = m.PlaybackClock(5_000, monotonic_us() + offset_us, 1.0, True)
            state = m.PlaybackState(
                "sess-1", 7, device_id, (ITEM,), "q1", clock, m.PlaybackStatus.PLAYING,
                volume=40, active=True, epoch=1,
            )  # fmt: skip
        device = Device(device_id, offset_us, self, state=state, holds_session=plays, **kw)  # type: ignore[arg-type]
        self.devices[device_id] = device
        self.conns[device_id] = Connection(device)
        self.registry.known[device_id] = Entry(device_id, device_id.title())
        return device

    def connection(self, device_id: str) -> Connection:
        return self.conns[device_id]

    def known_connection(self, device_id: str) -> Connection | None:
        return self.conns.get(device_id)

    async def async_connect(self, device_id: str, timeout: float = 5.0) -> Connection:
        conn = self.conns[device_id]
        if not conn.reachable:
            raise ConnectTimeoutError(f"device {device_id} not reachable within {timeout:g} s")
        return conn

    def subscribe(self, listener: Callable[[ConnectionEvent], None]) -> Callable[[], None]:
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    def emit(self, event: ConnectionEvent) -> None:
        conn = self.conns[event.device_id]
        for listener in [*conn.listeners, *self.listeners]:
            listener(event)

    def back(self, device_id: str) -> None:
        """The device's session is up again (the link came back; the device played on)."""
        conn = self.conns[device_id]
        conn.connected = True
        self.emit(Connected(device_id, conn.welcome))

    def drop(self, device_id: str) -> None:
        """The device's session goes down (the device plays on as it was)."""
        conn = self.conns[device_id]
        conn.connected = False
        self.emit(Disconnected(device_id, "connection reset"))
