"""The Qt adapter of spatial navigation: remote keys, focus ring, debug overlay, linting."""

from client.navigation.appearance import contrast_ratio, ring_thickness, worst_ring_contrast
from client.navigation.navigator import MediaAction, SpatialNavigator
from client.navigation.overlay import DebugOverlay, Decision
from client.navigation.repeat import KeyRepeatGate, LongPress, RepeatSettings
from client.navigation.ring import FocusRing
from client.navigation.scan import WidgetTree, layout_rect
from client.navigation.scrolling import ensure_visible
from client.navigation.textfields import keeps_arrow

__all__ = [
    "DebugOverlay",
    "Decision",
    "FocusRing",
    "KeyRepeatGate",
    "LongPress",
    "MediaAction",
    "RepeatSettings",
    "SpatialNavigator",
    "WidgetTree",
    "contrast_ratio",
    "ensure_visible",
    "keeps_arrow",
    "layout_rect",
    "ring_thickness",
    "worst_ring_contrast",
]
