"""The controller API: find devices, keep sessions to them, send commands, follow their state.

`Controller` joins a DeviceRegistry (mDNS on explicit interfaces, plus devices added by
address and polled over HTTP) with one DeviceConnection per device, marks devices online and
offline from their sessions (never from mDNS), and fans every session event out to subscribers.
A lost device's reconnect loop is woken when the registry sees a sign it is back (heard on
mDNS, its manual host answering, new interfaces), instead of waiting out its backoff.

With a CredentialStore it also pairs, presents the stored tokens and manages a device's access
(docs/security.md): a device in pin mode, or one we hold a credential for (no downgrade), is
only ever reached over TLS pinned to its id.

With a LastReached cache (the `baton` commands), a device named is first tried where it was
last reached, and mDNS browsing starts only when it is not there (or is no longer that device):
a command to a known device then costs one session, not a browse.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from connect.access import _requests
from connect.access._requests import Request
from connect.access.credentials import Credential, CredentialStore, paired_now
from connect.cli_common import baton_command
from connect.discovery.last_reached import LastReached
from connect.discovery.registry import DeviceEntry, DeviceRegistry, ReachableHint
from connect.discovery.txt import ServiceRecord
from connect.errors import (
    AccessRevokedError,
    ConnectError,
    CredentialStoreError,
    DeviceNotFoundError,
    FrameError,
    NotPairedError,
    UntrustedDeviceError,
)
from connect.finding import DeviceFinder
from connect.paths import NAME_PATH, PAIR_PATH, PAIRING_CODE_PATH, TOKENS_PATH
from connect.session.connection import (
    AccessDenied,
    Connected,
    ConnectionEvent,
    DeviceConnection,
    Dial,
    Disconnected,
    Endpoint,
)
from connect.session.queue_upload import Uploaded, async_play_items
from connect.session.queue_view import QueueView
from connect.wire import codec
from connect.wire import messages as m

if TYPE_CHECKING:
    import aiohttp

    from connect.group.coordinator import GroupCoordinator
    from connect.group.reports import GroupReport, GroupView

_LOG = logging.getLogger(__name__)
_T = TypeVar("_T")

MANUAL_POLL_INTERVAL_S = 10.0
_HTTP_TIMEOUT_S = 3.0
_TLS_CLOSE_MAY_LEAK = sys.version_info < (3, 12, 8) or (3, 13, 0) <= sys.version_info < (3, 13, 1)


_PROCESS_CLIENT_ID = f"cli-{uuid.uuid4().hex[:12]}"


def default_identity(name: str = "") -> m.ClientIdentity:
    """Return an identity for a controller that has no stored one (the CLI).

    One id per process: the device id its traces carry (`tracing.setup`) is the same one, so
    a device's replies, addressed to this client id, land on this process's lifeline. The name
    defaults to "baton on HOST": what an owner reads in a device's list of paired controllers.
    """
    from connect.cli_common import baton_version

    return m.ClientIdentity(
        _PROCESS_CLIENT_ID,
        name or f"baton on {host_name()}",
        m.DeviceType.COMPUTER,
        f"baton {baton_version()}",
    )


def host_name() -> str:
    """Return this machine's short host name (its first label), or "this computer"."""
    return socket.gethostname().split(".")[0] or "this computer"


