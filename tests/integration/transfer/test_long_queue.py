"""A transfer of a long queue between real receivers: offered as a window, the rest fetched.

The source plays a queue of 20 000 items; the transfer offers the target a window of it and
the source's address; after the switch the target fetches the other items from the source.
A controller paging through the target's queue then finds every item, in order.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from connect.session.queue_upload import items_for_urls
from connect.transfer.coordinator import TransferCoordinator
from tests.integration.transfer.fault_bench import (
    EVENT_TIMEOUT_S,
    controller_for,
    two_receivers,
    wait_state,
)

pytestmark = pytest.mark.slow

LENGTH = 20_000


async def test_a_long_queue_moves_whole(tmp_path: Path) -> None:
    async with two_receivers(tmp_path) as pair:
        source, target = pair.source, pair.target
        async with controller_for(source, target) as controller:
            # The same track under 20 000 entries: every one a distinct uid and URL.
            items = items_for_urls(f"{pair.url}?n={n}" for n in range(LENGTH))
            uploaded = await controller.async_play_items(source.device_id, items, timeout=30)
            assert uploaded.result.ok, uploaded.result.failure
            await wait_state(controller, source.device_id, lambda s: s.clock.playing)
            outcome = await TransferCoordinator(controller).async_transfer(
                source.device_id, target.device_id
            )
            assert outcome.ok, outcome.failure
            moved = await wait_state(controller, target.device_id, lambda s: s.active)
            assert moved.queue_total == LENGTH
            assert moved.current_uid == items[0].uid
            view = controller.queue_view(target.device_id)
            try:
                # Until the target has the rest, its pages outside the window say BUSY: ask
                # again (the target tells of no "fetched" moment a controller could await).
                async with asyncio.timeout(EVENT_TIMEOUT_S):
                    while view.mirror.known() < LENGTH:
                        if not await view.async_fetch(0, LENGTH):
                            await asyncio.sleep(0.05)
                # The same items in the same order (the device adds the playing one's duration).
                held = [(i.uid, i.url) for i in view.mirror if i is not None]
                assert held == [(i.uid, i.url) for i in items]
            finally:
                view.close()
