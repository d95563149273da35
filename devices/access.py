"""Who may control this receiver in `pin` mode: the token store, the pairing code, the limits.

This is the receiver's `AccessControl` (connect/session/server.py): the server maps HTTP and
Hello onto these calls, the rules themselves are connect/access/pairing.py, the tokens live in
devices/tokens.py.
The code is written to `<state_dir>/pairing-code` (0600) and logged at INFO each time it
changes: the only log line that ever holds a secret, because reading it is its purpose.
"""

from __future__ import annotations

import logging
from pathlib import Path

from connect.access import AccessDeniedError, Grant, pairing
from connect.atomic import write_atomically
from connect.clock import monotonic_us
from connect.wire import messages as m
from devices.tokens import TokenRecord, TokenStore, TokenStoreError

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

    def revoked(self, token: str) -> bool:
        """Whether *token* is one this device revoked (by an owner, or replaced by pairing)."""
        return self.store.is_revoked(token)

    def pair(self, request: m.PairingRequest, holder: Grant | None) -> pairing.Paired:
        """Pair a controller (docs/security.md, "Pairing"); raise AccessDeniedError if refused.

        *holder*: the grant of the valid token the pairer presented, if any. An owner's pairs
        without a code; any other pairing needs the code. The client id in the request is only
        a label: it never raises the role, and it replaces no token but the holder's own.
        """
        by_owner = holder is not None and pairing.may_manage_access(holder.role)
        if not by_owner:
            if holder is not None and not request.pin:
                raise AccessDeniedError(
                    m.Failure(m.ErrorCode.FORBIDDEN, "only an owner may pair without the code"),
                    403,
                )
            self._check_pin(request.pin)
        replaced = self._replaced_by(request.client, holder)
        role = pairing.pairing_role(
            request.requested_role,
            has_owner=self.store.has_owner(),
            by_owner=by_owner,
            replacing=replaced.role if replaced is not None else None,
        )
        replaced_id = replaced.id if replaced is not None else ""
        try:
            token = self.store.issue(request.client, role, replaces=replaced_id)
        except TokenStoreError as exc:
            _LOG.error("%s: could not save a new pairing: %s", request.client.id, exc)
            raise AccessDeniedError(
                m.Failure(m.ErrorCode.INTERNAL, "the device could not save the pairing"), 500
            ) from exc
        again = f", replacing its token {replaced_id}" if replaced_id else ""
        _LOG.info(
            "%s (%s): paired as %s%s",
            request.client.id,
            request.client.name,
            role.name.lower(),
            again,
        )
        response = m.PairingResponse(token, role, self.device_id, self.device_id)
        return pairing.Paired(response, replaced_id)

    def issue_token(self, client: m.ClientIdentity, role: m.Role, *, replaces: str = "") -> str:
        """Return a token for an in-process controller (the app's own device), without a PIN.

        *replaces*: the token this controller held before, which this one replaces if it is
        still valid here (so an app that restarts leaves one token, not one per start).
        """
        held = self.store.find(replaces) if replaces else None
        return self.store.issue(client, role, replaces=held.id if held is not None else "")

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

    def _replaced_by(self, client: m.ClientIdentity, holder: Grant | None) -> TokenRecord | None:
        """Return the holder's token record when the request claims its client id, else None.

        Proof of holding the token, not the id, is what allows a replacement; the id only
        tells an owner re-pairing itself from an owner pairing someone else.
        """
        if holder is None:
            return None
        record = self.store.get(holder.token_id)
        return record if record is not None and record.client.id == client.id else None

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
            left = self._failures.tries_left()
            raise AccessDeniedError(
                m.Failure(
                    m.ErrorCode.UNAUTHENTICATED,
                    f"wrong pairing code; {left} more wrong code(s) before pairing pauses",
                    pairing_tries_left=left,
                ),
                401,
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
