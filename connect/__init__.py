"""Baton Connect: the protocol core (codec, sessions, discovery, controller API); no Qt, no VLC."""

__version__ = "0.1.0"
