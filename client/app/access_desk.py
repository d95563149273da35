"""The app core's pairing and access requests, and what each device's access is now.

`AccessDesk` lives on the core's asyncio thread beside `AppCore`, which hands it the device
views (to read and to update) and the emit function; everything it learns goes out as
PairingView, AccessView or an updated DeviceView (client.app.views).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from client.app import views as v
from client.app.access import access_of, describe_refusal
from connect.access import Credential
from connect.controller import Controller
from connect.discovery import DeviceEntry
from connect.errors import ConnectError, CredentialStoreError
from connect.session import AccessDenied
from connect.wire import messages as m

_LOG = logging.getLogger(__name__)

Emit = Callable[[object], None]
Put = Callable[[v.DeviceView], None]


class AccessDesk:
    """Pairs, lists and revokes for the app (see the module docstring); loop thread only."""

    def __init__(
        self, controller: Controller, views: dict[str, v.DeviceView], put: Put, emit: Emit
    ) -> None:
        self._controller = controller
        self._views = views  # AppCore's own dict, read here; changes go through put
        self._put = put
        self._emit = emit
        self._revoked_by_us: set[str] = set()  # our own token, revoked here: "needs pairing"
        self._refused: dict[str, str] = {}  # device id -> the token it refused in a Hello

    # -------------------------------------------------------------------------- requests

    async def async_pair(self, device_id: str, pin: str) -> None:
        """Pair with *device_id* using *pin*; progress and the outcome come as PairingView."""
        name = self._name(device_id)
        self._emit(v.PairingView(device_id, v.PairingPhase.RUNNING, f"Pairing with {name}…"))
        try:
            credential = await self._controller.async_pair(device_id, pin)
        except ConnectError as exc:
            self._emit(v.PairingView(device_id, v.PairingPhase.FAILED, describe_refusal(exc)))
            return
        self._revoked_by_us.discard(device_id)
        self._refused.pop(device_id, None)
        view = self._views.get(device_id)
        if view is not None:
            self._put(replace(view, access=v.Access.PAIRED, role=credential.role))
        self._controller.connection(device_id)  # the pairing replaced the session that gave up
        role = credential.role.name.lower()
        self._emit(v.PairingView(device_id, v.PairingPhase.DONE, f"Paired with {name} as {role}"))

    async def async_load_access(self, device_id: str, *, with_code: bool = False) -> None:
        """Emit an AccessView of *device_id*: its paired controllers, and its code if asked."""
        name = self._name(device_id)
        try:
            held = self._controller.credential(device_id)
            tokens = await self._controller.async_list_tokens(device_id)
            code = await self._controller.async_pairing_code(device_id) if with_code else ""
        except ConnectError as exc:
            self._emit(v.AccessView(device_id, name, error=str(exc)))
            return
        own = held.token_id if held is not None else ""
        self._emit(v.AccessView(device_id, name, tokens, own, code))

    async def async_revoke(self, device_id: str, token_id: str) -> None:
        """Revoke *token_id* on *device_id*; revoking our own leaves the device needing pairing."""
        name = self._name(device_id)
        try:
            held = self._controller.credential(device_id)
            own = held is not None and held.token_id == token_id
            if own:  # the device's Goodbye(REVOKED) will follow: it is our doing, not a surprise
                self._revoked_by_us.add(device_id)
            await self._controller.async_revoke_token(device_id, token_id)
        except (ConnectError, ValueError) as exc:
            self._emit(v.AccessView(device_id, name, error=f"Could not revoke: {exc}"))
            return
        if own:
            view = self._views.get(device_id)
            if view is not None:
                self._put(replace(view, access=v.Access.NEEDS_PAIRING, role=None, online=False))
            self._emit(v.AccessView(device_id, name, error="This app no longer has access"))
            return
        self._emit(v.Notice(f"{name}: access revoked for token {token_id}"))
        await self.async_load_access(device_id)

    # -------------------------------------------------------------------------- state

    def view_access(self, view: v.DeviceView, entry: DeviceEntry) -> v.DeviceView:
        """Return *view* (built from *entry*) with its access and role filled in."""
        old = self._views.get(entry.id)
        pairing = entry.record.pairing if entry.record is not None else None
        before = old.access if old is not None else v.Access.OPEN
        access, role = access_of(self.held(entry.id), pairing, before)
        if old is not None and old.role is not None and access in (v.Access.PAIRED, v.Access.OPEN):
            role = old.role  # the role granted in Welcome is the one that counts
        return replace(view, access=access, role=role)

    def on_connected(self, view: v.DeviceView, welcome: m.Welcome) -> v.DeviceView:
        """Return *view* as the session's Welcome left it: access and the role granted."""
        access, _ = access_of(self.held(view.id), welcome.device.pairing, view.access)
        return replace(view, access=access, role=welcome.role)

    def on_denied(self, view: v.DeviceView, event: AccessDenied) -> v.DeviceView:
        """Return *view* after the device refused us: "revoked" or "needs pairing"."""
        # A refused token we still hold (the device lost its tokens) must not count as paired,
        # or every mDNS update would start a session that is refused again.
        held = self.held(view.id)
        self._refused[view.id] = held.token if held is not None else ""
        revoked = event.revoked and view.id not in self._revoked_by_us
        access = v.Access.REVOKED if revoked else v.Access.NEEDS_PAIRING
        return replace(view, online=False, access=access, role=None, offline_reason="")

    def held(self, device_id: str) -> Credential | None:
        """Return the credential we would present to *device_id* (None: none it accepts)."""
        try:
            credential = self._controller.credential(device_id)
        except CredentialStoreError as exc:
            _LOG.warning("%s: %s", device_id, exc)
            return None
        if credential is not None and credential.token == self._refused.get(device_id):
            return None
        return credential

    def _name(self, device_id: str) -> str:
        view = self._views.get(device_id)
        return view.name if view else device_id[:8]
