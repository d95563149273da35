"""Groups: one session played by several devices in sync (protocol 1.2, proto: "Groups").

`rules` holds the pure rules every controller and member applies (who may join, who leads
next, a follower's timeline); `membership.Membership` is the coordinating controller's machine
for one group (`step(event, now)` returns actions; its events and actions are in `events`);
`member.Member` is a device's side (the group steps in, what the device does out). How a
follower keeps its output on the timeline is the receiver's audio path: devices/_drift.py.
Nothing here opens a socket or reads a clock: a driver carries the actions out.
"""

from connect.group.rules import next_leader, why_not_member

__all__ = ["next_leader", "why_not_member"]
