"""The group commands of `baton` (issue 17, "Rooms in sync"): group, ungroup, and what
`baton devices` and `baton status` say about groups.

A group must be kept while it plays (its followers get the leader's timeline at every change),
so these commands do not coordinate it themselves: they hand it to this user's group keeper
(client/group_keeper.py, started when needed, through client/group_client.py) and print what it
answers. `baton pause`, `next`, `seek`... on the leader act on the whole group, as on a device
playing alone; `baton group --volume DEVICE N` sets one member's own volume.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import TYPE_CHECKING, Any

from client.targets import CommandFailed

if TYPE_CHECKING:
    from connect.group.reports import GroupReport, GroupView
    from connect.wire import messages as m

_GROUP_HELP = """\
examples:
  baton group Kitchen 'Living Room' Terrace    Kitchen (playing) leads; the others join it
  baton group Terrace Kitchen                  Terrace joins the group Kitchen plays in
  baton group --volume Terrace 30              one member's own volume, no other's
  baton group                                  the groups kept now
  baton ungroup Terrace                        Terrace fades out; the others play on

The first device must be playing something (or paused on it). Every device must speak protocol
1.2 and be able to start at a given instant; one that cannot is refused, and nothing is sent
to any. Pause, resume, next, seek on the leader (`baton pause Kitchen`) act on the whole group.
The group is kept in sync by a background process, `baton group-keeper`, started here when
needed; it exits a minute after the last group ends.
"""


def add_group_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `group` and `ungroup` to a `baton` subparsers object."""
    group = sub.add_parser(
        "group",
        parents=[common],
        help="play on several devices at once, in sync (the first leads)",
        description="Group devices so they play the same music at the same instant. The\n"
        "first device leads (it keeps the music and the queue); the others join it. If one\n"
        "of them already plays in a group, the others join that group.",
        epilog=_GROUP_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    group.add_argument(
        "devices", nargs="*", metavar="DEVICE", help="device names or ids: the first leads"
    )
    group.add_argument(
        "--volume", nargs=2, metavar=("DEVICE", "0-100"),
        help="set one member's own volume (the others are not touched)",
    )  # fmt: skip
    group.add_argument("--json", action="store_true", help="print the outcome as JSON")
    group.set_defaults(run=None, offline=_offline(_group))  # main() runs what has a `run`
    ungroup = sub.add_parser(
        "ungroup",
        parents=[common],
        help="take a device out of its group (it fades out; the others play on)",
        description="DEVICE fades out and stops; the other members play on. If DEVICE leads, "
        "the next member takes the music over first, without a gap. The last member left "
        "plays on alone.",
    )
    ungroup.add_argument("device", metavar="DEVICE", help="device name or id")
    ungroup.add_argument("--json", action="store_true", help="print the outcome as JSON")
    ungroup.set_defaults(run=None, offline=_offline(_ungroup))


def _offline(run: Any) -> Any:
    """Return the `offline` hook of client.commands.run_command for an async group command."""

    def hook(args: argparse.Namespace, _store: object) -> None:
        asyncio.run(run(args))

    return hook


def _client(args: argparse.Namespace) -> Any:
    from client.group_client import GroupClient

    return GroupClient(
        interfaces=args.interface,
        connect=args.connect,
        timeout=args.timeout,
        trace_endpoint=getattr(args, "trace_endpoint", ""),  # `baton --trace-endpoint URL ...`
        trace_user=getattr(args, "user", ""),
        trace_token=getattr(args, "trace_token", None) or "",
    )


async def _group(args: argparse.Namespace) -> None:
    client = _client(args)
    if args.volume is not None:
        if args.devices:
            raise ValueError("give either DEVICE... to group, or --volume DEVICE N")
        ref, level = args.volume
        if not level.isdigit() or not 0 <= int(level) <= 100:
            raise ValueError("volume must be 0-100")
        view = await client.async_member_volume(ref, int(level))
        if args.json:
            print(json.dumps({"ok": True, "group": view.as_json() if view else None}, indent=2))
        else:
            print(f"{ref}: volume {level}" + (f" ({_in_group(view)})" if view else ""))
        return
    if not args.devices:
        views = await client.async_groups()
        if args.json:
            print(json.dumps([v.as_json() for v in views], indent=2))
            return
        if not views:
            print("no groups (form one: baton group DEVICE DEVICE...)")
        for view in views:
            print(roster_text(view))
        return
    if len(args.devices) < 2:
        raise ValueError("name two devices or more: baton group LEADER DEVICE...")
    report = await client.async_group(args.devices)
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    elif report.group is not None:
        print(roster_text(report.group))
    _raise_refused(report)


def _raise_refused(report: GroupReport) -> None:
    """Fail the command when a device did not join: each one and why, on one line."""
    if report.group is None and not report.refused:
        raise CommandFailed("the group ended before it formed")
    if report.refused:
        why = "; ".join(f"{x.name}: {x.message}" for x in report.refused)
        ended = "" if report.group is not None else " (the group ended)"
        raise CommandFailed(f"did not join{ended}: {why}")


async def _ungroup(args: argparse.Namespace) -> None:
    view = await _client(args).async_ungroup(args.device)
    if args.json:
        print(json.dumps({"ok": True, "group": view.as_json() if view else None}, indent=2))
    elif view is None:
        print(f"{args.device} left; the group ended")
    else:
        print(f"{args.device} left; {_in_group(view)}")


def _in_group(view: GroupView) -> str:
    others = ", ".join(x.name for x in view.members if not x.leads)
    return f"in the group led by {view.leader_name}" + (f" with {others}" if others else "")


def roster_text(view: GroupView) -> str:
    """Return a group as `baton group` and `baton status` print it: the leader, then each member."""
    lines = [f"group led by {view.leader_name} ({len(view.members)} devices, {view.group_id}):"]
    width = max(len(x.name) for x in view.members)
    for x in view.members:
        phase = "leading" if x.leads else x.phase
        muted = ", muted" if x.muted else ""
        lines.append(f"  {x.name:<{width}}  {phase:<8} volume {x.volume}{muted}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ devices, status


async def async_kept_groups(args: argparse.Namespace) -> list[GroupView]:
    """Return the groups this user's keeper keeps ([] when none runs or it cannot be asked)."""
    from client.group_client import KeeperError

    try:
        groups: list[GroupView] = await _client(args).async_groups()
    except (KeeperError, OSError):
        return []
    return groups


def device_group(groups: list[GroupView], device_id: str) -> dict[str, Any] | None:
    """Return what `baton devices --json` says of *device_id*'s group (None: in none kept)."""
    for view in groups:
        member = view.member(device_id)
        if member is not None:
            return {
                "group_id": view.group_id,
                "leader_id": view.leader_id,
                "leader": view.leader_name,
                "leads": member.leads,
                "phase": member.phase,
            }
    return None


def device_group_words(group: dict[str, Any] | None) -> str:
    """Return the note `baton devices` prints after a device in a group ("" if in none)."""
    if group is None:
        return ""
    return "  (leads a group)" if group["leads"] else f"  (in the group led by {group['leader']})"


async def async_status_group(
    args: argparse.Namespace, state: m.PlaybackState, names: dict[str, str]
) -> tuple[dict[str, Any], str]:
    """Return the roster of the group *state* plays in, for `baton status`: as JSON, as text.

    The keeper's, when it keeps that group: a follower's own roster is the one it joined with
    (only the leader is sent every change). Else the device's own, as it last heard it."""
    from connect.group.reports import GroupView

    assert state.group is not None
    kept = [g for g in await async_kept_groups(args) if g.group_id == state.group.group_id]
    view = kept[0] if kept else GroupView.of(state.group, names)
    return view.as_json() | {"epoch": state.group.group_epoch}, roster_text(view)
