"""Both session machines over a simulated link, a fake clock, every interleaving hypothesis finds.

A controller (ControllerEnd) and a device (DeviceEnd) talk through two in-order queues with a
latency; the link can stall (a partition holds every frame until it heals), either side can
close or lose the transport, the device's host answers commands late or never, and bad frames
arrive. Time only moves when a rule says so, and the simulation then runs every delivery and
every machine deadline in time order, as the aiohttp adapters do. Checked after every step:

* every command gets exactly one outcome (its result, or a session-lost failure), unless its
  caller gave up waiting first; once the session is over, none is still waiting;
* a peer is declared dead exactly `DEAD_AFTER_BEATS` intervals after the last frame came from
  it, never earlier (never while it is alive), never later;
* nothing is sent after a close; each side numbers its frames 1, 2, 3, ...;
* the device answers each command it read at most once, and its count of commands at the
  host matches the host's.

`BATON_STATEFUL_EXAMPLES` raises the number of interleavings (bench/README.md has a timed run).
"""

from __future__ import annotations

import os
from collections import Counter, deque
from dataclasses import dataclass

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from connect.errors import ConnectionLostError, ConnectTimeoutError
from connect.session.controller_end import (
    CommandDone,
    CommandLost,
    ControllerAction,
    ControllerEnd,
    Ended,
    TransferReceived,
)
from connect.session.device_end import (
    Admission,
    Admit,
    Admitted,
    DeviceAction,
    DeviceEnd,
    HandleCommand,
    HandleTransfer,
    TurnedAway,
)
from connect.session.machine import Close, Send
from connect.wire import codec
from connect.wire import messages as m
from connect.wire._pb import connect_pb2 as pb
from tests.unit.session_machines.support import DEAD_US, DEVICE, HELLO, S

EXAMPLES = int(os.environ.get("BATON_STATEFUL_EXAMPLES", "300"))
STEPS = 40
RARELY = 10

ACTIONS: list[m.Action] = [
    m.Pause(),
    m.Resume(),
    m.SetVolume(40),
    m.SkipNext(),
    m.Seek(1000),
    m.SetOptions(shuffle=True),
]


def _bad_uid_command(command_id: str) -> bytes:
    wire = pb.Envelope(seq=99, msg_id="bad")
    wire.command.command_id = command_id
    wire.command.set_queue.items.add(uid="", url="http://h/a.mp3")
    return wire.SerializeToString()


OVERSIZED = b"\x08\x05" + b"\xfa\x07\x83\x80\x40" + b"x" * (m.MAX_FRAME_BYTES + 3)
BAD_FRAMES = {
    "garbage": b"\xff\xfe garbage",
    "oversized": OVERSIZED,
    "unknown body": b"\x08\x02\x12\x01u" + b"\xc2\x02\x00",
    "wrong direction": codec.encode(m.Envelope(77, "w", m.StateSnapshot(m.PlaybackState("s", 1)))),
}


@dataclass
class Frame:
    at: int  # when it arrives
    data: bytes | None  # None: the sender's end of the transport closed after its last frame
    text: bool = False


