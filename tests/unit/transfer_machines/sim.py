"""A simulated home for the transfer machines: devices, controllers, a network, one fake clock.

Every device runs the real `DeviceTransfers` machine and every controller the real
`Coordination`; what the adapters do (devices/transfer.py, connect/transfer/coordinator.py) is
modelled here: a player that takes time to load and starts or stops at instants, messages that
take time to cross, sessions that die, timers. Everything happens on an agenda ordered by the
fake clock (µs), so a test decides the interleaving by choosing faults and delays, and reads the
outcome from the devices' published states and players.

Faults: a device *isolated* from everyone (its messages wait, as TCP would, until it is healed
or its sessions are declared dead after DEAD_AFTER_US), a device killed (and restarted from what
it saved), a controller killed, a message duplicated or held up.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from connect.clock import ClockEstimate
from connect.transfer import coordination as c
from connect.transfer import rules
from connect.transfer import source as s
from connect.transfer import target as t
from connect.transfer.device import Action, DeviceTransfers
from connect.transfer.ledger import Ledger, LedgerRecord
from connect.transfer.roles import ArmTimer, CancelTimer, LinkClosed, Log, Reply
from connect.wire import messages as m

LATENCY_US = 1_000  # one way, controller <-> device and device <-> device
DEAD_AFTER_US = 2_500_000  # a session silent this long is declared dead at both ends
ASK_TIMEOUT_US = 2_000_000
ITEM = m.QueueItem("u1", "http://media/track.wav", duration_ms=600_000)
SESSION = "session-1"


@dataclass
class Player:
    """What a device's player does: loaded media, and when it plays."""

    url: str = ""
    ready: bool = False
    playing_since: int | None = None  # µs; set in the future for a timed start
    stops_at: int | None = None  # a fade-out under way ends here

    def intends(self) -> bool:
        """Return True if the player plays, or is set to start, and no stop is set."""
        return self.playing_since is not None and self.stops_at is None

    def audible(self, now: int) -> bool:
        """Return True if samples come out at *now* (a fade-out counts until it ends)."""
        if self.playing_since is None or self.playing_since > now:
            return False
        return self.stops_at is None or self.stops_at > now


@dataclass(eq=False)
class Link:
    """One controller's session with one device (a new one after each reconnect)."""

    controller: str
    device: str
    alive: bool = True


