"""Baton Connect: the protocol core (codec, sessions, discovery, controller API). No Qt, no libVLC."""

__version__ = "0.1.0"
