"""Focus-ring appearance rules (WCAG 2.2 SC 2.4.13 at 10-foot distance); no Qt."""

from __future__ import annotations

RING_LIGHT = (255, 255, 255)
RING_DARK = (0, 0, 0)


def relative_luminance(rgb: tuple[int, int, int]) -> float:
    """Return the WCAG relative luminance of an sRGB colour (0..255 channels)."""

    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = rgb
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_ratio(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """Return the WCAG contrast ratio between two colours (1..21)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def ring_thickness(window_height: int) -> int:
    """Return the outer ring's width in px for a window of `window_height` px.

    2.4.13 asks for an indicator at least as large as a 2 CSS px perimeter at 3:1. A TV is
    watched from about 3 m, where 2 px of a 1080p panel is a hairline, so the ring scales with
    the screen: 6 px at 1080p, never below 4 px (the dark inner ring adds half of that).
    """
    return max(4, round(window_height * 6 / 1080))


def worst_ring_contrast(background: tuple[int, int, int]) -> float:
    """Return the contrast of the better of the ring's two tones against `background`.

    The ring draws a light band and a dark band side by side, so over any background one of
    them stands out: (1.05 / (L + 0.05)) · ((L + 0.05) / 0.05) = 21, hence the larger of the
    two ratios is at least √21 ≈ 4.58 > 3.
    """
    return max(contrast_ratio(RING_LIGHT, background), contrast_ratio(RING_DARK, background))
