"""How a `baton` command finds the device it names: by name or id over mDNS (or at the
addresses given with --connect), waiting a while for it to answer; and who the command is to a
device (`controller_identity`). Shared by client.commands, client.access_commands and the
group keeper, so none imports another for it."""

from __future__ import annotations

import argparse

from connect.access import CredentialStore
from connect.controller import Controller, default_identity
from connect.discovery import DeviceEntry
from connect.wire import messages as m

DISCOVERY_WAIT_S = 2.0
COMMAND_TIMEOUT_S = 5.0


class CommandFailed(Exception):  # noqa: N818 - an outcome shown to the user, not a bug
    """The device refused or could not carry out a command; the message says why."""


def discovery_wait(args: argparse.Namespace) -> float:
    """Return how long to look for devices: --timeout, or the default."""
    return DISCOVERY_WAIT_S if args.timeout is None else args.timeout


async def async_device_target(controller: Controller, args: argparse.Namespace) -> str:
    """Return the id of the device the command names (`args.device`), waiting for it a while."""
    return await async_find_device(controller, args, args.device)


async def async_find_device(controller: Controller, args: argparse.Namespace, words: str) -> str:
    """Return the id of the device `words` names, remembering how messages should name it."""
    timeout = discovery_wait(args) if args.timeout is not None else COMMAND_TIMEOUT_S
    entry = await controller.async_find(words, timeout)
    args.named[entry.id] = _handle(controller, entry)
    return entry.id


def _handle(controller: Controller, entry: DeviceEntry) -> str:
    """Return what a suggested command should name *entry* by: its name, unless it is shared."""
    name = entry.name.casefold()
    others = (e for e in controller.registry.entries() if e.id != entry.id)
    shared = any(e.name.casefold() == name for e in others)
    return entry.id if shared or not entry.name or entry.id.startswith("manual:") else entry.name


def controller_identity(store: CredentialStore, *, create: bool = False) -> m.ClientIdentity:
    """Return the CLI's identity: the stored client id once this controller has paired.

    Pairing again replaces the token presented only when the id is the one it was issued to
    (docs/security.md, "Pairing again"), so the id must outlive the process; until the first
    pairing a per-process id will do (*create* makes one).
    """
    identity = default_identity()
    stored = store.client_id(create=create)
    return (
        m.ClientIdentity(stored, identity.name, identity.type, identity.software)
        if stored
        else identity
    )
