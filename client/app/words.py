"""How the app says things to a listener: counts, device states, times (no Qt, no jargon)."""

from __future__ import annotations

_IRREGULAR = {"entry": "entries"}


def count(n: int, noun: str) -> str:
    """Return "1 track", "3 tracks", "no tracks": never "1 tracks" or "track(s)"."""
    plural = _IRREGULAR.get(noun, noun + "s")
    if n == 0:
        return f"no {plural}"
    return f"{n} {noun if n == 1 else plural}"


def ago(seconds: float) -> str:
    """Return how long ago something happened, as a person says it ("just now", "3 min ago")."""
    if seconds < 10:
        return "just now"
    if seconds < 60:
        return f"{int(seconds)} s ago"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86_400:
        return f"{int(seconds // 3600)} h ago"
    days = int(seconds // 86_400)
    return f"{count(days, 'day')} ago"


def moved(name: str, stop_first_reason: str = "") -> str:
    """Return what the app says once the music plays on *name*: "Playing on Kitchen", and, when
    a device made the transfer stop-first, why there was a gap (no jargon: "stopped first")."""
    if not stop_first_reason:
        return f"Playing on {name}"
    why = stop_first_reason.removeprefix("stop-first: ").split(", so ", 1)[0]
    return f"Playing on {name}, after a short gap: {why}"
