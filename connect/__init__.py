"""Baton Connect: the protocol core; no Qt, no VLC.

Folders by idea (docs/architecture.md): wire/ (messages, codec), session/ (both ends of a
session), transfer/ (moving playback), discovery/ (finding devices), access/ (pairing,
credentials, TLS); on top, the controller API (controller.py) and what both ends share
(paths.py, clock.py, telemetry.py, errors.py).
"""

__version__ = "0.1.0"
