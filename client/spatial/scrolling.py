"""Where a scroll container must move to reveal an item: only when needed, with a margin."""

from __future__ import annotations


def scroll_delta(
    view_lo: float, view_hi: float, item_lo: float, item_hi: float, margin: float
) -> float:
    """Return how far to scroll along one axis so [item_lo, item_hi] shows inside the view.

    0 when the item is already fully visible (no small incremental scrolls: bamlab #108,
    WICG #141); otherwise the item lands `margin` px inside the edge it crossed. The margin
    shrinks when item and margins do not fit; an item larger than the view aligns its start.
    """
    if item_lo >= view_lo and item_hi <= view_hi:
        return 0.0
    size, span = item_hi - item_lo, view_hi - view_lo
    m = min(margin, max(0.0, (span - size) / 2))
    if item_lo < view_lo or size > span:
        return item_lo - m - view_lo
    return item_hi + m - view_hi
