"""The app core's group actions: play on more devices at once, take one out, set a member's volume.

`GroupDesk` lives on the core's asyncio thread beside `AppCore`, which hands it the device
views (read only: the groups themselves are shown from the devices' states) and the emit
function. Each action goes through the one adapter (`client/app/_grouping.py`); its progress
and outcome go out as `GroupingView`, and a failure also as an error `Notice` (the toast),
with device ids in the keeper's words replaced by the devices' names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from client.app import views as v
from client.app._grouping import Grouping, GroupingError, KeeperGrouping
from client.app.groups import group_of, groups_shown

Emit = Callable[[object], None]
Follow = Callable[[str], None]

_RUNNING, _DONE, _FAILED = v.TransferPhase.RUNNING, v.TransferPhase.DONE, v.TransferPhase.FAILED


def names_in_words(names: Sequence[str]) -> str:
    """Return "Kitchen", "Kitchen and Bedroom", "Kitchen, Bedroom and Car"."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


class GroupDesk:
    """Group actions for the app (see the module docstring); loop thread only."""

    def __init__(
        self,
        views: dict[str, v.DeviceView],
        emit: Emit,
        follow: Follow,
        grouping: Grouping | None = None,
        interfaces: Sequence[str] = (),
    ) -> None:
        self._views = views  # AppCore's own dict, read here
        self._emit = emit
        self._follow = follow  # the core follows the group's new leader when its own leaves
        self.grouping: Grouping = (
            grouping if grouping is not None else KeeperGrouping(interfaces, self._address)
        )
        self._wanted: dict[str, int] = {}  # member -> the volume asked last, not sent yet
        self._sending: set[str] = set()  # members whose volume is on its way

    async def async_group(self, device_ids: Sequence[str]) -> None:
        """Play on *device_ids* together: the first leads (or, when it plays in a group, the
        others join that group); progress and the outcome come as `GroupingView`."""
        ids = tuple(device_ids)
        if len(ids) < 2:
            self._failed(ids, "Choose at least two devices to play together")
            return
        lead, joining = self._name(ids[0]), names_in_words([self._name(d) for d in ids[1:]])
        self._emit(v.GroupingView(ids, _RUNNING, f"Adding {joining} to {lead}…"))
        try:
            await self.grouping.async_group(ids)
        except GroupingError as exc:
            self._failed(ids, f"Could not add {joining} to {lead}: {self._named(str(exc))}")
            return
        verb = "plays" if len(ids) == 2 else "play"
        self._emit(v.GroupingView(ids, _DONE, f"{joining} {verb} with {lead} now"))

    async def async_ungroup(self, device_id: str) -> None:
        """Take *device_id* out of its group; the others play on."""
        ids, name = (device_id,), self._name(device_id)
        group = group_of(groups_shown(self._views.values()), device_id)
        self._emit(v.GroupingView(ids, _RUNNING, f"Taking {name} out of the group…"))
        try:
            await self.grouping.async_ungroup(device_id)
        except GroupingError as exc:
            self._failed(ids, f"Could not take {name} out of the group: {self._named(str(exc))}")
            return
        if group is not None and group.leader_id == device_id:
            # The leader left: the music goes on on the others, under the next member.
            self._follow(next(m.device_id for m in group.members if m.device_id != device_id))
        self._emit(v.GroupingView(ids, _DONE, f"{name} left the group"))

    async def async_member_volume(self, device_id: str, volume: int) -> None:
        """Set member *device_id*'s volume; a slider's many moves send only the latest value
        once the one on its way is answered."""
        self._wanted[device_id] = volume
        if device_id in self._sending:
            return
        self._sending.add(device_id)
        try:
            while (wanted := self._wanted.pop(device_id, None)) is not None:
                try:
                    await self.grouping.async_member_volume(device_id, wanted)
                except GroupingError as exc:
                    name = self._name(device_id)
                    said = f"Could not set {name}'s volume: {self._named(str(exc))}"
                    self._emit(v.Notice(said, error=True))
        finally:
            self._sending.discard(device_id)

    def _failed(self, ids: tuple[str, ...], said: str) -> None:
        self._emit(v.GroupingView(ids, _FAILED, said))
        self._emit(v.Notice(said, error=True))

    def _named(self, text: str) -> str:
        for view in self._views.values():
            text = text.replace(view.id, view.name)
        return text

    def _address(self, device_id: str) -> str:
        """Return "host:port" where the app reaches *device_id* ("" when not known)."""
        view = self._views.get(device_id)
        host, _, port = (view.address if view else "").rpartition(":")
        if not host or not port:
            return ""
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"  # an IPv6 address

    def _name(self, device_id: str) -> str:
        view = self._views.get(device_id)
        return view.name if view else device_id[:8]
