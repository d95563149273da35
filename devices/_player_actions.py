"""How a receiver carries out the session rules' player actions, and reads its clock back.

connect.session.playback says what the player must do (load, pause, seek ...);
`async_perform` does one such action on the libVLC player, `async_carry_out` all of an
outcome's, and `anchored_on_player` sets a state's clock to the player's, so the published
position is where the audio is, not where it was asked to be.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from connect.clock import Clock
from connect.session import playback
from connect.wire import messages as m
from devices.errors import ReceiverError
from devices.failures import failure_from
from devices.player_types import PlayerClock, PlayerState


class ActionPlayer(Protocol):
    """What of devices.player.Player the session's actions use (a fake stands in in tests)."""

    @property
    def state(self) -> PlayerState: ...
    @property
    def url(self) -> str: ...
    @property
    def length_ms(self) -> int | None: ...
    def clock(self) -> PlayerClock: ...
    async def async_load(self, url: str, position_ms: int = 0, *, play: bool) -> None: ...
    async def async_pause(self) -> None: ...
    async def async_play(self) -> None: ...
    async def async_seek(self, position_ms: int) -> None: ...
    async def async_stop(self) -> None: ...
    async def async_set_volume(self, volume: int) -> None: ...


async def async_perform(player: ActionPlayer, action: playback.PlayerAction) -> None:
    """Carry out *action* on *player*; raise the player's ReceiverError if it fails."""
    if isinstance(action, playback.Load):
        await player.async_load(action.item.url, action.position_ms, play=action.play)
    elif isinstance(action, playback.PausePlayer):
        await player.async_pause()
    elif isinstance(action, playback.ResumePlayer):
        await player.async_play()
    elif isinstance(action, playback.SeekPlayer):
        await player.async_seek(action.position_ms)
    elif isinstance(action, playback.StopPlayer):
        await player.async_stop()
    else:
        await player.async_set_volume(action.volume)


async def async_carry_out(
    player: ActionPlayer, outcome: playback.Outcome, clock: Clock
) -> tuple[m.PlaybackState, m.Failure | None]:
    """Make *player* match *outcome*; return the state that is then true, and the failure if any.

    On success the outcome's state, its clock anchored on the player's; on a player error the
    outcome's state stopped with that failure shown (connect.session.playback.after_failure).
    """
    try:
        for action in outcome.actions:
            await async_perform(player, action)
    except ReceiverError as exc:
        failure = failure_from(exc)
        return playback.after_failure(outcome.state, failure, clock()), failure
    return anchored_on_player(player, outcome.state), None


def anchored_on_player(player: ActionPlayer, state: m.PlaybackState) -> m.PlaybackState:
    """Anchor the state's clock on the player's: when audio really started, not when asked."""
    if player.state not in (PlayerState.PLAYING, PlayerState.PAUSED, PlayerState.READY):
        return state
    clock = player.clock()
    return replace(
        state,
        clock=m.PlaybackClock(clock.position_ms, clock.as_of_us, state.clock.rate, clock.playing),
    )
