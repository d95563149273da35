"""`choose_next`: pick the next focus among candidate rectangles under one of three policies.

Every policy runs as one tight loop over the candidates with the geometry turned into the
move's frame: `lo`/`hi` are the candidate's back and front edges along the move (larger is
further), `mlo`/`mhi` its span across it. Per-candidate function calls are avoided on purpose:
the target is 1 000 candidates in under 1 ms on a Raspberry Pi class CPU.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Hashable, Mapping
from typing import TypeVar

from client.spatial.geometry import Axis, Direction, Rect

K = TypeVar("K", bound=Hashable)


class Policy(enum.Enum):
    """How the best candidate is chosen; see each scorer below for its reference."""

    TV = "tv"  # Baton's default: Android's structure with the decisions in tests/unit/spatial
    ANDROID = "android"  # AOSP FocusFinder as FocusFinderTest pins it (inclusive beams)
    WICG = "wicg"  # the css-nav distance of the WICG polyfill, with its UX-harness filter


def choose_next(
    origin: Rect,
    candidates: Mapping[K, Rect],
    direction: Direction,
    policy: Policy = Policy.TV,
) -> K | None:
    """Return the key of the best candidate from `origin` towards `direction`, or None."""
    frames = _frames(candidates, direction)
    if policy is Policy.ANDROID:
        return _choose_android(origin, frames, direction)
    inside = _choose_insider(origin, frames, direction)
    if inside is not None:
        return inside
    if policy is Policy.TV:
        return _choose_tv(origin, frames, direction)
    return _choose_wicg(origin, frames, direction)


Frame = tuple[K, float, float, float, float, Rect]  # key, lo, hi, mlo, mhi, rect


def _frames(candidates: Mapping[K, Rect], direction: Direction) -> list[Frame[K]]:
    """Return every candidate in the move's frame, built by one comprehension per direction."""
    items = candidates.items()
    if direction is Direction.DOWN:
        return [(k, r.y, r.y + r.height, r.x, r.x + r.width, r) for k, r in items]
    if direction is Direction.UP:
        return [(k, -r.y - r.height, -r.y, r.x, r.x + r.width, r) for k, r in items]
    if direction is Direction.RIGHT:
        return [(k, r.x, r.x + r.width, r.y, r.y + r.height, r) for k, r in items]
    return [(k, -r.x - r.width, -r.x, r.y, r.y + r.height, r) for k, r in items]


def _frame(rect: Rect, direction: Direction) -> tuple[float, float, float, float]:
    """Return (lo, hi, mlo, mhi) of one rect in the frame of `direction`."""
    _, lo, hi, mlo, mhi, _ = _frames({0: rect}, direction)[0]
    return lo, hi, mlo, mhi


def _choose_insider(origin: Rect, frames: list[Frame[K]], direction: Direction) -> K | None:
    """Return the nested candidate whose entering edge is nearest the origin's same edge.

    css-nav-1 "insiders": a focusable inside the focused one is otherwise unreachable
    (csswg-drafts #3386); the equal rect is not an insider (it is the origin itself).
    """
    slo, shi, smlo, smhi = _frame(origin, direction)
    best: K | None = None
    best_gap = math.inf
    for key, lo, hi, mlo, mhi, _ in frames:
        if lo <= slo or hi > shi or mlo < smlo or mhi > smhi:
            continue
        if lo - slo < best_gap:
            best, best_gap = key, lo - slo
    return best


def _choose_android(origin: Rect, frames: list[Frame[K]], direction: Direction) -> K | None:
    """Android FocusFinder's `isBetterCandidate` run as one pass, exactly as FocusFinder does.

    Beams are inclusive, as FocusFinderTest@4a7b7b3 asserts (touching edges are in the
    beam), and centres use Java's int division. Like the original this pairwise rule is not
    transitive, so with three or more candidates the answer can depend on their order;
    Policy.TV uses `_choose_tv` instead.
    """
    horizontal = direction.axis is Axis.HORIZONTAL
    slo, shi, smlo, smhi = _frame(origin, direction)
    s_minor = smlo + math.floor((smhi - smlo) / 2)
    best: K | None = None
    b_beam = b_dir = False
    b_major = b_far = b_score = 0.0
    for key, lo, hi, mlo, mhi, _ in frames:
        # isCandidate: starts past the origin's back edge and ends past its front edge.
        if not ((slo < lo or shi <= lo) and shi < hi):
            continue
        beam = mhi >= smlo and mlo <= smhi
        major = lo - shi if lo > shi else 0.0
        far = hi - shi if hi - shi > 1 else 1.0
        minor = abs(s_minor - (mlo + math.floor((mhi - mlo) / 2)))
        score = 13 * major * major + minor * minor
        is_dir = shi <= lo
        if best is not None:
            # beamBeats(new, best)
            if beam and not b_beam and (not b_dir or horizontal or major < b_far):
                best, b_beam, b_dir, b_major, b_far, b_score = key, beam, is_dir, major, far, score
                continue
            # beamBeats(best, new)
            if b_beam and not beam and (not is_dir or horizontal or b_major < far):
                continue
            if score >= b_score:
                continue
        best, b_beam, b_dir, b_major, b_far, b_score = key, beam, is_dir, major, far, score
    return best


