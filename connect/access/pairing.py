"""Sans-IO rules of pairing and access (docs/security.md): codes, tokens, roles, rate limits.

Nothing here touches a file, a socket or the wall clock: the receiver's token store
(devices/tokens.py) and the session server (connect/session/server.py) are the adapters. Time comes
in through an injectable monotonic clock, so the rate limiter is tested without sleeping.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from connect.errors import ConnectError
from connect.wire import messages as m

__all__ = [
    "CODE_DIGITS",
    "FAILURES_PER_CODE",
    "MAX_FAILURES",
    "WINDOW_S",
    "AccessControl",
    "AccessDeniedError",
    "FailureWindow",
    "Grant",
    "IssuedToken",
    "MalformedTokenError",
    "Paired",
    "PairingCodeKeeper",
    "command_refusal",
    "hash_token",
    "may_manage_access",
    "new_pairing_code",
    "new_token",
    "pairing_role",
    "token_id_of",
    "tokens_match",
    "transfer_refusal",
    "weaker_role",
]

CODE_DIGITS = 6
MAX_FAILURES = 5
"""Failed pairing attempts allowed in any WINDOW_S, per device (an attacker can change address)."""
WINDOW_S = 60.0
FAILURES_PER_CODE = 10
"""The code changes after this many failures, so a slow guesser chases a moving target."""

_TOKEN_ID_HEX = 8
_TOKEN_SECRET_BYTES = 32
_TOKEN = re.compile(r"^(?P<id>[0-9a-f]{8})\.(?P<secret>[A-Za-z0-9_-]{43})$")

Monotonic = Callable[[], float]


class MalformedTokenError(ConnectError, ValueError):
    """A string is not a token of the form `ID.SECRET`."""


# ------------------------------------------------------------------------------ the device's side


@dataclass(frozen=True)
class Grant:
    """What a valid token allows: its id (for revocation) and its role."""

    token_id: str
    role: m.Role


@dataclass(frozen=True)
class Paired:
    """A pairing granted: the answer for the controller, and the token it replaced ("": none).

    The replaced token is revoked: the server ends its sessions with Goodbye(REVOKED).
    """

    response: m.PairingResponse
    replaced_token_id: str = ""


class AccessDeniedError(ConnectError, PermissionError):
    """A pairing or access request is refused; `failure` and `status` are the HTTP answer."""

    def __init__(self, failure: m.Failure, status: int, *, retry_after_s: float = 0.0) -> None:
        super().__init__(failure.message)
        self.failure = failure
        self.status = status
        self.retry_after_s = retry_after_s


class AccessControl(Protocol):
    """A `pin`-mode device's credentials: tokens, pairing, the code (devices/access.py)."""

    def authenticate(self, token: str) -> Grant | None:
        """Return the grant of *token*, or None if it is missing, unknown or revoked."""
        ...

    def revoked(self, token: str) -> bool:
        """Whether *token* was valid here and has been revoked (its holder is told so)."""
        ...

    def pair(self, request: m.PairingRequest, holder: Grant | None) -> Paired:
        """Pair by PIN or by an owner's grant; raise AccessDeniedError if refused.

        *holder* is the grant of the valid token the pairer presented (`Authorization:
        Bearer`), None without one: an owner's pairs without a PIN, and any holder's token is
        replaced when the request claims the client id that token was issued to.
        """
        ...

    def token_list(self) -> m.TokenList:
        """Return every paired controller's token."""
        ...

    def revoke(self, token_id: str) -> bool:
        """Revoke a token; return False if it is unknown."""
        ...

    @property
    def pairing_code(self) -> str:
        """Return the current pairing code."""
        ...


# ------------------------------------------------------------------------------ codes and tokens


def new_pairing_code() -> str:
    """Return a fresh 6-digit code, 000000..999999, from the OS's secure random source."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


@dataclass(frozen=True)
class IssuedToken:
    """A token just made: the text handed to the controller once, and what the device keeps."""

    id: str
    text: str

    @property
    def sha256(self) -> str:
        """Return the hash the device stores instead of the token."""
        return hash_token(self.text)


def new_token() -> IssuedToken:
    """Return a new token `ID.SECRET`: 8 hex digits, then 32 random bytes in URL-safe base64."""
    token_id = secrets.token_hex(_TOKEN_ID_HEX // 2)
    secret = base64.urlsafe_b64encode(secrets.token_bytes(_TOKEN_SECRET_BYTES)).rstrip(b"=")
    return IssuedToken(token_id, f"{token_id}.{secret.decode()}")


def token_id_of(text: str) -> str:
    """Return the public ID part of a token; raise MalformedTokenError if it is not one."""
    found = _TOKEN.match(text)
    if found is None:
        # Never repeat the text: it may be a real token typed wrongly.
        raise MalformedTokenError("not a Baton token (expected 8 hex digits, a dot, a secret)")
    return found["id"]


def hash_token(text: str) -> str:
    """Return the SHA-256 of a whole token as 64 lowercase hex digits."""
    return hashlib.sha256(text.encode()).hexdigest()


def tokens_match(text: str, stored_sha256: str) -> bool:
    """Whether *text* hashes to *stored_sha256*, compared in constant time."""
    return hmac.compare_digest(hash_token(text).encode(), stored_sha256.encode())


# ------------------------------------------------------------------------------ roles

# Strongest first; the protocol numbers roles in that order too, but the rules should not
# depend on wire numbers.
_STRENGTH = (m.Role.OWNER, m.Role.CONTROLLER, m.Role.GUEST, m.Role.OBSERVER)


def weaker_role(held: m.Role, requested: m.Role | None) -> m.Role:
    """Return the role a session gets: the weaker of the credential's and the requested one."""
    if requested is None:
        return held
    return max(held, requested, key=_STRENGTH.index)