def parse_host_port(text: str) -> tuple[str, int]:
    """Parse `host:port` or `[v6]:port`; raise ValueError with a clear message."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


class Controller:
    """Devices, sessions and commands for one controller (see the module docstring)."""

    def __init__(
        self,
        identity: m.ClientIdentity,
        *,
        interfaces: Sequence[str] = (),
        browse: bool = True,
        credentials: CredentialStore | None = None,
        last_reached: LastReached | None = None,
        dial: Dial | None = None,
    ) -> None:
        self.identity = identity
        self.credentials = credentials  # None: no pairing; pin-mode devices will refuse us
        self.last_reached = last_reached  # None: every device is found by mDNS or by address
        # How sessions open their WebSocket: None is aiohttp's (connect.session._socket).
        self._dial = dial
        self.registry = DeviceRegistry(interfaces=interfaces)
        self._browse = browse
        self._http: aiohttp.ClientSession | None = None
        self._started = False
        self._connections: dict[str, DeviceConnection] = {}
        self._listeners: list[Callable[[ConnectionEvent], None]] = []
        self._poller: asyncio.Task[None] | None = None
        self._groups: GroupCoordinator | None = None  # made on first use (protocol 1.2)
        self.registry.subscribe_hints(self._on_hint)
        self._finder = DeviceFinder(
            self.registry,
            last_reached,
            browse=self.async_browse,
            open_session=self.async_connect,
            drop_session=self._drop_session,
        )

    async def async_start(self, *, browse_now: bool = True) -> None:
        """Start browsing (if asked) and polling devices added by address.

        With *browse_now* False, browsing waits until a device must be looked for
        (`async_find`); a named interface this host lacks is still refused at once. The HTTP
        client (aiohttp) is made when first needed: a session with a lean dial needs none.
        """
        self._started = True
        try:
            if self._browse and browse_now:
                await self.registry.async_start()
            elif self._browse:
                self.registry.check_interfaces()
        except BaseException:  # an unknown --interface: close what was opened, say it once
            await self.async_close()
            raise
        self._poller = asyncio.get_running_loop().create_task(self._poll_manual_hosts())

    async def async_close(self) -> None:
        """Close every session, stop browsing (idempotent, bounded)."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        if self._groups is not None:  # the devices play on, on the timeline they last had
            await self._groups.async_close()
            self._groups = None
        await asyncio.gather(*(c.async_close() for c in self._connections.values()))
        self._connections.clear()
        if self._browse:
            await self.registry.async_close()
        self._started = False  # no HTTP client is made after this
        if self._http is not None:
            await self._http.close()
            self._http = None

    def subscribe(self, listener: Callable[[ConnectionEvent], None]) -> Callable[[], None]:
        """Call *listener* for every session event of every device; return an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    # -------------------------------------------------------------------------- devices

    async def async_add_address(self, host: str, port: int) -> DeviceEntry:
        """Add a device by address and ask it who it is; raise ConnectError if it cannot say."""
        self.registry.async_add_manual(host, port)
        info = await self.async_fetch_info(host, port)
        return self.registry.async_report_manual(host, port, _record_from_info(info, host, port))

    async def async_fetch_info(self, host: str, port: int, *, device_id: str = "") -> m.DeviceInfo:
        """GET the DeviceInfo at host:port; raise ConnectError (a subclass) saying why not.

        With *device_id*, the answer must come from that device: over TLS pinned to its id
        when it is in pin mode or we hold its credential. Without, TLS is tried first and the
        device must claim the certificate's fingerprint as its id; plain HTTP is accepted only
        from an open device we hold no credential for (UntrustedDeviceError otherwise).
        """
        if device_id:
            entry = self.registry.get(device_id)
            tls = self._needs_tls(device_id, entry.record if entry else None)
            endpoint = Endpoint(host, port, fingerprint=device_id if tls else "")
            return await _requests.async_fetch_info(self._require_http(), endpoint)
        seen = await _requests.async_peer_fingerprint(host, port, _HTTP_TIMEOUT_S)
        if seen is not None:  # async_fetch_info requires the device to claim *seen* as its id
            return await _requests.async_fetch_info(
                self._require_http(), Endpoint(host, port, fingerprint=seen)
            )
        info = await _requests.async_fetch_info(self._require_http(), Endpoint(host, port))
        if info.pairing is not m.PairingMode.OPEN:
            raise UntrustedDeviceError(f"{host}:{port} says it needs pairing but offers no TLS")
        if self.credential(info.id) is not None:
            raise UntrustedDeviceError(
                f"{info.name} ({host}:{port}) answers without TLS, but this controller paired "
                "with it: refusing to talk to it in the clear (someone may be impersonating it)"
            )
        return info

    async def async_browse(self) -> None:
        """Start browsing now, if this controller browses at all (idempotent)."""
        if self._browse:
            await self.registry.async_start()

    async def async_find(self, name_or_id: str, timeout: float) -> DeviceEntry:
        """Return the device with this id or (case-insensitive) name, waiting up to *timeout*.

        Known devices first; then, with a LastReached cache, the device where it was last
        reached, if its session opens there as that device (connect.finding); then mDNS.
        """
        return await self._finder.async_find(name_or_id, timeout)

    # -------------------------------------------------------------------------- sessions

    def connection(self, device_id: str) -> DeviceConnection:
        """Return the (started) session to a known device, creating it on first use."""
        existing = self._connections.get(device_id)
        if existing is not None and existing.stopped_by is None:
            return existing
        if existing is not None:  # it gave up (not paired, revoked): a fresh one asks again
            self._connections.pop(device_id)

        async def resolve() -> Endpoint:
            return self.endpoint(await self.registry.async_resolve(device_id))

        http = self._require_http() if self._dial is None else None
        conn = DeviceConnection(
            device_id, resolve, self.identity, http, dial=self._dial, credentials=self.credentials
        )
        conn.subscribe(self._on_event)
        self._connections[device_id] = conn
        conn.async_start()
        return conn

    def known_connection(self, device_id: str) -> DeviceConnection | None:
        """Return the session to *device_id* if one was ever made, without starting one."""
        return self._connections.get(device_id)

    async def async_connect(self, device_id: str, timeout: float = 5.0) -> DeviceConnection:
        """Return a connected session to *device_id*, or raise ConnectTimeoutError."""
        conn = self.connection(device_id)
        await conn.async_wait_connected(timeout)
        return conn

    async def async_command(
        self,
        device_id: str,
        action: m.Action,
        *,
        expected_revision: int | None = None,
        timeout: float = 5.0,
    ) -> m.CommandResult:
        """Send a command to a device (connecting first if needed) and return its result."""
        conn = await self.async_connect(device_id, timeout)
        return await conn.async_command(
            action, expected_revision=expected_revision, timeout=timeout
        )

    async def async_play_items(
        self,
        device_id: str,
        items: Sequence[m.QueueItem],
        *,
        play: bool = True,
        shuffle: bool | None = None,
        seed: int | None = None,
        timeout: float = 10.0,
    ) -> Uploaded:
        """Replace *device_id*'s queue with *items*, however many, and (with *play*) start it.

        See connect.session.queue_upload: the items go in commands of a frame each; with
        *shuffle* True the device's shared shuffle order (from *seed*, or a random one) picks
        the first. Raises QueueUploadError if the device refuses a command.
        """
        conn = await self.async_connect(device_id, timeout)
        return await async_play_items(
            conn, items, play=play, shuffle=shuffle, seed=seed, timeout=timeout
        )

    def queue_view(self, device_id: str) -> QueueView:
        """Return a live view of *device_id*'s queue (connecting if needed); `close()` it."""
        return QueueView(self.connection(device_id))

    # -------------------------------------------------------------------------- groups

    async def async_group(self, device_ids: Sequence[str], timeout: float = 5.0) -> GroupReport:
        """Play on *device_ids* in sync: the first leads a new group (it must hold a session
        with an item), or all join the group one of them plays in (connect.group.coordinator).

        Raises GroupRefusedError naming the device that cannot take part and why, with nothing
        sent; a device that refuses its join is in the report's `refused`. The groups live as
        long as this controller."""
        return await self._group_coordinator().async_group(device_ids, timeout_s=timeout)

    async def async_ungroup(self, device_id: str) -> None:
        """Take *device_id* out of its group (it fades out; the last member plays on alone)."""
        await self._group_coordinator().async_ungroup(device_id)

    async def async_leave_at(self, device_id: str, at_us: int) -> None:
        """Have group follower *device_id* fade out, silent from *at_us* (monotonic µs)."""
        await self._group_coordinator().async_leave_at(device_id, at_us)

    async def async_member_volume(self, device_id: str, volume: int, muted: bool = False) -> None:
        """Set one group member's own volume; the other members are not touched."""
        await self._group_coordinator().async_member_volume(device_id, volume, muted)

    def remember_groups(self, group_ids: Sequence[str]) -> None:
        """Take *group_ids* as groups this controller formed before it restarted: their
        members are grouped again when named, not refused as kept by another controller."""
        self._group_coordinator().remember_groups(group_ids)

    def announce_group_timeline(self, leader_id: str, timeline: m.GroupTimeline) -> None:
        """Relay *timeline* to the followers of the group *leader_id* leads here, as its own."""
        if self._groups is not None:
            self._groups.announce(leader_id, timeline)

    def groups(self) -> list[GroupView]:
        """Return the groups this controller keeps: id, leader, members (phase, name, volume)."""
        return self._groups.groups() if self._groups is not None else []

    def _group_coordinator(self) -> GroupCoordinator:
        if self._groups is None:
            from connect.group.coordinator import GroupCoordinator

            self._groups = GroupCoordinator(self)
        return self._groups

    def endpoint(self, entry: DeviceEntry) -> Endpoint:
        """Return where to reach *entry*'s session: TLS pinned to its id unless plainly open."""
        if not entry.addresses:
            raise DeviceNotFoundError(f"device {entry.id} has no known address")
        ipv4 = [a for a in entry.addresses if ":" not in a]
        ws_path = entry.record.ws_path if entry.record else Endpoint("", 0).ws_path
        tls = self._needs_tls(entry.id, entry.record)
        host = (ipv4 or list(entry.addresses))[0]
        return Endpoint(host, entry.port, ws_path, fingerprint=entry.id if tls else "")

    # -------------------------------------------------------------------------- access

    def credential(self, device_id: str) -> Credential | None:
        """Return the stored credential for *device_id*, or None; raise CredentialStoreError."""
        return self.credentials.get(device_id) if self.credentials is not None else None

    def needs_pairing(self, device_id: str) -> bool:
        """Return True when *device_id* is (or may be) in pin mode and we hold no credential."""
        entry = self.registry.get(device_id)
        record = entry.record if entry is not None else None
        open_device = record is not None and record.pairing is m.PairingMode.OPEN
        return not open_device and self.credential(device_id) is None

    async def async_pair(self, device_id: str, pin: str, role: m.Role | None = None) -> Credential:
        """Pair with *device_id* using the code it shows; store and return the credential.

        Raises WrongPinError, RateLimitedError (with `retry_after_s`), UntrustedDeviceError,
        ConnectError; on any error nothing is stored.
        """
        store = self._require_credentials()
        entry = await self.registry.async_resolve(device_id)
        label = _label(entry)
        record = entry.record
        if record and record.pairing is m.PairingMode.OPEN and not self.credential(device_id):
            raise ConnectError(f"{label} is open to everyone on this network: no pairing")
        endpoint = self._pinned_endpoint(entry)
        # Pairing again, we present the token we hold: the device replaces that token (and
        # ends its sessions) instead of adding one. It does so only for the client id the token
        # was issued to, so keep the id stable (CredentialStore.client_id).
        held = self.credential(device_id)
        body = codec.encode_pairing_request(m.PairingRequest(self.identity, pin, role))
        answer = await _requests.async_request(
            self._require_http(),
            "POST",
            endpoint,
            PAIR_PATH,
            Request.PAIR,
            label,
            body=body,
            token=held.token if held is not None else "",
        )
        granted = _read(codec.decode_pairing_response, answer, f"{label} sent a pairing answer")
        if granted.device_id != device_id or granted.certificate_sha256 not in ("", device_id):
            raise UntrustedDeviceError(f"{label} answered pairing for another device")
        credential = Credential(device_id, granted.token, granted.role, entry.name, paired_now())
        store.save(credential)
        self._finder.remember(device_id, entry.name, entry.type, endpoint)
        _LOG.info("%s: paired as %s", device_id, granted.role.name.lower())
        await self._drop_stopped(device_id)
        return credential

    async def async_list_tokens(self, device_id: str) -> tuple[m.TokenInfo, ...]:
        """Return the tokens *device_id* has issued (owner only); raise an AccessError if not."""
        answer = await self._owner_request("GET", device_id, TOKENS_PATH, Request.LIST_TOKENS)
        return _read(codec.decode_token_list, answer, f"{device_id} sent a token list").tokens

    async def async_revoke_token(self, device_id: str, token_id: str) -> None:
        """Revoke token *token_id* on *device_id* (owner only); TokenNotFoundError if unknown.

        Revoking this controller's own token also forgets the local credential.
        """
        path = f"{TOKENS_PATH}/{token_id}"
        if not token_id.isalnum():
            raise ValueError(f"not a token id: {token_id!r} (see `baton access DEVICE`)")
        await self._owner_request("DELETE", device_id, path, Request.REVOKE, token_id=token_id)
        held = self.credential(device_id)
        if held is not None and held.token_id == token_id:
            self._require_credentials().forget_token(device_id, held.token)

    async def async_pairing_code(self, device_id: str) -> str:
        """Return *device_id*'s current pairing code, for pairing another controller (owner)."""
        answer = await self._owner_request(
            "GET", device_id, PAIRING_CODE_PATH, Request.PAIRING_CODE
        )
        return _read(codec.decode_pairing_code, answer, f"{device_id} sent a pairing code").code

    async def async_rename(self, device_id: str, name: str) -> m.DeviceInfo:
        """Give *device_id* a new name (owner); return its description under that name."""
        body = codec.encode_rename_request(m.RenameRequest(name))
        answer = await self._owner_request("PUT", device_id, NAME_PATH, Request.RENAME, body=body)
        info = _read(codec.decode_device_info, answer, f"{device_id} answered a rename")
        held = self.credential(device_id)
        if held is not None:  # `baton forget NEW-NAME` must find it
            self._require_credentials().save(replace(held, device_name=info.name))
        return info

    async def async_forget(self, device_id: str) -> bool:
        """Drop the local credential for *device_id* and its session; return if there was one."""
        conn = self._connections.pop(device_id, None)
        if conn is not None:
            await conn.async_close()
        return self._require_credentials().remove(device_id)

    async def _owner_request(
        self,
        method: str,
        device_id: str,
        path: str,
        request: Request,
        token_id: str = "",
        body: bytes | None = None,
    ) -> bytes:
        entry = await self.registry.async_resolve(device_id)
        label = _label(entry)
        held = self.credential(device_id)
        if held is None:
            if entry.record is not None and entry.record.pairing is m.PairingMode.OPEN:
                raise ConnectError(f"{label} is open to everyone: it has no access to manage")
            raise NotPairedError(
                f"{label} needs pairing: run {baton_command('pair', label)}", device=label
            )
        try:
            return await _requests.async_request(
                self._require_http(),
                method,
                self._pinned_endpoint(entry),
                path,
                request,
                label,
                body=body,
                token=held.token,
                token_id=token_id,
            )
        except AccessRevokedError:
            # As a session told REVOKED does: the token is dead, keep no copy of it.
            try:
                self._require_credentials().forget_token(device_id, held.token)
            except CredentialStoreError as exc:  # the refusal raised says it all already
                _LOG.warning("%s: could not forget the revoked credential: %s", device_id, exc)
            raise

    def _pinned_endpoint(self, entry: DeviceEntry) -> Endpoint:
        return replace(self.endpoint(entry), fingerprint=entry.id)

    def _needs_tls(self, device_id: str, record: ServiceRecord | None) -> bool:
        # Unknown mode counts as pin; a credential means TLS whatever the network says now.
        if record is None or record.tls:
            return True
        return self.credential(device_id) is not None

    def _require_credentials(self) -> CredentialStore:
        if self.credentials is None:
            raise RuntimeError("this controller was made without a CredentialStore")
        return self.credentials

    async def _drop_session(self, device_id: str) -> None:
        conn = self._connections.pop(device_id, None)
        if conn is not None:
            await conn.async_close()

    async def _drop_stopped(self, device_id: str) -> None:
        conn = self._connections.get(device_id)
        if conn is not None and conn.stopped_by is not None:
            del self._connections[device_id]
            await conn.async_close()

    # -------------------------------------------------------------------------- events

    def _on_event(self, event: ConnectionEvent) -> None:
        with contextlib.suppress(DeviceNotFoundError):
            if isinstance(event, Connected):
                self.registry.async_mark_online(event.device_id)
                conn = self._connections.get(event.device_id)
                if conn is not None and conn.endpoint is not None:
                    device = event.welcome.device
                    self._finder.remember(event.device_id, device.name, device.type, conn.endpoint)
            elif isinstance(event, Disconnected):
                self.registry.async_mark_offline(
                    event.device_id, event.reason, expected=event.goodbye
                )
            elif isinstance(event, AccessDenied):  # the user is told through the event
                self.registry.async_mark_offline(event.device_id, event.message, expected=True)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # one broken subscriber must not starve the others
                _LOG.exception("controller listener failed on %s", type(event).__name__)

    def _on_hint(self, hint: ReachableHint) -> None:
        """Wake the reconnect of the device a hint names, or of every device for a network one."""
        if hint.device_id:
            found = self._connections.get(hint.device_id)
            woken = [found] if found is not None else []
        else:
            woken = list(self._connections.values())
        for conn in woken:
            conn.async_retry_now(hint.why)

    async def _poll_manual_hosts(self) -> None:
        """Re-ask every device added by address who it is, so a changed device is noticed."""
        while True:
            await asyncio.sleep(MANUAL_POLL_INTERVAL_S)
            for host, port in self.registry.manual_hosts():
                try:
                    info = await self.async_fetch_info(host, port)
                except ConnectError as exc:
                    _LOG.debug("%s:%d: %s", host, port, exc)
                    continue
                self.registry.async_report_manual(host, port, _record_from_info(info, host, port))

    def _require_http(self) -> aiohttp.ClientSession:
        """Return the HTTP client, made on first use (importing aiohttp costs ~120 ms)."""
        if self._http is None:
            if not self._started:
                raise RuntimeError("controller not started")
            import aiohttp

            # Before CPython 3.12.8 a TLS transport being closed could outlive its loop and
            # leak its socket (python/cpython#118960); aiohttp then aborts those it closed.
            connector = aiohttp.TCPConnector(enable_cleanup_closed=_TLS_CLOSE_MAY_LEAK)
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=_HTTP_TIMEOUT_S), connector=connector
            )
        return self._http


def _read(decode: Callable[[bytes], _T], answer: bytes, what: str) -> _T:
    """Decode a device's *answer*; one we cannot read is a ConnectError: "*what* we cannot read"."""
    try:
        return decode(answer)
    except FrameError as exc:
        raise ConnectError(f"{what} we cannot read: {exc}") from exc


def _label(entry: DeviceEntry) -> str:
    """Return the name a user knows *entry* by (its id when it has no name yet)."""
    return entry.name if entry.name and not entry.id.startswith("manual:") else entry.id


def _record_from_info(info: m.DeviceInfo, host: str, port: int) -> ServiceRecord:
    return ServiceRecord(
        name=info.name,
        id=info.id,
        type=info.type,
        model=info.model,
        ws_path=info.ws_path,
        revision=info.revision,
        pairing=info.pairing,
        addresses=(host,),
        port=port,
    )
