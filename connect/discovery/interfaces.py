"""This host's network interfaces, and the choice of those mDNS advertises and listens on.

Advertising the wrong addresses is the most reported receiver problem (librespot#486: docker
bridges and 169.254 addresses in the A records; music-assistant/support#5684: the container's
address instead of the LAN's). So Baton never lets zeroconf pick "all interfaces": it passes an
explicit list, chosen here, and publishes only the addresses of that list.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from connect.errors import ConnectError

if TYPE_CHECKING:
    import ifaddr

_LOGGER = logging.getLogger(__name__)

__all__ = [
    "EXCLUDED_NAME_PREFIXES",
    "NetworkInterface",
    "NoUsableInterfaceError",
    "UnknownInterfaceError",
    "advertised_addresses",
    "choose_default_interfaces",
    "describe_interfaces",
    "is_excluded_by_default",
    "is_link_local",
    "list_interfaces",
    "resolve_interfaces",
    "resolve_present_interfaces",
    "zeroconf_interfaces",
]

# Interfaces left out of the default choice, by name prefix. Each is a link that is not the LAN
# where a listener's controller lives; naming one in `--interface` still selects it.
EXCLUDED_NAME_PREFIXES: tuple[str, ...] = (
    "docker",  # Docker's default bridge (docker0)
    "br-",  # Docker user-defined networks (br-<12 hex>); a plain "br0" is often the real LAN
    "veth",  # one end of a container's veth pair
    "virbr",  # libvirt NAT bridges
    "vnet",  # libvirt guest taps
    "lxcbr",  # LXC bridge
    "lxdbr",  # LXD bridge
    "podman",  # Podman's CNI/netavark bridge
    "cni",  # Kubernetes CNI bridges (cni0)
    "flannel",  # k3s/flannel overlay (flannel.1)
    "cali",  # Calico pod interfaces
    "cilium",  # Cilium host/overlay interfaces
    "weave",  # Weave Net overlay
    "kube-",  # kube-ipvs0, kube-bridge
    "vxlan",  # overlay tunnels
    "tun",  # VPN tunnels (OpenVPN); a VPN's far side is not the local network
    "tap",  # VPN taps and VM taps
    "wg",  # WireGuard (raspotify#547: AllowedIPs=0.0.0.0/0 broke registration)
    "tailscale",  # Tailscale
    "zt",  # ZeroTier
    "ham",  # LogMeIn Hamachi
    "utun",  # macOS/BSD userland tunnels
    "ppp",  # point-to-point uplinks (cellular, PPPoE): no mDNS peers there
    "awdl",  # Apple Wireless Direct Link
    "llw",  # Apple low-latency WLAN
    "dummy",  # dummy interfaces carry no peers
    "sit",  # IPv6-in-IPv4 tunnels
    "gre",  # GRE tunnels
    "ip6tnl",  # IPv6 tunnels
    "ifb",  # intermediate functional blocks (traffic shaping), never addressed
)

# Loopback by exact pattern, not prefix, so that e.g. a 6LoWPAN "lowpan0" is not caught;
# loopback addresses on any interface are also dropped by value.
_LOOPBACK_NAME = re.compile(r"lo\d*")
_LINK_LOCAL_V4 = ipaddress.ip_network("169.254.0.0/16")
_LINK_LOCAL_V6 = ipaddress.ip_network("fe80::/10")


@dataclass(frozen=True)
class NetworkInterface:
    """One interface of this host and its addresses (IPv6 without the %scope suffix)."""

    name: str
    index: int | None
    ipv4: tuple[str, ...] = ()
    ipv6: tuple[str, ...] = ()

    @property
    def addresses(self) -> tuple[str, ...]:
        """Every address of the interface, IPv4 first."""
        return self.ipv4 + self.ipv6


class UnknownInterfaceError(ConnectError, LookupError):
    """An `--interface` value names no interface or address of this host."""

    def __init__(self, wanted: str, known: Iterable[NetworkInterface]) -> None:
        self.wanted = wanted
        self.known = tuple(known)
        super().__init__(
            f"no interface or address {wanted!r} on this host; present: "
            f"{describe_interfaces(self.known)}; name one of them with --interface"
        )


class NoUsableInterfaceError(ConnectError, OSError):
    """No interface is left to listen on (none named, and the default choice found none)."""

    @classmethod
    def default_found_none(
        cls, doing: str, present: Iterable[NetworkInterface]
    ) -> NoUsableInterfaceError:
        """Return the error for a default choice that found nothing to *doing* (a verb phrase)."""
        known = tuple(present)
        example = f", e.g. --interface {known[0].name}" if known else ""
        return cls(
            f"no network interface to {doing}: by default loopback, link-local and virtual "
            f"interfaces are left out, and this host has only: {describe_interfaces(known)}; "
            f"name one with --interface{example}"
        )


def describe_interfaces(interfaces: Iterable[NetworkInterface]) -> str:
    """Return "lo (127.0.0.1 ::1), eth0 (192.168.1.20)": the interfaces for a message."""
    listing = ", ".join(f"{i.name} ({' '.join(i.addresses) or 'no address'})" for i in interfaces)
    return listing or "none"


def list_interfaces() -> tuple[NetworkInterface, ...]:
    """Return this host's interfaces with their addresses, as the OS reports them now."""
    import ifaddr  # here: a controller that never browses never asks (~5 ms of start-up)

    return tuple(_from_adapter(a) for a in ifaddr.get_adapters())