@dataclass
class Device:
    """A receiver: its machine, its published state, its player, what it saved."""

    id: str
    world: World
    state: m.PlaybackState
    machine: DeviceTransfers = field(default_factory=lambda: DeviceTransfers(("wav",)))
    player: Player = field(default_factory=Player)
    alive: bool = True
    isolated_since: int | None = None
    saved: tuple[m.PlaybackState, LedgerRecord] | None = None
    published: list[m.PlaybackState] = field(default_factory=list)
    timers: dict[tuple[str, str], int] = field(default_factory=dict)
    deaf: bool = False

    # ---------------------------------------------------------------------- machine glue

    def feed(self, event: object) -> None:
        if self.deaf and isinstance(event, t.Offer | t.Commit | t.Abort | s.Verdict):
            return  # a device that takes part in no transfer and says nothing
        if self.alive:
            self.run(self.machine.step(event, self.world.now))  # type: ignore[arg-type]

    def run(self, actions: list[Action]) -> None:
        w = self.world
        for action in actions:
            if isinstance(action, Reply):
                link = action.link
                assert isinstance(link, Link)
                w.to_controller(link, action.body)
            elif isinstance(action, Log):
                w.logs.append((self.id, action.message))
            elif isinstance(action, ArmTimer):
                self.timers[action.key] = w.at(action.at_us, self._timer(action.key))
            elif isinstance(action, CancelTimer):
                w.cancel(self.timers.pop(action.key, -1))
            elif isinstance(action, t.Load | t.Seek):
                self._load(action)
            elif isinstance(action, t.StartAt):
                self.player.stops_at = None
                if not action.paused:
                    self.player.playing_since = max(action.at_us, w.now)
                    edge = t.OutputEdge(
                        action.transfer_id, max(action.at_us, w.now), action.position_ms
                    )
                    w.at(edge.at_us, lambda edge=edge: self.feed(edge))
            elif isinstance(action, t.TakeSession | t.HandBack | s.Publish):
                if isinstance(action, t.HandBack):
                    self.player = Player()
                self.publish(action.state)
            elif isinstance(action, t.StopPlayer):
                self.player = Player()
            elif isinstance(action, s.FadeOutAt):
                self._fade(action)
            elif isinstance(action, s.Release):
                if action.stop:
                    self.player = Player()
                    self.publish(s.released_state(self.state))
            elif isinstance(action, s.RollBack):
                playing = None
                if action.play:
                    self.player = replace(self.player, playing_since=w.now, stops_at=None)
                    playing = (self.state.clock.position_ms, w.now)
                self.publish(
                    s.rolled_back_state(self.state, playing, action.revision, action.epoch)
                )
            elif isinstance(action, s.AskTarget):
                w.ask(self, action)

    def publish(self, state: m.PlaybackState) -> None:
        w = self.world
        if state.revision <= self.state.revision:
            w.revision_errors.append(
                f"{self.id} published {state.revision} after {self.state.revision}"
            )
        if state.active and state.session_id == SESSION:
            w.owner_log.append((self.id, state.revision))
        self.state = state
        self.published.append(state)
        w.snapshot(self)
        # Saved with the session: ledger and state together (the receiver writes both).
        self.saved = (state, self.machine.ledger.to_record())

    def _timer(self, key: tuple[str, str]) -> Callable[[], None]:
        def fire() -> None:
            self.timers.pop(key, None)
            self.feed(s.HoldExpired(key[1]) if key[0] == "hold" else t.PrepareExpired())

        return fire

    def _load(self, action: t.Load | t.Seek) -> None:
        w = self.world
        took = w.rng.randrange(3_000, 60_000) if isinstance(action, t.Load) else 500
        if isinstance(action, t.Load):
            self.player = Player(action.url)
        generation = id(self.player)

        def done() -> None:
            if id(self.player) == generation:
                self.player.ready = True
            self.feed(t.LoadDone(action.transfer_id))

        w.after(took, done)

    def _fade(self, action: s.FadeOutAt) -> None:
        w = self.world
        end = max(action.at_us, w.now) + action.fade_ms * 1000
        self.player.stops_at = end
        player = self.player

        def stopped() -> None:
            if self.player is player:
                self.player = replace(player, playing_since=None, stops_at=None)
            self.feed(s.FadedOut(action.transfer_id, end, action.position_ms))

        w.at(end, stopped)

    # ---------------------------------------------------------------------- life

    def die(self) -> None:
        self.alive = False
        self.player = Player()
        for key in list(self.timers):
            self.world.cancel(self.timers.pop(key))

    def restart(self) -> None:
        """Come back from what was saved: the ledger, the session (resumed if it played)."""
        saved_state, record = self.saved if self.saved else (self.state, Ledger().to_record())
        self.machine = DeviceTransfers(("wav",), ledger=Ledger.from_record(record))
        self.alive = True
        state = replace(saved_state, revision=saved_state.revision + 1)
        self.player = Player()
        if state.status is m.PlaybackStatus.PLAYING:
            self.player = Player(ITEM.url, True, self.world.now)
            state = replace(state, clock=m.PlaybackClock(
                state.clock.position_at(self.world.now), self.world.now, 1.0, True))  # fmt: skip
        self.state = state
        self.published.append(state)
        self.saved = (state, self.machine.ledger.to_record())
        self.world.snapshot(self)


