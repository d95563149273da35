"""How a receiver carries out the session rules' player actions, and reads its clock back.

connect.playback says what the player must do (load, pause, seek ...); `perform` does one such
action on the libVLC player, and `anchored_on_player` sets a state's clock to the player's, so
the published position is where the audio is, not where it was asked to be.
"""

from __future__ import annotations

from dataclasses import replace

from connect import messages as m
from connect import playback
from devices.player import Player
from devices.player_types import PlayerState


async def perform(player: Player, action: playback.PlayerAction) -> None:
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


def anchored_on_player(player: Player, state: m.PlaybackState) -> m.PlaybackState:
    """Anchor the state's clock on the player's: when audio really started, not when asked."""
    if player.state not in (PlayerState.PLAYING, PlayerState.PAUSED, PlayerState.READY):
        return state
    clock = player.clock()
    return replace(
        state,
        clock=m.PlaybackClock(clock.position_ms, clock.as_of_us, state.clock.rate, clock.playing),
    )
