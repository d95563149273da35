"""Groups in the desktop's device lists (the player bar's picker and the Devices screen).

A group is one entry: a heading naming it ("Living Room + Kitchen"), then its members' rows,
the leader first, indented under it. A member's row says what it does in the group, its
volume slider sets its volume in the group, and "Leave group" takes it out. A device outside
the group that plays gets "Play here too" (or "Add to group" when the music plays in a group
already) beside its own button; the row's own button still moves the music there.

Buttons come before the volume slider in a row: a slider keeps Right until its maximum, so a
button after it could not be reached with the arrows.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QBoxLayout, QLabel, QWidget

from client.app import views as v
from client.app.groups import GroupShown, MemberShown, Together
from client.app.theme import Metrics
from client.app.widgets import text_button
from connect.wire.messages import GroupMemberPhase


class GroupButtons:
    """A row's "Play here too" and "Leave group" buttons (each shown only where it applies)."""

    def __init__(self, mx: Metrics, layout: QBoxLayout, at: int, prefix: str) -> None:
        self.prefix = prefix  # object names: f"{prefix}together-{name}", f"{prefix}leave-{name}"
        self.together = text_button("Play here too", icon="add", mx=mx)
        self.leave = text_button("Leave group", mx=mx)
        for n, button in enumerate((self.together, self.leave)):
            button.hide()
            layout.insertWidget(at + n, button)
        self.offer: Together | None = None  # what "Play here too" groups, when shown
        self.member: MemberShown | None = None  # the row's device in its group, if it is in one

    def show_for(
        self, view: v.DeviceView, offer: Together | None, member: MemberShown | None
    ) -> None:
        """Offer *offer* (None: no "Play here too") and, for a *member*, "Leave group"."""
        self.offer, self.member = offer, member
        self.together.setObjectName(f"{self.prefix}together-{view.name}")
        self.leave.setObjectName(f"{self.prefix}leave-{view.name}")
        if offer is not None:
            self.together.setText(offer.text)
            self.together.setAccessibleName(offer.accessible)
        self.together.setVisible(offer is not None)
        self.leave.setAccessibleName(f"Take {view.name} out of the group")
        self.leave.setVisible(member is not None)


class GroupHeading(QLabel):
    """The line that names a group above its members."""

    def __init__(self, mx: Metrics, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix
        self.setProperty("role", "muted")
        self.setWordWrap(True)
        self.setContentsMargins(0, mx.margin // 2, 0, 0)

    def show_group(self, group: GroupShown) -> None:
        """Name *group* and say how many play in sync."""
        playing = sum(member.phase is GroupMemberPhase.PLAYING for member in group.members)
        self.setObjectName(f"{self.prefix}group-{group.members[0].name}")
        self.setText(f"Group: {group.name} · {playing} of {len(group.members)} in sync")
        self.setAccessibleName(f"Group {group.name}")


class GroupedList:
    """Keeps a list layout's rows in the arranged order, a heading above each group."""

    def __init__(
        self, mx: Metrics, layout: QBoxLayout, prefix: str = "", *, indent: bool = True
    ) -> None:
        self.mx = mx
        self.layout = layout
        self.prefix = prefix
        self.indent = mx.margin * 2 if indent else 0  # a card (its own frame) is not indented
        self.headings: dict[str, GroupHeading] = {}

    def place(
        self,
        rows: dict[str, QWidget],
        order: Sequence[tuple[v.DeviceView, GroupShown | None]],
    ) -> None:
        """Put *rows* (by device id) in *order*, each group's heading before its first member,
        members indented; headings of groups gone are removed."""
        wanted: list[QWidget] = []
        seen: set[str] = set()
        for view, group in order:
            if group is not None and group.group_id not in seen:
                seen.add(group.group_id)
                heading = self.headings.get(group.group_id)
                if heading is None:
                    heading = self.headings[group.group_id] = GroupHeading(self.mx, self.prefix)
                heading.show_group(group)
                wanted.append(heading)
            row = rows[view.id]
            indent = self.indent if group is not None else 0
            if row.contentsMargins().left() != indent:
                margins = row.contentsMargins()
                row.setContentsMargins(indent, margins.top(), margins.right(), margins.bottom())
            wanted.append(row)
        for gone in set(self.headings) - seen:
            heading = self.headings.pop(gone)
            self.layout.removeWidget(heading)
            heading.hide()
            heading.deleteLater()
        for n, widget in enumerate(wanted):
            if self.layout.indexOf(widget) != n:
                self.layout.removeWidget(widget)
                self.layout.insertWidget(n, widget)
            if isinstance(widget, GroupHeading) and not widget.isVisible():
                widget.show()
