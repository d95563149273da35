"""Moving playback between devices: what both ends share, without the coordinator.

`rules` holds the pure rules both ends apply (which format an item is in, whether a device
can take it, the switch instant and the timings); `async_ask_transfer_phase` is how a source
left without a verdict asks its target; `async_fetch_queue_page` how a target fetches the rest
of a long queue from its source after the switch. The controller's side, `TransferCoordinator`,
lives in `coordinator` and is imported from there, so a receiver never loads it.
"""

from connect.transfer._queue_fetch import async_fetch_queue_page
from connect.transfer._status import async_ask_transfer_phase
from connect.transfer.rules import media_format_of, why_not_target

__all__ = [
    "async_ask_transfer_phase",
    "async_fetch_queue_page",
    "media_format_of",
    "why_not_target",
]
