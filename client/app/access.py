"""The app's side of pairing and access (docs/security.md), free of Qt and of sockets.

What the Devices screen says about a device's access, the words for a refused pairing, the
count of this app's wrong codes, and the identity the app pairs as (the one the CLI uses).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from client.app.views import Access
from connect import messages as m
from connect.controller import default_identity
from connect.credentials import Credential, CredentialStore
from connect.errors import (
    AccessError,
    ConnectError,
    CredentialStoreError,
    RateLimitedError,
    UntrustedDeviceError,
    WrongPinError,
)
from connect.pairing import MAX_FAILURES, WINDOW_S

__all__ = ["WrongCodes", "access_of", "app_identity", "describe_refusal"]


def app_identity(store: CredentialStore, name: str) -> tuple[m.ClientIdentity, str]:
    """Return the app's identity (the store's client id, shared with the CLI) and a problem.

    Sharing the id makes the app and `baton` one controller to a device: a pairing made by
    either is the other's too, and pairing again replaces the token instead of adding one.
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


class WrongCodes:
    """This app's wrong codes per device in the receiver's window, to say how many are left.

    The receiver counts every controller's failures (connect/pairing.py) and does not say how
    many remain, so this is an upper bound: exact unless someone else is guessing too.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def record(self, device_id: str) -> int:
        """Count one wrong code for *device_id*; return the tries left before a pause."""
        self._failures.setdefault(device_id, deque()).append(self._clock())
        return self.tries_left(device_id)

    def tries_left(self, device_id: str) -> int:
        """Return the tries left before the device pauses pairing (0: the next is refused)."""
        failures = self._failures.get(device_id, deque())
        while failures and failures[0] <= self._clock() - WINDOW_S:
            failures.popleft()
        return max(0, MAX_FAILURES - len(failures))

    def forget(self, device_id: str) -> None:
        """Start counting afresh (after a pairing succeeded)."""
        self._failures.pop(device_id, None)


def describe_refusal(exc: ConnectError, tries_left: int | None = None) -> str:
    """Return what the keypad says when a pairing failed with *exc*."""
    if isinstance(exc, WrongPinError):
        if tries_left is None:
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
