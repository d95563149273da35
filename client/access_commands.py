"""The access commands of `baton` (docs/security.md): pair, access (list, revoke, code), forget.

Credentials live in the controller's CredentialStore (`$BATON_CONFIG_DIR`, else
`$XDG_CONFIG_HOME/baton`, else `~/.config/baton`); every other command presents them.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import re
import sys
from datetime import UTC, datetime
from typing import Any

from client.targets import async_device_target
from connect.access import Credential, CredentialStore
from connect.controller import Controller
from connect.errors import DeviceNotFoundError
from connect.wire import messages as m

_CODE = re.compile(r"\d{6}")
ROLE_WORDS = ("owner", "controller", "guest", "observer")


def add_access_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `pair`, `access`, `rename` and `forget` to a `baton` subparsers object."""
    pair = sub.add_parser(
        "pair",
        parents=[common],
        help="pair with a device in pin mode, using the 6-digit code it shows or logs",
        description="Pair with a device: it answers with a token this controller keeps and "
        "presents from then on. Without --pin, asks for the code (or reads one line from "
        "standard input when that is not a terminal). The first controller to pair with a "
        "device becomes its owner unless it asks for less.",
    )
    pair.add_argument("device", metavar="DEVICE", help="device name or id")
    pair.add_argument("--pin", metavar="CODE", help="the 6-digit code the device shows")
    pair.add_argument(
        "--role",
        choices=ROLE_WORDS,
        help="the role to ask for (default: owner for the first controller, else controller; "
        "only an owner can grant more than controller)",
    )
    pair.set_defaults(run=_pair, target=async_device_target)

    access = sub.add_parser(
        "access",
        parents=[common],
        help="who may control a device (owner only): list, revoke, or show the code",
        description="`baton access DEVICE` lists the controllers paired with DEVICE; "
        "`baton access DEVICE revoke ID` ends that controller's access at once; "
        "`baton access DEVICE code` shows the code another controller can pair with. "
        "Only the device's owner may do these.",
    )
    access.add_argument("device", metavar="DEVICE", help="device name or id")
    access.add_argument(
        "action", nargs="?", choices=("list", "revoke", "code"), default="list",
        help="list (the default), revoke ID, or code",
    )  # fmt: skip
    access.add_argument("token_id", nargs="?", metavar="ID", help="the token to revoke")
    access.set_defaults(run=_access, target=async_device_target)

    rename = sub.add_parser(
        "rename",
        parents=[common],
        help="give a device a new name (owner only); it is announced under it at once",
        description="Rename DEVICE to NAME (1 to 63 bytes). The device keeps the name across "
        "restarts and announces it on the network; only its owner may rename it.",
    )
    rename.add_argument("device", metavar="DEVICE", help="device name or id")
    rename.add_argument("name", metavar="NAME", help="the new name")
    rename.set_defaults(run=_rename, target=async_device_target)

    forget = sub.add_parser(
        "forget",
        help="drop this controller's stored credential for a device (no network needed)",
        description="Forget the token kept for DEVICE (a name or id from `baton pair`). The "
        "device still lists that token until its owner revokes it (`baton access DEVICE`).",
    )
    forget.add_argument("device", metavar="DEVICE", help="device name or id")
    forget.set_defaults(run=None, offline=_forget)  # main() runs what has a `run`


# ------------------------------------------------------------------------------ pair


async def _pair(controller: Controller, args: argparse.Namespace) -> None:
    if args.pin is not None:
        _check_code(args.pin)
    device_id = await args.target(controller, args)
    code = args.pin if args.pin is not None else await asyncio.to_thread(_ask_code, args.device)
    role = m.Role[args.role.upper()] if args.role else None
    credential = await controller.async_pair(device_id, code, role)
    print(f"paired with {args.device} as {credential.role.name.lower()}")


def _ask_code(device: str) -> str:
    """Read the code from the terminal (hidden), or one line of standard input."""
    if sys.stdin.isatty():
        text = getpass.getpass(f"code shown by {device}: ")
    else:
        text = sys.stdin.readline()
        if not text:
            raise ValueError("no code given: pass --pin CODE or type it on standard input")
    return _check_code(text.strip())


def _check_code(text: str) -> str:
    if not _CODE.fullmatch(text):
        raise ValueError("a pairing code is 6 digits (the device shows or logs it)")
    return text


# ------------------------------------------------------------------------------ access


async def _access(controller: Controller, args: argparse.Namespace) -> None:
    if args.action != "revoke" and args.token_id is not None:
        raise ValueError(f"`access {args.action}` takes no ID")
    device_id = await args.target(controller, args)
    if args.action == "code":
        print(await controller.async_pairing_code(device_id))
    elif args.action == "revoke":
        if not args.token_id:
            raise ValueError("which token? `baton access DEVICE revoke ID` (IDs: `baton access`)")
        await controller.async_revoke_token(device_id, args.token_id)
        print(f"{args.device}: revoked {args.token_id}")
    else:
        held = controller.credential(device_id)
        mine = held.token_id if held is not None else ""
        for token in await controller.async_list_tokens(device_id):
            print(_token_line(token, this_controller=token.id == mine))


async def _rename(controller: Controller, args: argparse.Namespace) -> None:
    device_id = await args.target(controller, args)
    info = await controller.async_rename(device_id, args.name)
    print(f"{args.device} is now {info.name!r}")


def _token_line(token: m.TokenInfo, *, this_controller: bool) -> str:
    used = _when(token.last_used_unix_ms) if token.last_used_unix_ms else "never used"
    note = "  (this controller)" if this_controller else ""
    return (
        f"{token.id}  {token.role.name.lower():<10} {token.client.name or token.client.id:<24} "
        f"paired {_when(token.created_unix_ms)}, last used {used}{note}"
    )


def _when(unix_ms: int) -> str:
    return datetime.fromtimestamp(unix_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


# ------------------------------------------------------------------------------ forget


def _forget(args: argparse.Namespace, store: CredentialStore) -> None:
    credential = _stored(store, args.device)
    store.remove(credential.device_id)
    print(
        f"forgot {credential.device_name or credential.device_id} "
        f"(paired as {credential.role.name.lower()}); the device lists the token until its "
        f"owner revokes it"
    )


def _stored(store: CredentialStore, device: str) -> Credential:
    """Return the credential whose device id or stored name is *device*."""
    wanted = device.casefold()
    found = [c for c in store.all() if c.device_id == device or c.device_name.casefold() == wanted]
    if not found:
        raise DeviceNotFoundError(f"no stored credential for {device!r}")
    if len(found) > 1:
        ids = ", ".join(c.device_id for c in found)
        raise DeviceNotFoundError(
            f"{len(found)} paired devices are named {device!r}; use an id: {ids}"
        )
    return found[0]