def pairing_role(
    requested: m.Role | None,
    *,
    has_owner: bool,
    by_owner: bool,
    replacing: m.Role | None = None,
) -> m.Role:
    """Return the role a new pairing grants.

    An owner pairing someone may grant any role; by default controller, or the role of the
    token it replaces (*replacing*: an owner re-pairing itself stays owner). With a PIN, the
    first controller of a device without an owner becomes owner unless it asked for less;
    while an owner exists, any other gets what it asks for, at most controller (default
    controller), whatever client id it claims.
    """
    if by_owner:
        return requested or replacing or m.Role.CONTROLLER
    if not has_owner:
        return requested or m.Role.OWNER
    return weaker_role(m.Role.CONTROLLER, requested)


def may_manage_access(role: m.Role) -> bool:
    """Whether *role* may pair others, list and revoke tokens and read the code."""
    return role is m.Role.OWNER


def command_refusal(role: m.Role) -> m.Failure | None:
    """Return why *role* may not send a Command, or None when it may."""
    if role is m.Role.OBSERVER:
        return m.Failure(m.ErrorCode.FORBIDDEN, "an observer may not send commands")
    return None


def transfer_refusal(role: m.Role, body: m.Body, device_id: str) -> m.Failure | None:
    """Return why *role* may not send this transfer message to device *device_id*, or None.

    Observers take no part in transfers. Guests may move playback to this device, not away
    from it: a Commit that makes it the source, or an Offer naming it as the source, is refused.
    """
    if role is m.Role.OBSERVER:
        return m.Failure(m.ErrorCode.FORBIDDEN, "an observer may not transfer playback")
    if role is not m.Role.GUEST:
        return None
    away = (isinstance(body, m.TransferCommit) and body.role is m.TransferRole.SOURCE) or (
        isinstance(body, m.TransferOffer) and body.source_device_id == device_id
    )
    if away:
        return m.Failure(m.ErrorCode.FORBIDDEN, "a guest may not transfer playback away")
    return None


# ------------------------------------------------------------------------------ rate limits


class FailureWindow:
    """Counts failures in a sliding window: at most *limit* in any *window_s* seconds."""

    def __init__(
        self,
        limit: int = MAX_FAILURES,
        window_s: float = WINDOW_S,
        clock: Monotonic = time.monotonic,
    ) -> None:
        self._limit = limit
        self._window_s = window_s
        self._clock = clock
        self._failures: deque[float] = deque()

    def retry_after(self) -> float:
        """Return how many seconds until an attempt is allowed (0.0: allowed now)."""
        now = self._clock()
        while self._failures and self._failures[0] <= now - self._window_s:
            self._failures.popleft()
        if len(self._failures) < self._limit:
            return 0.0
        return self._failures[0] + self._window_s - now

    def tries_left(self) -> int:
        """Return how many more failures the window takes before attempts are refused."""
        self.retry_after()  # forgets the failures that left the window
        return max(0, self._limit - len(self._failures))

    def record_failure(self) -> None:
        """Count one failed attempt, now."""
        self._failures.append(self._clock())


class PairingCodeKeeper:
    """The device's current code: checked in constant time, changed after a success or 10 failures.

    `attempt()` returns whether the code was right; it does not rate-limit (FailureWindow does,
    before asking). `changed` tells the adapter to publish the new code.
    """

    def __init__(self, make_code: Callable[[], str] = new_pairing_code) -> None:
        self._make_code = make_code
        self.code = make_code()
        self._failures = 0

    def attempt(self, pin: str) -> tuple[bool, bool]:
        """Check *pin*; return (right, changed): whether it was right and the code changed."""
        right = hmac.compare_digest(pin.encode(), self.code.encode())
        if right:
            self._renew()
            return True, True
        self._failures += 1
        if self._failures >= FAILURES_PER_CODE:
            self._renew()
            return False, True
        return False, False

    def _renew(self) -> None:
        old = self.code
        while self.code == old:  # "changes" must mean a different code, even by a 1e-6 chance
            self.code = self._make_code()
        self._failures = 0