@dataclass
class Controller:
    """A controller running at most one transfer at a time."""

    id: str
    world: World
    alive: bool = True
    coordination: c.Coordination | None = None
    plan: c.Plan | None = None
    timers: dict[c.Timer, int] = field(default_factory=dict)
    outcomes: list[c.TransferOutcome] = field(default_factory=list)
    views: dict[str, m.PlaybackState] = field(default_factory=dict)  # last snapshot of each
    refused: list[tuple[m.Failure, str]] = field(default_factory=list)

    def start(self, source: Device, target: Device, mode: m.TransferMode) -> bool:
        """Run the preflight's rules on this controller's views; start if they pass."""
        w = self.world
        estimate = ClockEstimate(0, 2 * LATENCY_US, 3)
        state = self.views[source.id]
        if state.current_item is None:
            return False
        reachable = w.session(self.id, source.id) is not None
        refused = rules.why_not_source(source.id, state, self.views, reachable=reachable)
        if refused is not None:
            self.refused.append(refused)
            return False
        options = m.TransferOptions(mode=mode, paused=not state.clock.playing)
        self.plan = c.Plan(
            f"t{next(w.ids)}", source.id, target.id, options, state, estimate, estimate,
            w.now, 3_000_000, source.id, target.id,
            source_reachable=w.session(self.id, source.id) is not None,
            target_revision=self.views[target.id].revision,
            target_address=(target.id, "http://" + target.id),
        )  # fmt: skip
        self.coordination = c.Coordination(self.plan)
        self.run(self.coordination.start(w.now))
        return True

    def feed(self, event: c.Event) -> None:
        if self.alive and self.coordination is not None and not self.coordination.over:
            self.run(self.coordination.step(event, self.world.now))

    def run(self, actions: list[c.Action]) -> None:
        pending = list(actions)
        while pending:
            action = pending.pop(0)
            assert self.coordination is not None
            assert self.plan is not None
            if isinstance(action, c.Finish):
                self.outcomes.append(action.outcome)
                for handle in self.timers.values():
                    self.world.cancel(handle)
                self.timers.clear()
                return
            if isinstance(action, c.Send):
                device = self.plan.source_id if action.role is c.SOURCE else self.plan.target_id
                link = self.world.session(self.id, device)
                if link is None:
                    if action.must_arrive:
                        lost = c.SessionLost(action.role, "no session", sending=True)
                        pending[:0] = self.coordination.step(lost, self.world.now)
                    continue
                self.world.to_device(link, action.body)
            elif isinstance(action, c.ArmTimer):
                self.world.cancel(self.timers.pop(action.timer, -1))
                deadline = c.Deadline(action.timer)
                self.timers[action.timer] = self.world.at(
                    action.at_us, lambda d=deadline: self.feed(d)
                )

    def receive(self, device: str, body: m.Body) -> None:
        for hook in list(self.world.hooks):
            if hook(self, device, body):
                self.world.hooks.remove(hook)
        if not self.alive:
            return  # a hook killed it: it never reads the message
        plan = self.plan
        if plan is None or not hasattr(body, "transfer_id") or body.transfer_id != plan.transfer_id:
            return
        role = c.SOURCE if device == plan.source_id else c.TARGET
        w = self.world
        if isinstance(body, m.TransferReady):
            up = w.session(self.id, plan.source_id) is not None
            down = w.session(self.id, plan.target_id) is not None
            seen = self.views[plan.target_id].revision  # its snapshots come ahead of its Ready
            self.feed(c.Ready(role, body, source_up=up, target_up=down, target_revision=seen))
        elif isinstance(body, m.TransferRejected):
            self.feed(c.Rejected(role, body))
        elif isinstance(body, m.TransferDone):
            self.feed(c.Done(role, body))

    def lost(self, device: str) -> None:
        plan = self.plan
        if plan is not None and device in (plan.source_id, plan.target_id):
            self.feed(c.SessionLost(c.SOURCE if device == plan.source_id else c.TARGET))

    @property
    def busy(self) -> bool:
        return self.coordination is not None and not self.coordination.over