def is_link_local(address: str) -> bool:
    """Whether *address* is IPv4 (169.254/16) or IPv6 (fe80::/10) link-local."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return ip in (_LINK_LOCAL_V4 if ip.version == 4 else _LINK_LOCAL_V6)


def is_excluded_by_default(name: str) -> bool:
    """Whether an interface of this name is left out of the default choice."""
    return bool(_LOOPBACK_NAME.fullmatch(name)) or name.startswith(EXCLUDED_NAME_PREFIXES)


def choose_default_interfaces(
    interfaces: Iterable[NetworkInterface],
) -> tuple[NetworkInterface, ...]:
    """Return the interfaces to advertise and listen on when none is named, with usable addresses.

    Drops interfaces excluded by name, loopback and link-local addresses, and interfaces left
    with no address at all.
    """
    chosen = []
    for iface in interfaces:
        if is_excluded_by_default(iface.name):
            continue
        kept = replace(
            iface,
            ipv4=tuple(a for a in iface.ipv4 if _is_routable(a)),
            ipv6=tuple(a for a in iface.ipv6 if _is_routable(a)),
        )
        if kept.addresses:
            chosen.append(kept)
    return tuple(chosen)


def resolve_interfaces(
    wanted: Sequence[str],
    interfaces: Iterable[NetworkInterface] | None = None,
) -> tuple[NetworkInterface, ...]:
    """Resolve `--interface` values (names like `eth0`, or addresses) into interfaces.

    A name selects the addresses of that interface, loopback and IPv4 link-local included,
    because the user asked for them (a car head unit on a direct cable may only have a 169.254
    address); IPv6 link-local (fe80::) is left out unless the interface has nothing else, as
    it is useless to a peer without a scope id. An address selects that address alone. An
    empty *wanted* means the default choice.
    Raises UnknownInterfaceError, listing the known interfaces, for a value that matches none.
    """
    known = list_interfaces() if interfaces is None else tuple(interfaces)
    if not wanted:
        return choose_default_interfaces(known)
    by_name = {i.name: i for i in known}
    chosen: list[NetworkInterface] = []
    for value in wanted:
        iface = _without_v6_link_local(by_name[value]) if value in by_name else None
        iface = iface or _restrict_to_address(value, known)
        if iface is None:
            raise UnknownInterfaceError(value, known)
        if iface not in chosen:
            chosen.append(iface)
    return tuple(chosen)


def resolve_present_interfaces(
    wanted: Sequence[str], interfaces: Iterable[NetworkInterface]
) -> tuple[NetworkInterface, ...]:
    """Resolve the `--interface` values that exist now, skipping vanished ones (never raises)."""
    known = tuple(interfaces)
    found: list[NetworkInterface] = []
    for value in wanted:
        with contextlib.suppress(UnknownInterfaceError):
            found.extend(i for i in resolve_interfaces([value], known) if i not in found)
    return tuple(found)


async def async_poll_interfaces(
    wanted: Sequence[str],
    source: Callable[[], tuple[NetworkInterface, ...]],
    interval_s: float,
    who: str,
) -> AsyncIterator[tuple[NetworkInterface, ...]]:
    """Yield the wanted interfaces as they are now, every *interval_s* seconds, forever.

    A named interface that went away (Wi-Fi dropped) is left out and logged, once at warning
    and then at debug, so a flapping link does not flood the log; the others are kept.
    """
    warned = False
    while True:
        await asyncio.sleep(interval_s)  # a polling timer: the caller cancels it on close
        known = source()
        try:
            interfaces = resolve_interfaces(wanted, known)
        except UnknownInterfaceError as exc:
            _LOGGER.log(logging.DEBUG if warned else logging.WARNING, "%s: %s", who, exc)
            warned = True
            interfaces = resolve_present_interfaces(wanted, known)
        yield interfaces


def advertised_addresses(interfaces: Iterable[NetworkInterface]) -> tuple[str, ...]:
    """Return the addresses to publish in A/AAAA records, IPv4 first, without duplicates."""
    ordered = [a for i in interfaces for a in i.ipv4] + [a for i in interfaces for a in i.ipv6]
    return tuple(dict.fromkeys(ordered))


def zeroconf_interfaces(interfaces: Iterable[NetworkInterface]) -> list[str]:
    """Return the explicit `interfaces=` list for zeroconf: IPv4 addresses, then IPv6 ones.

    zeroconf joins IPv6 multicast by interface index and looks the index up from the address;
    it cannot listen on `::1`, so loopback IPv6 is left out.
    """
    return [a for a in advertised_addresses(interfaces) if a != "::1"]


def _is_routable(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return not (ip.is_loopback or is_link_local(address) or ip.is_unspecified)


def _without_v6_link_local(iface: NetworkInterface) -> NetworkInterface:
    kept = tuple(a for a in iface.ipv6 if not is_link_local(a))
    return iface if not (kept or iface.ipv4) else replace(iface, ipv6=kept)


def _restrict_to_address(value: str, known: Iterable[NetworkInterface]) -> NetworkInterface | None:
    try:
        wanted = ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return None
    for iface in known:
        for addr in iface.addresses:
            if ipaddress.ip_address(addr) == wanted:
                v4 = (addr,) if wanted.version == 4 else ()
                return replace(iface, ipv4=v4, ipv6=() if v4 else (addr,))
    return None


def _from_adapter(adapter: ifaddr.Adapter) -> NetworkInterface:
    ipv4: list[str] = []
    ipv6: list[str] = []
    for ip in adapter.ips:
        if isinstance(ip.ip, tuple):  # ifaddr gives IPv6 as (address, flowinfo, scope_id)
            ipv6.append(ip.ip[0].split("%", 1)[0])
        else:
            ipv4.append(ip.ip)
    return NetworkInterface(
        name=adapter.name, index=adapter.index, ipv4=tuple(ipv4), ipv6=tuple(ipv6)
    )
