"""Rectangles, directions and the axis arithmetic every policy shares (no Qt)."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass


class Axis(enum.Enum):
    """The axis a move travels along."""

    HORIZONTAL = "horizontal"
    VERTICAL = "vertical"


class Direction(enum.Enum):
    """A physical arrow direction; right-to-left layouts never swap them (Android, Norigin)."""

    LEFT = "left"
    RIGHT = "right"
    UP = "up"
    DOWN = "down"

    @property
    def axis(self) -> Axis:
        """Return the axis this direction travels along."""
        return Axis.HORIZONTAL if self in (Direction.LEFT, Direction.RIGHT) else Axis.VERTICAL

    @property
    def opposite(self) -> Direction:
        """Return the direction that undoes this one."""
        return _OPPOSITE[self]


_OPPOSITE = {
    Direction.LEFT: Direction.RIGHT,
    Direction.RIGHT: Direction.LEFT,
    Direction.UP: Direction.DOWN,
    Direction.DOWN: Direction.UP,
}


@dataclass(frozen=True, slots=True)
class Rect:
    """An axis-aligned rectangle in one shared space; y grows downward; width/height may be 0."""

    x: float
    y: float
    width: float
    height: float

    def __post_init__(self) -> None:
        if self.width < 0 or self.height < 0:
            raise ValueError(f"negative size: {self}")

    @classmethod
    def from_edges(cls, left: float, top: float, right: float, bottom: float) -> Rect:
        """Build a rect from its four edges, as AOSP writes them (L, T, R, B)."""
        return cls(left, top, right - left, bottom - top)

    @property
    def left(self) -> float:
        """Return the left edge."""
        return self.x

    @property
    def top(self) -> float:
        """Return the top edge."""
        return self.y

    @property
    def right(self) -> float:
        """Return the right edge."""
        return self.x + self.width

    @property
    def bottom(self) -> float:
        """Return the bottom edge."""
        return self.y + self.height

    @property
    def center_x(self) -> float:
        """Return the horizontal centre."""
        return self.x + self.width / 2

    @property
    def center_y(self) -> float:
        """Return the vertical centre."""
        return self.y + self.height / 2

    def contains(self, other: Rect) -> bool:
        """Return True if `other` lies entirely inside this rect (edges may touch)."""
        return (
            self.left <= other.left
            and self.top <= other.top
            and other.right <= self.right
            and other.bottom <= self.bottom
        )

    def intersection_area(self, other: Rect) -> float:
        """Return the area the two rects share (0 when they only touch)."""
        w = min(self.right, other.right) - max(self.left, other.left)
        h = min(self.bottom, other.bottom) - max(self.top, other.top)
        return w * h if w > 0 and h > 0 else 0.0

    def united(self, other: Rect) -> Rect:
        """Return the bounding box of both rects."""
        return Rect.from_edges(
            min(self.left, other.left),
            min(self.top, other.top),
            max(self.right, other.right),
            max(self.bottom, other.bottom),
        )

    def center_distance(self, other: Rect) -> float:
        """Return the Euclidean distance between the two centres."""
        return math.hypot(self.center_x - other.center_x, self.center_y - other.center_y)


def leading_edge(rect: Rect, direction: Direction) -> float:
    """Return the edge of `rect` that faces `direction` (the side focus leaves from)."""
    if direction is Direction.RIGHT:
        return rect.right
    if direction is Direction.LEFT:
        return rect.left
    if direction is Direction.DOWN:
        return rect.bottom
    return rect.top


def trailing_edge(rect: Rect, direction: Direction) -> float:
    """Return the edge of `rect` facing away from `direction` (the side focus enters by)."""
    return leading_edge(rect, direction.opposite)


def minor_span(rect: Rect, direction: Direction) -> tuple[float, float]:
    """Return (low, high) of `rect` across the move's axis."""
    if direction.axis is Axis.HORIZONTAL:
        return rect.top, rect.bottom
    return rect.left, rect.right


def minor_center(rect: Rect, direction: Direction) -> float:
    """Return the centre of `rect` across the move's axis."""
    return rect.center_y if direction.axis is Axis.HORIZONTAL else rect.center_x


def advance(value: float, direction: Direction) -> float:
    """Return `value` signed so that larger means further along `direction`."""
    return value if direction in (Direction.RIGHT, Direction.DOWN) else -value
