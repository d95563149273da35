"""Moving the followed session to another device: a transfer, and preparing the devices for one."""

from __future__ import annotations

import time

from client.app import views as v
from client.app import words
from client.app._following import DeviceFollowing
from client.app._grouping import GroupingError
from client.app.group_desk import GroupDesk
from client.app.groups import group_of, groups_shown
from connect.transfer.coordinator import TransferCoordinator
from connect.wire import messages as m


class SessionMoving(DeviceFollowing):
    """The transfers of an `AppCore` (client/app/core.py): the followed session, elsewhere."""

    coordinator: TransferCoordinator
    groups: GroupDesk

    async def async_transfer(self, target_id: str) -> None:
        """Move the followed session to *target_id*, reporting progress and the outcome."""
        source = self._followed
        name = self._name(target_id)
        if not source:
            self._emit(
                v.TransferView("", target_id, name, v.TransferPhase.FAILED, "Nothing is playing")
            )
            return
        self._emit(
            v.TransferView(source, target_id, name, v.TransferPhase.RUNNING, f"Moving to {name}…")
        )
        began = time.perf_counter()
        shown = groups_shown(self._views.values())
        if group_of(shown, source) or group_of(shown, target_id):
            # A group's music, or music onto a group: the keeper moves it (client/group_moves.py).
            try:
                _, outcome = await self.groups.grouping.async_transfer(source, target_id)
            except GroupingError as exc:
                why = self._named(str(exc))
                failed = v.TransferView(source, target_id, name, v.TransferPhase.FAILED, why)
                self._emit(failed)
                return
        else:
            outcome = await self.coordinator.async_transfer(source, target_id)
        elapsed = round((time.perf_counter() - began) * 1000)
        if outcome.ok:
            self._follow(outcome.target_id)  # onto a group: its leader holds the music
            # A device that cannot start at an instant made it stop-first: say why the gap.
            stop_first = outcome.mode is m.TransferMode.STOP_FIRST
            said = words.moved(name, outcome.mode_reason if stop_first else "")
            self._emit(
                v.TransferView(
                    source, target_id, name, v.TransferPhase.DONE, said, outcome.timings, elapsed
                )
            )  # fmt: skip
        else:
            assert outcome.failure is not None
            why = self._named(outcome.failure.message or outcome.failure.code.name.lower())
            owner = outcome.owner_id
            if owner and owner != target_id:
                # Another controller moved it first: follow it, so the same choice moves it
                # from where it is now.
                self._follow(owner)
                why += f". Choose {name} again to move it from {self._name(owner)}"
            elif not owner:
                why += f"; the music stays on {self._name(source)}"
            self._emit(
                v.TransferView(
                    source, target_id, name, v.TransferPhase.FAILED, why, None, elapsed,
                )
            )  # fmt: skip

    async def async_prepare_transfer(self) -> None:
        """The device picker shows: have the other devices open the followed music's stream,
        so a transfer chosen there starts sooner (connect/transfer/target.py, prepared)."""
        source = self._followed
        if not source:
            return
        others = [e.id for e in self.controller.registry.entries() if e.id != source and e.online]
        await self.coordinator.async_prepare(source, others)
