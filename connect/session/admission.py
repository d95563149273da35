"""Who a Hello comes from, as a device decides it (docs/security.md): a role, or why not.

`admission_for` applies the device's access rules to a Hello's token and requested role; the
session machine (connect/session/device_end.py) turns the answer into Welcome or Goodbye. An
open device (no `AccessControl`) lets anyone in with the role asked for (controller by
default); a device in pin mode needs a valid token, and grants at most that token's role.
"""

from __future__ import annotations

from connect.access import pairing
from connect.access.pairing import AccessControl
from connect.session.device_end import Admission, Admitted, TurnedAway
from connect.wire import messages as m

__all__ = ["REVOKED_MESSAGE", "UNPAIRED_MESSAGE", "admission_for"]

REVOKED_MESSAGE = "this controller's access was revoked; pair again to use this device"
UNPAIRED_MESSAGE = "this device needs pairing; no valid token"


def admission_for(hello: m.Hello, access: AccessControl | None) -> Admission:
    """Return whom *hello* admits under *access* (None: an open device)."""
    if access is None:
        return Admitted(hello.requested_role or m.Role.CONTROLLER)
    grant = access.authenticate(hello.token) if hello.token else None
    if grant is None:
        # A revoked token's holder is told so: it forgets the token and stops trying.
        if hello.token and access.revoked(hello.token):
            return TurnedAway(m.GoodbyeReason.REVOKED, REVOKED_MESSAGE)
        return TurnedAway(m.GoodbyeReason.UNAUTHENTICATED, UNPAIRED_MESSAGE)
    return Admitted(pairing.weaker_role(grant.role, hello.requested_role), grant.token_id)