def _choose_tv(origin: Rect, frames: list[Frame[K]], direction: Direction) -> K | None:
    """Android's beam-then-distance rule as a total order, so only exact ties depend on order.

    Differences from ANDROID, each pinned in cases/decisions.json: strict beams (D10), exact
    centres, and the escape decided against the best in-beam candidate rather than pairwise:
    the best aligned item X wins unless an out-of-beam item lies wholly before X's near edge
    (up/down only; D3, D8, D9), in which case the lowest `13·major² + minor²` among X and
    those items wins. Left/right: an aligned item always wins (D2).
    """
    horizontal = direction.axis is Axis.HORIZONTAL
    slo, shi, smlo, smhi = _frame(origin, direction)
    s_minor = (smlo + smhi) / 2
    beam_key: K | None = None
    beam_score = beam_major = math.inf
    any_key: K | None = None
    any_score = math.inf
    escapes: list[tuple[float, float, K]] = []  # (far edge, score, key) of out-of-beam items
    for key, lo, hi, mlo, mhi, _ in frames:
        if not ((slo < lo or shi <= lo) and shi < hi):
            continue
        major = lo - shi if lo > shi else 0.0
        minor = s_minor - (mlo + mhi) / 2
        score = 13 * major * major + minor * minor
        if score < any_score:
            any_key, any_score = key, score
        if mhi > smlo and mlo < smhi:
            if score < beam_score:
                beam_key, beam_score, beam_major = key, score, major
        elif not horizontal and shi <= lo:
            escapes.append((hi - shi if hi - shi > 1 else 1.0, score, key))
    if beam_key is None:
        return any_key
    best, best_score = beam_key, beam_score
    for far, score, key in escapes:
        # `<=`: at the threshold the nearer row wins (AOSP testOutOfBeamBeatsInBeamUp, D9).
        if far <= beam_major and score < best_score:
            best, best_score = key, score
    return best


_WICG_ORTHOGONAL_WEIGHT = {Axis.HORIZONTAL: 30.0, Axis.VERTICAL: 2.0}
_WICG_ALIGN_WEIGHT = 5.0


def _choose_wicg(origin: Rect, frames: list[Frame[K]], direction: Direction) -> K | None:
    """The WICG polyfill distance `A + B − C − D` behind the UX harness's `isOutside` filter.

    Partial overlaps stay candidates (the harness keeps them; the shipped polyfill's extra
    `isInside` filter would fail its own intersected-001/002, spatnav.md §4.3).
    """
    weight = _WICG_ORTHOGONAL_WEIGHT[direction.axis]
    slo, shi, smlo, smhi = _frame(origin, direction)
    s_size = smhi - smlo
    best: K | None = None
    best_distance = math.inf
    for key, lo, hi, mlo, mhi, rect in frames:
        # css-nav-1: neither the origin nor an element around it (its container) is a candidate.
        if rect.contains(origin):
            continue
        aligned = mhi > smlo and mlo < smhi
        if not (lo >= shi or (lo >= slo and hi > shi and aligned)):
            continue
        d_major = lo - shi if lo > shi else 0.0
        d_minor = max(0.0, mlo - smhi, smlo - mhi)
        euclid = math.hypot(d_major, d_minor)
        if aligned:
            overlap = min(mhi, smhi) - max(mlo, smlo)
            align = min(overlap / s_size, 1.0) if s_size > 0 else 1.0
            bias = 0.0
        else:
            align = 0.0
            bias = s_size / 2
        distance = (
            euclid
            + (d_minor + bias) * weight
            - _WICG_ALIGN_WEIGHT * align
            - math.sqrt(origin.intersection_area(rect))
        )
        if distance < best_distance:
            best, best_distance = key, distance
    return best


def in_beam(origin: Rect, rect: Rect, direction: Direction, policy: Policy = Policy.TV) -> bool:
    """Return True if `rect` overlaps the origin's beam across `direction` under `policy`."""
    _, _, smlo, smhi = _frame(origin, direction)
    _, _, mlo, mhi = _frame(rect, direction)
    if policy is Policy.ANDROID:
        return mhi >= smlo and mlo <= smhi
    return mhi > smlo and mlo < smhi