class World:
    """The agenda, the network and everyone on it."""

    def __init__(
        self,
        seed: int,
        devices: int = 3,
        controllers: int = 1,
        codecs: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.now = 1_000_000
        self.rng = random.Random(seed)
        self.ids = itertools.count(1)
        self._agenda: list[tuple[int, int, Callable[[], None]]] = []
        self._cancelled: set[int] = set()
        self._seq = itertools.count()
        self.logs: list[tuple[str, str]] = []
        self.revision_errors: list[str] = []
        self.steps = 0  # things that happened: deliveries, loads, fades, timers
        # Called with (controller, device id, body) as a controller reads a message, before it
        # acts on it; one that returns True is done. Faults "at the moment X" hang here.
        self.hooks: list[Callable[[Controller, str, m.Body], bool]] = []
        # (device, revision) of every state published holding the session, in order
        self.owner_log: list[tuple[str, int]] = [("d0", 3)]
        self.links: dict[tuple[str, str], Link] = {}
        self.held: dict[int, list[Callable[[], None]]] = {}  # messages waiting for a heal
        self.lost_holds: set[str] = set()  # sources killed while they waited for a verdict
        self.carried: set[str] = set()  # transfers started from a stranded device (the test's)
        self.jitter_us = 0  # extra delay drawn per message, up to this
        self.duplicates = 0.0  # the chance that a delivered message is delivered twice
        self._fifo: dict[tuple[int, str], int] = {}
        self.devices = {
            f"d{i}": Device(f"d{i}", self, m.PlaybackState(SESSION if i == 0 else f"own-{i}", 1))
            for i in range(devices)
        }
        first = self.devices["d0"]
        first.state = m.PlaybackState(
            SESSION, 3, "d0", (ITEM,), ITEM.uid, m.PlaybackClock(10_000, self.now, 1.0, True),
            m.PlaybackStatus.PLAYING, active=True, epoch=1,
        )  # fmt: skip
        first.player = Player(ITEM.url, True, self.now)
        for device_id, own in (codecs or {}).items():
            self.devices[device_id].machine = DeviceTransfers(own)
        for device in self.devices.values():
            device.state = replace(device.state, device_id=device.id)
            device.saved = (device.state, device.machine.ledger.to_record())
        self.controllers = {f"c{i}": Controller(f"c{i}", self) for i in range(controllers)}
        for controller in self.controllers.values():
            for device in self.devices.values():
                self.links[controller.id, device.id] = Link(controller.id, device.id)
                controller.views[device.id] = device.state

    # ---------------------------------------------------------------------- agenda

    def at(self, when: int, what: Callable[[], None]) -> int:
        handle = next(self._seq)
        heapq.heappush(self._agenda, (max(when, self.now), handle, what))
        return handle

    def after(self, delay: int, what: Callable[[], None]) -> int:
        return self.at(self.now + delay, what)

    def cancel(self, handle: int) -> None:
        self._cancelled.add(handle)

    def step(self) -> bool:
        """Run the next thing on the agenda; return False when nothing is left."""
        while self._agenda:
            when, handle, what = heapq.heappop(self._agenda)
            if handle in self._cancelled:
                continue
            self.now = max(self.now, when)
            self.steps += 1
            what()
            return True
        return False

    def next_at(self) -> int | None:
        live = [when for when, handle, _ in self._agenda if handle not in self._cancelled]
        return min(live) if live else None

    def settle(self, limit: int = 10_000) -> None:
        """Run the agenda until nothing is left (a bound guards against a loop)."""
        for _ in range(limit):
            if not self.step():
                return
        raise AssertionError("the agenda never empties")

    # ---------------------------------------------------------------------- network

    def snapshot(self, device: Device) -> None:
        """Send *device*'s state to every controller with a session to it (as it changes)."""
        state = device.state
        for controller in self.controllers.values():
            link = self.session(controller.id, device.id)
            if link is None or device.isolated_since is not None:
                continue

            def arrive(controller: Controller = controller, link: Link = link) -> None:
                if link.alive and controller.alive:
                    controller.views[device.id] = state

            self.at(self._when(link, "up"), arrive)

    def session(self, controller: str, device: str) -> Link | None:
        """Return the live session between the two, or None."""
        link = self.links.get((controller, device))
        ok = link is not None and link.alive and self.controllers[controller].alive
        return link if ok and self.devices[device].alive else None

    def _delay(self) -> int:
        return LATENCY_US + (self.rng.randrange(self.jitter_us + 1) if self.jitter_us else 0)

    def _when(self, link: Link, direction: str) -> int:
        """Return when a message sent now arrives: delayed, never before an earlier one."""
        key = (id(link), direction)
        arrival = max(self.now + self._delay(), self._fifo.get(key, 0))
        self._fifo[key] = arrival
        return arrival

    def _send(self, device: Device, link: Link, deliver: Callable[[], None]) -> None:
        def arrive() -> None:
            if not link.alive:
                return
            if device.isolated_since is not None:
                self.held.setdefault(id(device), []).append(arrive)  # TCP keeps it
                return
            deliver()
            if self.duplicates and self.rng.random() < self.duplicates:
                deliver()  # the same message again (a retry, a second controller's copy)

        self.at(self._when(link, "down"), arrive)

    def to_device(self, link: Link, body: m.Body) -> None:
        device = self.devices[link.device]
        self._send(device, link, lambda: self._deliver(device, link, body))

    def to_controller(self, link: Link, body: m.Body) -> None:
        device, controller = self.devices[link.device], self.controllers[link.controller]
        if device.isolated_since is not None:
            self.held.setdefault(id(device), []).append(
                lambda: self._send_back(device, link, controller, body)
            )
            return
        self._send_back(device, link, controller, body)

    def _send_back(self, device: Device, link: Link, controller: Controller, body: m.Body) -> None:
        def arrive() -> None:
            if link.alive and controller.alive:
                controller.receive(device.id, body)

        self.at(self._when(link, "up"), arrive)

    def _deliver(self, device: Device, link: Link, body: m.Body) -> None:
        own = device.state
        event: object
        if isinstance(body, m.TransferOffer):
            event = t.Offer(body, link, own)
        elif isinstance(body, m.TransferCommit):
            event = t.Commit(body, link, own)
        elif isinstance(body, m.TransferAborted):
            event = t.Abort(body, own)
        elif isinstance(body, m.TransferDone):
            event = s.Verdict(body.transfer_id)
        else:
            return
        device.feed(event)

    def ask(self, source: Device, action: s.AskTarget) -> None:
        """The source's question to its target, over HTTP, answered or not."""
        target = self.devices.get(action.target_device_id)
        reachable = (
            target is not None and target.alive and target.isolated_since is None
            and source.isolated_since is None
        )  # fmt: skip
        tid = action.transfer_id
        if not reachable:
            why = "refused" if target is not None and not target.alive else "timed out"
            delay = 2 * LATENCY_US if why == "refused" else ASK_TIMEOUT_US
            self.after(delay, lambda: source.feed(s.PhaseAnswer(tid, None, why)))
            return
        assert target is not None

        def answer() -> None:
            if not target.alive:
                source.feed(s.PhaseAnswer(tid, None, "refused"))
                return
            phase, actions = target.machine.ask(tid)
            target.run(actions)
            self.after(LATENCY_US, lambda: source.feed(s.PhaseAnswer(tid, phase)))

        self.after(LATENCY_US, answer)

    # ---------------------------------------------------------------------- faults

    def isolate(self, device_id: str) -> None:
        device = self.devices[device_id]
        if device.isolated_since is not None or not device.alive:
            return
        device.isolated_since = self.now
        since = self.now

        def declare_dead() -> None:
            if device.isolated_since == since:
                for link in [x for x in self.links.values() if x.device == device_id]:
                    self._close(link)

        self.after(DEAD_AFTER_US, declare_dead)

    def heal(self, device_id: str) -> None:
        device = self.devices[device_id]
        if device.isolated_since is None:
            return
        device.isolated_since = None
        for deliver in self.held.pop(id(device), []):
            deliver()
        self._reconnect(device_id)

    def kill_device(self, device_id: str) -> None:
        device = self.devices[device_id]
        if not device.alive:
            return
        if device.machine.source.busy:
            self.lost_holds.add(device_id)  # its wait for a verdict dies with it (a known gap)
        device.die()
        self.held.pop(id(device), None)
        for link in [x for x in self.links.values() if x.device == device_id]:
            self._close(link)

    def restart_device(self, device_id: str) -> None:
        device = self.devices[device_id]
        if device.alive:
            return
        device.isolated_since = None
        device.restart()
        self._reconnect(device_id)

    def kill_controller(self, controller_id: str) -> None:
        controller = self.controllers[controller_id]
        if not controller.alive:
            return
        for link in [x for x in self.links.values() if x.controller == controller_id]:
            self._close(link)
        controller.alive = False

    def _close(self, link: Link) -> None:
        if not link.alive:
            return
        link.alive = False
        device, controller = self.devices[link.device], self.controllers[link.controller]
        # Each end hears of it a moment later (the socket's end, read on its next turn).
        self.after(LATENCY_US, lambda: device.feed(LinkClosed(link)) if device.alive else None)
        self.after(LATENCY_US, lambda: controller.lost(link.device) if controller.alive else None)

    def _reconnect(self, device_id: str) -> None:
        for controller in self.controllers.values():
            old = self.links[controller.id, device_id]
            if controller.alive and not old.alive:
                self.links[controller.id, device_id] = Link(controller.id, device_id)
        self.snapshot(self.devices[device_id])  # the new sessions start with the device's state
