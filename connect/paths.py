"""What both ends of Connect agree on outside the messages: HTTP paths and session timing.

The device serves these paths (connect/session/server.py, connect/access/_endpoints.py) and
controllers ask them (connect/session/connection.py, connect/access/_requests.py,
connect/transfer/_status.py), so they live here and neither side imports the other's module
for them.
"""

from __future__ import annotations

INFO_PATH = "/connect/v1/info"
WS_PATH = "/connect/v1/ws"
TRANSFERS_PATH = "/connect/v1/transfers/{transfer_id}"
TRANSFER_QUEUE_PATH = "/connect/v1/transfers/{transfer_id}/queue"  # protocol 1.1
PAIR_PATH = "/connect/v1/pair"
TOKENS_PATH = "/connect/v1/tokens"
PAIRING_CODE_PATH = "/connect/v1/pairing-code"
NAME_PATH = "/connect/v1/name"

HEARTBEAT_INTERVAL_MS = 1000
"""Send a Heartbeat after this long without sending anything. A peer that hears nothing for
DEAD_AFTER_BEATS intervals is dead: 3 s, short enough to mark a killed receiver offline
quickly and long enough not to flap over Wi-Fi hiccups."""
DEAD_AFTER_BEATS = 3
