"""What a device's answer to a controller's Hello means (sans-IO): a Welcome, or why not.

`welcome_from` returns the Welcome that opens a session or raises the error that says why
there is none; `raise_if_access_denied` turns a Goodbye that no retry can change (not paired,
access revoked) into its typed error. connect.session.connection acts on them.
"""

from __future__ import annotations

from connect.cli_common import baton_command
from connect.errors import AccessRevokedError, ConnectError, ConnectionLostError, NotPairedError
from connect.wire import messages as m


class VersionMismatchError(ConnectError):
    """The device speaks no version we speak: retrying cannot help."""


def welcome_from(body: m.Body, device_id: str) -> m.Welcome:
    """Return *body* as the Welcome of *device_id*; raise why the session did not open."""
    if isinstance(body, m.Goodbye):
        if body.reason is m.GoodbyeReason.VERSION:
            raise VersionMismatchError(f"device {device_id}: {body.message}")
        raise_if_access_denied(body, device_id)
        raise ConnectionLostError(f"device {device_id} refused: {body.message}")
    if not isinstance(body, m.Welcome):
        raise ConnectionLostError(f"device {device_id} sent {type(body).__name__}")
    if body.device.id != device_id:
        raise ConnectionLostError(
            f"expected device {device_id} at this address, found {body.device.id}"
        )
    return body


def raise_if_access_denied(goodbye: m.Goodbye, device_id: str) -> None:
    """Raise NotPairedError or AccessRevokedError if *goodbye* says so; else return."""
    if goodbye.reason is m.GoodbyeReason.UNAUTHENTICATED:
        raise NotPairedError(
            f"device {device_id} needs pairing: run {baton_command('pair', device_id)}",
            device=device_id,
        )
    if goodbye.reason is m.GoodbyeReason.REVOKED:
        raise AccessRevokedError(
            f"device {device_id} revoked this controller's access; "
            f"pair again to use it ({baton_command('pair', device_id)})",
            device=device_id,
        )
