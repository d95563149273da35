"""The app's one way to the group keeper: form, join, leave a group and set a member's volume.

Groups are coordinated by the per-user keeper process (`client/group_keeper.py`), which the
app reaches through `client.group_client.GroupClient` as `baton group` does (a request starts
a keeper when none runs). That module is imported
inside each call, never at import time: the app starts, and shows groups from the devices'
own states, on a Baton that has no keeper; only a group action then fails, saying why.

`Grouping` is what the app's core needs (`client/app/group_desk.py`); tests give it a fake.
Every failure is a `GroupingError` whose text is a sentence for the listener.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from connect.errors import ConnectError

KEEPER_MODULE = "client.group_client"
# Where the keeper's typed errors are defined: their text is a sentence for the listener.
KEEPER_ERRORS_FROM = ("client.group_client", "client.group_keeper", "connect.group")


class GroupingError(Exception):
    """A group action failed; str() says why, for the listener."""


class Grouping(Protocol):
    """The group actions the app's core runs (on its loop); each raises `GroupingError`."""

    async def async_group(self, device_ids: Sequence[str]) -> None:
        """Play on *device_ids* together: the first leads, or the others join its group."""
        ...

    async def async_ungroup(self, device_id: str) -> None:
        """Take *device_id* out of its group (the others play on)."""
        ...

    async def async_member_volume(self, device_id: str, volume: int) -> None:
        """Set group member *device_id*'s own volume (0-100)."""
        ...

    async def async_transfer(self, source_id: str, target_id: str) -> tuple[str, Any]:
        """Move the music off or onto a group (client/group_moves.py): what was resolved, in
        words, and the TransferOutcome."""
        ...


class KeeperGrouping:
    """`Grouping` through the keeper's client (`client.group_client.GroupClient`), loaded at the
    first call, with the app's interfaces and the addresses where the app sees the devices
    (the keeper finds each there at once rather than on mDNS)."""

    def __init__(
        self,
        interfaces: Sequence[str] = (),
        address_of: Callable[[str], str] = lambda device_id: "",
        module: str = KEEPER_MODULE,
        errors_from: tuple[str, ...] = KEEPER_ERRORS_FROM,
    ) -> None:
        self._interfaces = tuple(interfaces)
        self._address_of = address_of
        self._module_name = module
        self._errors_from = errors_from

    async def async_group(self, device_ids: Sequence[str]) -> None:
        """See `Grouping.async_group`; a device that did not join is a failure, in words."""
        report = await self._call("async_group", device_ids, list(device_ids))
        refused = getattr(report, "refused", ())
        if refused:
            raise GroupingError("; ".join(f"{r.name}: {r.message}" for r in refused))
        if report is not None and getattr(report, "group", True) is None:
            raise GroupingError("the group ended as it formed (its leader stopped)")

    async def async_ungroup(self, device_id: str) -> None:
        """See `Grouping.async_ungroup`."""
        await self._call("async_ungroup", (device_id,), device_id)

    async def async_member_volume(self, device_id: str, volume: int) -> None:
        """See `Grouping.async_member_volume`."""
        await self._call("async_member_volume", (device_id,), device_id, volume)

    async def async_transfer(self, source_id: str, target_id: str) -> tuple[str, Any]:
        """See `Grouping.async_transfer` (the app's transfers: its default options)."""
        from connect.transfer.coordination import DEFAULT_OPTIONS

        ids = (source_id, target_id)
        said_and_outcome: tuple[str, Any] = await self._call(
            "async_transfer", ids, source_id, target_id, DEFAULT_OPTIONS
        )
        return said_and_outcome

    def _client(self, device_ids: Sequence[str]) -> Any:
        """Return the keeper's client for a request about *device_ids*."""
        try:
            module = importlib.import_module(self._module_name)
        except ImportError as exc:
            raise GroupingError(
                "Groups are not available: this Baton has no group keeper yet"
            ) from exc
        client_class = getattr(module, "GroupClient", None)
        if client_class is None:
            return module  # a keeper API of plain functions
        addresses = [a for a in map(self._address_of, device_ids) if a]
        return client_class(interfaces=self._interfaces, connect=addresses)

    async def _call(self, name: str, device_ids: Sequence[str], *args: Any) -> Any:
        action: Callable[..., Awaitable[Any]] | None = getattr(self._client(device_ids), name, None)
        if action is None:
            raise GroupingError(f"Groups are not available: the group keeper has no {name}")
        try:
            return await action(*args)
        except (ConnectError, OSError, TimeoutError) as exc:
            raise GroupingError(str(exc) or type(exc).__name__) from exc
        except Exception as exc:
            # The keeper's own typed errors say what went wrong in a sentence; anything
            # else is a fault of ours and must surface, not become a toast.
            if type(exc).__module__.startswith(self._errors_from):
                raise GroupingError(str(exc)) from exc
            raise