class SessionPair(RuleBasedStateMachine):
    """A controller and a device session over a simulated link."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0
        self.dev = DeviceEnd("conn-1", 0)
        self.ctl = ControllerEnd(DEVICE.id, HELLO)
        self.admission: Admission = Admitted(m.Role.CONTROLLER)
        self.latency = 0
        self.stalled = False
        self.to_dev: deque[Frame] = deque()
        self.to_ctl: deque[Frame] = deque()
        self.host: deque[HandleCommand] = deque()  # commands the device's host holds
        self.offers: deque[str] = deque()  # transfers the host has to answer
        self.revision = DEVICE.revision
        self.started = False
        self.dev_done = self.ctl_done = False
        self.dev_seq = self.ctl_seq = 0
        self.dev_heard_at = self.ctl_heard_at = 0  # last frame each side received
        self.next_id = 0
        self.issued: set[str] = set()
        self.abandoned: set[str] = set()
        self.outcomes: Counter[str] = Counter()
        self.dev_results: Counter[str] = Counter()

    # -------------------------------------------------------------------------- setup

    @initialize(
        latency_ms=st.integers(0, 400),
        admission=st.sampled_from(
            [
                Admitted(m.Role.CONTROLLER),
                Admitted(m.Role.OWNER, "tok"),
                Admitted(m.Role.OBSERVER),
                TurnedAway(m.GoodbyeReason.UNAUTHENTICATED, "pair first"),
            ]
        ),
        start_now=st.sampled_from([True, True, True, False]),
    )
    def setup(self, latency_ms: int, admission: Admission, start_now: bool) -> None:
        self.latency = latency_ms * 1000
        self.admission = admission
        if start_now:  # else a rule starts it, perhaps after the device stopped waiting
            self.controller_starts()

    # -------------------------------------------------------------------------- rules

    @precondition(lambda self: not self.started and not self.ctl.ended)
    @rule()
    def controller_starts(self) -> None:
        self.started = True
        self._ctl(self.ctl.start(self.now))

    @rule(ms=st.one_of(st.integers(0, 300), st.integers(0, 4500)))
    def time_passes(self, ms: int) -> None:
        self._run_until(self.now + ms * 1000)

    @rule(delay_ms=st.integers(0, 600))
    def latency_changes(self, delay_ms: int) -> None:
        self.latency = delay_ms * 1000

    @precondition(lambda self: self.ctl.is_open)
    @rule(action=st.sampled_from(ACTIONS))
    def controller_sends_a_command(self, action: m.Action) -> None:
        self.next_id += 1
        command_id = f"c-{self.next_id}"
        self.issued.add(command_id)
        self._ctl(self.ctl.command(m.Command(command_id, action), self.now))

    @precondition(lambda self: bool(self.ctl.waiting))
    @rule(data=st.data())
    def a_caller_stops_waiting(self, data: st.DataObject) -> None:
        command_id = data.draw(st.sampled_from(sorted(self.ctl.waiting)))
        self.ctl.abandon(command_id)
        self.abandoned.add(command_id)

    @precondition(lambda self: self.ctl.is_open)
    @rule()
    def controller_asks_the_time(self) -> None:
        self._ctl(self.ctl.request_time(self.now))

    @precondition(lambda self: self.ctl.is_open)
    @rule()
    def controller_offers_a_transfer(self) -> None:
        self.next_id += 1
        offer = m.TransferOffer(
            f"t-{self.next_id}", m.PlaybackState("s", 1), m.TransferOptions(), "other", 0
        )
        self._ctl(self.ctl.send(offer, self.now))

    @precondition(lambda self: bool(self.host))
    @rule(publish=st.booleans())
    def host_answers_a_command(self, publish: bool) -> None:
        command = self.host.popleft().command
        if publish:  # an applied command: the new state goes out before its result
            self.revision += 1
            state = m.PlaybackState("s", self.revision, last_command_id=command.command_id)
            self._dev(self.dev.send(m.StateSnapshot(state, m.StateChangeReason.COMMAND), self.now))
        self._dev(self.dev.answer(m.CommandResult(command.command_id, self.revision), self.now))

    @precondition(lambda self: bool(self.offers))
    @rule()
    def host_answers_a_transfer(self) -> None:
        ready = m.TransferReady(self.offers.popleft(), 0, self.now)
        self._dev(self.dev.send(ready, self.now))

    @rule()
    def the_player_moves_on(self) -> None:
        self.revision += 1
        snapshot = m.StateSnapshot(m.PlaybackState("s", self.revision))
        self._dev(self.dev.send(snapshot, self.now))

    @precondition(lambda self: self.dev.is_open)  # before the Hello: the table tests
    @rule(kind=st.sampled_from(sorted(BAD_FRAMES)))
    def a_bad_frame_reaches_the_device(self, kind: str) -> None:
        self._to(self.to_dev, BAD_FRAMES[kind])

    @precondition(lambda self: self.dev.is_open)  # before the Hello: the table tests
    @rule()
    def a_text_frame_reaches_the_device(self) -> None:
        self.to_dev.append(Frame(self._arrival(self.to_dev), b"", text=True))

    @precondition(lambda self: self.dev.is_open)  # before the Hello: the table tests
    @rule()
    def a_broken_command_reaches_the_device(self) -> None:
        self.next_id += 1
        self._to(self.to_dev, _bad_uid_command(f"x-{self.next_id}"))

    @precondition(lambda self: self.ctl.is_open)
    @rule(command_id=st.integers(0, 5))
    def a_stray_result_reaches_the_controller(self, command_id: int) -> None:
        # A duplicate, a late one, or one for a command never sent: none may count twice.
        self._to(
            self.to_ctl, codec.encode(m.Envelope(999, "d", m.CommandResult(f"c-{command_id}", 1)))
        )

    @precondition(lambda self: self.ctl.is_open and not self.stalled)
    @rule()
    def the_link_stalls(self) -> None:
        self.stalled = True

    @precondition(lambda self: self.stalled)
    @rule(dice=st.integers(0, 2))
    def the_link_heals(self, dice: int) -> None:
        if not dice:  # not at once: a stall long enough to kill is the point
            self.stalled = False
            # TCP delivers what it held, in order, as soon as the path is back.
            for queue in (self.to_dev, self.to_ctl):
                for frame in queue:
                    frame.at = max(frame.at, self.now + self.latency)

    # The session's end comes from one rule, and only one time in RARELY: a session that
    # ended in its first steps would hide the long runs where silence and deaths happen.
    @rule(
        how=st.sampled_from(["controller closes", "device shuts down", "revoked", "transport"]),
        dice=st.integers(0, RARELY - 1),
    )
    def the_session_ends(self, how: str, dice: int) -> None:
        if dice:
            return
        if how == "controller closes":
            self._ctl(self.ctl.close(self.now))
        elif how == "transport":
            self._dev(self.dev.lost("reset"))
            self._ctl(self.ctl.lost(ConnectionLostError("reset")))
        else:
            reason = (
                m.GoodbyeReason.SHUTDOWN if how == "device shuts down" else m.GoodbyeReason.REVOKED
            )
            self._dev(self.dev.close(self.now, m.Goodbye(reason, "bye")))

    # -------------------------------------------------------------------------- invariants

    @invariant()
    def every_command_ends_once(self) -> None:
        assert all(count == 1 for count in self.outcomes.values()), self.outcomes
        settled = set(self.outcomes)
        assert settled <= self.issued
        assert set(self.ctl.waiting) == self.issued - settled - self.abandoned
        if self.ctl.ended:
            assert self.issued <= settled | self.abandoned

    @invariant()
    def the_device_answers_each_command_once(self) -> None:
        assert all(count == 1 for count in self.dev_results.values()), self.dev_results
        assert self.dev.unanswered == len(self.host)

    @invariant()
    def silence_is_judged_on_time(self) -> None:
        if self.dev.is_open:
            assert self.dev.deadline is not None
            assert self.dev.deadline <= self.dev_heard_at + DEAD_US
        if self.ctl.is_open:
            assert self.ctl.deadline is not None
            assert self.ctl.deadline <= self.ctl_heard_at + DEAD_US

    def teardown(self) -> None:
        """Let the rest play out: a session left alone ends, and no command waits for ever."""
        while self.host:
            self.host_answers_a_command(publish=False)
        if self.stalled:
            self.the_link_heals(dice=0)
        self._run_until(self.now + 20 * S)
        self._ctl(self.ctl.close(self.now))
        self._run_until(self.now + 20 * S)
        assert self.ctl.ended
        assert self.dev.closed  # told by the transport's end, if by nothing else
        self.every_command_ends_once()

    # -------------------------------------------------------------------------- the simulation

    def _run_until(self, target: int) -> None:
        """Run every delivery and machine deadline up to *target*, in time order."""
        for _ in range(100_000):
            candidates = [
                t
                for t in (
                    self.to_dev[0].at if self.to_dev and not self.stalled else None,
                    self.to_ctl[0].at if self.to_ctl and not self.stalled else None,
                    self.dev.deadline,
                    self.ctl.deadline if self.started else None,
                )
                if t is not None
            ]
            when = min(candidates, default=None)
            if when is None or when > target:
                break
            self.now = max(self.now, when)
            if not self.stalled and self.to_dev and self.to_dev[0].at <= self.now:
                self._deliver_to_device(self.to_dev.popleft())
            elif not self.stalled and self.to_ctl and self.to_ctl[0].at <= self.now:
                self._deliver_to_controller(self.to_ctl.popleft())
            elif self.dev.deadline is not None and self.dev.deadline <= self.now:
                self._dev(self.dev.tick(self.now), tick=True)
            else:
                self._ctl(self.ctl.tick(self.now), tick=True)
        else:
            raise AssertionError("the simulation does not settle: a deadline that never moves")
        self.now = max(self.now, target)

    def _deliver_to_device(self, frame: Frame) -> None:
        if frame.data is None:
            self._dev(self.dev.lost("the controller closed the transport"))
            return
        if not self.dev.closed:
            self.dev_heard_at = self.now
        if frame.text:
            self._dev(self.dev.receive_text(self.now))
        else:
            self._dev(self.dev.receive(frame.data, self.now))

    def _deliver_to_controller(self, frame: Frame) -> None:
        if frame.data is None:
            self._ctl(self.ctl.lost(ConnectionLostError("closed by the device")))
            return
        if not self.ctl.ended:
            self.ctl_heard_at = self.now
        self._ctl(self.ctl.receive(frame.data, self.now))

    def _dev(self, actions: list[DeviceAction], *, tick: bool = False) -> None:
        was_done = self.dev_done
        for action in actions:
            if isinstance(action, Send):
                assert not was_done, f"the device sent {action.body} after its close"
                assert action.envelope.seq == self.dev_seq + 1
                self.dev_seq = action.envelope.seq
                body = action.body
                if isinstance(body, m.CommandResult):
                    self.dev_results[body.command_id] += 1
                if tick and isinstance(body, m.Goodbye):
                    assert body.reason is m.GoodbyeReason.TIMEOUT
                    assert self.now - self.dev_heard_at == DEAD_US  # dead exactly on time
                self._to(self.to_ctl, codec.encode(action.envelope))
            elif isinstance(action, Close):
                assert not self.dev_done, "the device closed twice"
                self.dev_done = True
                self.to_ctl.append(Frame(self._arrival(self.to_ctl), None))
            elif isinstance(action, Admit):
                self._dev(self.dev.admit(self.admission, DEVICE, self.now))
            elif isinstance(action, HandleCommand):
                self.host.append(action)
            elif isinstance(action, HandleTransfer) and isinstance(action.body, m.TransferOffer):
                self.offers.append(action.body.transfer_id)

    def _ctl(self, actions: list[ControllerAction], *, tick: bool = False) -> None:
        was_done = self.ctl_done
        for action in actions:
            if isinstance(action, Send):
                assert not was_done, f"the controller sent {action.body} after its end"
                assert action.envelope.seq == self.ctl_seq + 1
                self.ctl_seq = action.envelope.seq
                self._to(self.to_dev, codec.encode(action.envelope))
            elif isinstance(action, CommandDone | CommandLost):
                assert action.command_id in self.issued
                assert action.command_id not in self.abandoned
                self.outcomes[action.command_id] += 1
            elif isinstance(action, Ended | Close):
                assert not self.ctl_done, "the controller ended twice"
                self.ctl_done = True
                if isinstance(action, Ended) and tick and self.ctl.welcome is not None:
                    assert isinstance(action.error, ConnectTimeoutError)
                    assert self.now - self.ctl_heard_at == DEAD_US  # dead exactly on time
                self.to_dev.append(Frame(self._arrival(self.to_dev), None))
            elif isinstance(action, TransferReceived):
                assert isinstance(action.body, m.TransferReady | m.TransferRejected)

    def _to(self, queue: deque[Frame], data: bytes) -> None:
        queue.append(Frame(self._arrival(queue), data))

    def _arrival(self, queue: deque[Frame]) -> int:
        """In order, as TCP delivers: never before the frame sent ahead of it."""
        at = self.now + self.latency
        return max(at, queue[-1].at) if queue else at


TestSessionPair = SessionPair.TestCase
TestSessionPair.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
