"""Hand-written fakes for tests: a session host that follows the real playback rules, no player."""

from __future__ import annotations

from dataclasses import replace

from connect.clock import monotonic_us
from connect.session import ControllerLink, SessionServer, playback
from connect.wire import messages as m


class MemoryHost:
    """A SessionHost whose "player" is the state itself: commands apply, snapshots go out."""

    def __init__(self, device_id: str = "dev-test", name: str = "Test Speaker") -> None:
        self.info = m.DeviceInfo(
            id=device_id,
            name=name,
            type=m.DeviceType.SPEAKER,
            protocol=m.PROTOCOL_V1,
            pairing=m.PairingMode.OPEN,
        )
        self.state = m.PlaybackState(session_id="sess-test", revision=1, device_id=device_id)
        self.server = SessionServer(self)
        self.transfer_messages: list[m.Body] = []
        self.commands_seen: list[m.Command] = []

    def device_info(self) -> m.DeviceInfo:
        return replace(self.info, revision=self.state.revision)

    def current_state(self) -> m.PlaybackState:
        return self.state

    async def async_handle_command(self, command: m.Command, role: m.Role) -> m.CommandResult:
        self.commands_seen.append(command)
        try:
            outcome = playback.apply_command(self.state, command, monotonic_us())
        except playback.CommandRejectedError as exc:
            return m.CommandResult(command.command_id, self.state.revision, exc.failure)
        self.state = outcome.state
        reason = m.StateChangeReason.COMMAND
        self.server.broadcast(m.StateSnapshot(self.state, reason, outcome.queue_change))
        return m.CommandResult(command.command_id, self.state.revision)

    async def async_handle_transfer(self, body: m.Body, link: ControllerLink) -> None:
        self.transfer_messages.append(body)
