"""The app's side of pairing and access (docs/security.md), free of Qt and of sockets.

What the Devices screen says about a device's access, the words for a refused pairing (with
the device's own count of wrong codes left), and the identity the app pairs as (the one the
CLI uses).
"""

from __future__ import annotations

from client.app.views import Access
from connect.access import Credential, CredentialStore
from connect.controller import default_identity
from connect.errors import (
    AccessError,
    ConnectError,
    CredentialStoreError,
    RateLimitedError,
    UntrustedDeviceError,
    WrongPinError,
)
from connect.wire import messages as m

__all__ = ["access_of", "app_identity", "describe_refusal"]


def app_identity(store: CredentialStore, name: str) -> tuple[m.ClientIdentity, str]:
    """Return the app's identity (the store's client id, shared with the CLI) and a problem.

    Sharing the id makes the app and `baton` one controller to a device: a pairing made by
    either is the other's too, and pairing again (presenting the token held) replaces that
    token instead of adding one: a device replaces a token only for the id it was issued to.
    When the store cannot be used the app still runs, as a fresh controller, and says why.
    """
    identity = default_identity(name)
    try:
        stored = store.client_id(create=True)
    except CredentialStoreError as exc:
        return identity, f"Pairing is unavailable: {exc}"
    return m.ClientIdentity(stored, identity.name, identity.type, identity.software), ""


def access_of(
    held: Credential | None, pairing: m.PairingMode | None, before: Access
) -> tuple[Access, m.Role | None]:
    """Return a device's access and our role from what we hold and the mode it announces.

    *pairing* None means not known yet, which counts as pin (the safe side). A device that
    revoked us stays "revoked" (not merely "needs pairing") until we pair again.
    """
    if held is not None:
        return Access.PAIRED, held.role
    if pairing is m.PairingMode.OPEN:
        return Access.OPEN, None
    return (Access.REVOKED if before is Access.REVOKED else Access.NEEDS_PAIRING), None


def describe_refusal(exc: ConnectError) -> str:
    """Return what the keypad says when a pairing failed with *exc*.

    The tries left are the device's count (every controller's wrong codes), never the app's.
    """
    if isinstance(exc, WrongPinError):
        tries_left = exc.tries_left
        if tries_left is None:  # a device that does not say
            return "Wrong code"
        if tries_left == 0:
            return "Wrong code — pairing pauses for a minute now"
        tries = "try" if tries_left == 1 else "tries"
        return f"Wrong code — {tries_left} {tries} left before a pause"
    if isinstance(exc, RateLimitedError):
        wait = round(exc.retry_after_s)
        when = f"in {wait} s" if wait > 0 else "in a minute"
        return f"Too many wrong codes: the device pauses pairing; try again {when}"
    if isinstance(exc, UntrustedDeviceError):
        return f"Not paired: this is not the device it claims to be ({exc})"
    if isinstance(exc, AccessError):
        return str(exc)
    return f"Could not pair: {exc}"
