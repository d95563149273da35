"""Spatial navigation without Qt: geometry, the next-focus policies, the focus tree, the linter."""

from client.spatial.geometry import Axis, Direction, Rect
from client.spatial.lint import Finding, FindingKind, lint
from client.spatial.policies import Policy, choose_next, in_beam
from client.spatial.scrolling import scroll_delta
from client.spatial.tree import (
    ALL_DIRECTIONS,
    EntryRule,
    FocusGroup,
    FocusTree,
    Move,
    MoveReason,
)

__all__ = [
    "ALL_DIRECTIONS",
    "Axis",
    "Direction",
    "EntryRule",
    "Finding",
    "FindingKind",
    "FocusGroup",
    "FocusTree",
    "Move",
    "MoveReason",
    "Policy",
    "Rect",
    "choose_next",
    "in_beam",
    "lint",
    "scroll_delta",
]
