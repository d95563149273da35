"""Who may control this receiver in `pin` mode: the token store, the pairing code, the limits.

This is the receiver's `AccessControl` (connect/server.py): the server maps HTTP and Hello onto
these calls, the rules themselves are connect/pairing.py, the tokens live in devices/tokens.py.
The code is written to `<state_dir>/pairing-code` (0600) and logged at INFO each time it
changes: the only log line that ever holds a secret, because reading it is its purpose.
"""

from __future__ import annotations

import logging
from pathlib import Path

from connect import messages as m
from connect import pairing
from connect.atomic import write_atomically
from connect.clock import monotonic_us
from connect.server import AccessDeniedError, Grant
from devices.tokens import TokenStore, TokenStoreError

_LOG = logging.getLogger(__name__)

PAIRING_CODE_FILE = "pairing-code"


def _monotonic_s() -> float:
    return monotonic_us() / 1e6


class ReceiverAccess:
    """Pairing, tokens and the code of one receiver (see the module docstring)."""

    def __init__(
        self,
        state_dir: Path,
        device_id: str,
        *,
        store: TokenStore | None = None,
        clock: pairing.Monotonic = _monotonic_s,
    ) -> None:
        self.device_id = device_id
        self.store = store or TokenStore(state_dir)
        self._code_path = state_dir / PAIRING_CODE_FILE
        self._keeper = pairing.PairingCodeKeeper()
        self._failures = pairing.FailureWindow(clock=clock)

    def start(self) -> None:
        """Load the tokens and publish the first code; raise TokenStoreError if unreadable."""
        self.store.load()
        self._publish_code()

    @property
    def pairing_code(self) -> str:
        """Return the current 6-digit code."""
        return self._keeper.code

    # -------------------------------------------------------------------------- AccessControl

    def authenticate(self, token: str) -> Grant | None:
        """Return the grant of *token* (recording its use), or None if it is not valid here."""
        record = self.store.find(token)
        if record is None:
            return None
        self.store.touch(record.id)
        return Grant(record.id, record.role)

    def pair(self, request: m.PairingRequest, owner: Grant | None) -> m.PairingResponse:
        """Pair a controller, by PIN or by an owner's grant; raise AccessDeniedError if refused."""
        if owner is None:
            self._check_pin(request.pin)
        # An owner pairing again (a reinstalled app) stays owner: its own token does not count.
        has_owner = self.store.has_owner(besides_client=request.client.id)
        role = pairing.pairing_role(
            request.requested_role, has_owner=has_owner, by_owner=owner is not None
        )
        try:
            token = self.store.issue(request.client, role)
        except TokenStoreError as exc:
            _LOG.error("%s: could not save a new pairing: %s", request.client.id, exc)
            raise AccessDeniedError(
                m.Failure(m.ErrorCode.INTERNAL, "the device could not save the pairing"), 500
            ) from exc
        _LOG.info(
            "%s (%s): paired as %s", request.client.id, request.client.name, role.name.lower()
        )
        return m.PairingResponse(token, role, self.device_id, self.device_id)

    def issue_token(self, client: m.ClientIdentity, role: m.Role) -> str:
        """Return a token for an in-process controller (the app's own device), without a PIN."""
        return self.store.issue(client, role)

    def token_list(self) -> m.TokenList:
        """Return every paired controller's token (without secrets)."""
        return m.TokenList(tuple(record.info() for record in self.store.records()))

    def revoke(self, token_id: str) -> bool:
        """Revoke *token_id*; return False if unknown. Raises TokenStoreError if unsaved."""
        found = self.store.revoke(token_id)
        if found:
            _LOG.info("token %s revoked", token_id)
        return found

    # -------------------------------------------------------------------------- internals

    def _check_pin(self, pin: str) -> None:
        wait = self._failures.retry_after()
        if wait > 0:
            raise AccessDeniedError(
                m.Failure(m.ErrorCode.RATE_LIMITED, "too many failed pairing attempts"),
                429,
                retry_after_s=wait,
            )
        right, changed = self._keeper.attempt(pin)
        if not right:
            self._failures.record_failure()
            # Never the code tried: it may be the right one mistyped by one digit.
            if self._failures.retry_after() > 0:
                _LOG.warning("pairing refused: wrong code; pairing paused for a minute")
            else:
                _LOG.info("pairing refused: wrong code")
        if changed:
            self._publish_code()
        if not right:
            raise AccessDeniedError(
                m.Failure(m.ErrorCode.UNAUTHENTICATED, "wrong pairing code"), 401
            )

    def _publish_code(self) -> None:
        code = self._keeper.code
        # Announcing the code is the point of this line (docs/security.md: logged at INFO).
        _LOG.info("pairing code: %s", code)
        try:
            write_atomically(self._code_path, f"{code}\n".encode(), 0o600)
        except OSError as exc:
            # The code is still in the log and the UI; pairing goes on working.
            _LOG.warning("could not write %s: %s", self._code_path, exc)
