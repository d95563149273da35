"""Where the music is served: the addresses receivers reach, and the one facing each receiver.

The app serves on loopback (for "This computer") and on the addresses of the interfaces it
uses (`--interface`, Settings, else the default choice of connect.discovery.interfaces); a
URL given to a receiver names the address on the route to that receiver. `baton play` serves
on that one address alone.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable, Sequence

from connect.discovery.interfaces import (
    NetworkInterface,
    UnknownInterfaceError,
    is_link_local,
    list_interfaces,
    resolve_interfaces,
    resolve_present_interfaces,
)

_LOG = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


def served_addresses(
    wanted: Sequence[str], interfaces: Iterable[NetworkInterface] | None = None
) -> tuple[str, ...]:
    """Return loopback, then the addresses of the interfaces *wanted* names (empty: the default).

    A named interface that is missing now is left out (logged): the rest still serve. IPv6
    link-local addresses are left out too: they cannot be bound, or reached, without a scope.
    """
    known = list_interfaces() if interfaces is None else tuple(interfaces)
    try:
        chosen = resolve_interfaces(wanted, known)
    except UnknownInterfaceError as exc:
        _LOG.warning("serving the music without it: %s", exc)
        chosen = resolve_present_interfaces(wanted, known)
    found = [a for iface in chosen for a in iface.addresses if not _scoped(a)]
    return tuple(dict.fromkeys([LOOPBACK, *found]))


def local_address_towards(peer: str) -> str:
    """Return this host's address on the route to *peer* (no packet is sent)."""
    if _is_loopback(peer):
        return LOOPBACK
    family = socket.AF_INET6 if ":" in peer else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((peer, 9))  # a UDP connect only picks the route
            return str(probe.getsockname()[0]).split("%", 1)[0]
    except OSError:
        return LOOPBACK


def address_facing(peer: str, served: Sequence[str]) -> str:
    """Return the address among *served* that *peer* should fetch the music from.

    The address on the route to *peer* when it is served; else (the route leaves by an
    interface the listener left out) the first served address of the same family that is not
    loopback, which a routed network may still carry; else the first served address.
    """
    towards = local_address_towards(peer)
    if towards in served:
        return towards
    v6 = ":" in towards
    others = [a for a in served if (":" in a) == v6 and not _is_loopback(a)]
    _LOG.debug("%s is reached from %s, which is not served; using %s", peer, towards, others)
    return others[0] if others else served[0]


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return address == "localhost"


def _scoped(address: str) -> bool:
    return ":" in address and is_link_local(address)
