"""The default interface choice and `--interface` resolution, on fabricated interface lists."""

from __future__ import annotations

import pytest

from connect.discovery.interfaces import (
    NetworkInterface,
    UnknownInterfaceError,
    advertised_addresses,
    choose_default_interfaces,
    is_link_local,
    resolve_interfaces,
    zeroconf_interfaces,
)
from connect.errors import ConnectError

LO = NetworkInterface("lo", 1, ("127.0.0.1",), ("::1",))
ETH = NetworkInterface("eth0", 2, ("192.168.1.20",), ("2001:db8::20", "fe80::1"))
WLAN = NetworkInterface("wlan0", 3, ("192.168.1.21",), ("fe80::2",))
DOCKER = NetworkInterface("docker0", 4, ("172.17.0.1",), ("fe80::42",))
DOCKER_NET = NetworkInterface("br-3f2a9c1b7d4e", 5, ("172.18.0.1",))
VETH = NetworkInterface("veth1a2b3c", 6, (), ("fe80::9",))
WG = NetworkInterface("wg0", 7, ("10.8.0.2",))
TAILSCALE = NetworkInterface("tailscale0", 8, ("100.64.0.7",), ("fd7a:115c:a1e0::7",))
AUTOIP = NetworkInterface("eth1", 9, ("169.254.10.20",), ("fe80::3",))
BR0 = NetworkInterface("br0", 10, ("192.168.1.30",))
LOWPAN = NetworkInterface("lowpan0", 11, (), ("2001:db8:1::5",))

# What a Raspberry Pi running Docker and a VPN typically shows.
PI = (LO, ETH, WLAN, DOCKER, DOCKER_NET, VETH, WG, TAILSCALE, AUTOIP)


def test_default_keeps_only_lan_interfaces_and_their_routable_addresses():
    chosen = choose_default_interfaces(PI)
    assert chosen == (
        NetworkInterface("eth0", 2, ("192.168.1.20",), ("2001:db8::20",)),
        NetworkInterface("wlan0", 3, ("192.168.1.21",), ()),
    )
    assert advertised_addresses(chosen) == ("192.168.1.20", "192.168.1.21", "2001:db8::20")


@pytest.mark.parametrize("iface", [LO, DOCKER, DOCKER_NET, VETH, WG, TAILSCALE])
def test_default_excludes_loopback_containers_and_vpns(iface):
    assert choose_default_interfaces([iface]) == ()


def test_default_drops_an_interface_with_only_link_local_addresses():
    assert choose_default_interfaces([AUTOIP]) == ()


def test_default_keeps_a_plain_bridge_and_names_that_merely_start_with_lo():
    # br0 is often the LAN on a Pi acting as access point; only Docker's br-<hex> is excluded.
    assert choose_default_interfaces([BR0, LOWPAN]) == (BR0, LOWPAN)


def test_default_drops_loopback_addresses_on_any_interface():
    odd = NetworkInterface("eth0", 2, ("127.0.0.2", "192.168.1.20"))
    assert choose_default_interfaces([odd]) == (NetworkInterface("eth0", 2, ("192.168.1.20",)),)


def test_default_of_loopback_only_host_is_empty():
    # A fresh network namespace: nothing to advertise on unless `lo` is named explicitly.
    # (An explicit fe80:: address, by contrast, is honoured: see the address tests.)
    assert choose_default_interfaces([LO]) == ()


def test_explicit_names_select_excluded_interfaces_and_ipv4_link_local():
    assert resolve_interfaces(["lo", "eth1"], PI) == (
        LO,
        NetworkInterface("eth1", 9, ("169.254.10.20",), ()),
    )


def test_explicit_names_keep_ipv6_link_local_only_when_nothing_else_is_there():
    assert resolve_interfaces(["veth1a2b3c"], PI) == (VETH,)
    assert resolve_interfaces(["eth0"], PI) == (
        NetworkInterface("eth0", 2, ("192.168.1.20",), ("2001:db8::20",)),
    )


def test_explicit_address_selects_that_address_alone():
    assert resolve_interfaces(["192.168.1.20"], PI) == (
        NetworkInterface("eth0", 2, ("192.168.1.20",), ()),
    )
    assert resolve_interfaces(["2001:db8::20"], PI) == (
        NetworkInterface("eth0", 2, (), ("2001:db8::20",)),
    )


def test_explicit_duplicates_are_collapsed():
    assert resolve_interfaces(["wlan0", "wlan0"], PI) == (
        NetworkInterface("wlan0", 3, ("192.168.1.21",), ()),
    )


def test_empty_request_means_the_default_choice():
    assert resolve_interfaces([], PI) == choose_default_interfaces(PI)


@pytest.mark.parametrize("wanted", ["eth9", "10.0.0.1", "not an address"])
def test_unknown_name_or_address_is_a_typed_error_listing_known_interfaces(wanted):
    with pytest.raises(UnknownInterfaceError) as caught:
        resolve_interfaces([wanted], [LO, ETH])
    err = caught.value
    assert isinstance(err, ConnectError)
    assert isinstance(err, LookupError)
    assert err.wanted == wanted
    assert err.known == (LO, ETH)
    assert "lo (127.0.0.1 ::1)" in str(err)
    assert "eth0 (192.168.1.20 2001:db8::20 fe80::1)" in str(err)


def test_zeroconf_list_leaves_out_ipv6_loopback():
    assert zeroconf_interfaces([LO]) == ["127.0.0.1"]
    assert zeroconf_interfaces([ETH]) == ["192.168.1.20", "2001:db8::20", "fe80::1"]


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("169.254.0.1", True),
        ("169.255.0.1", False),
        ("fe80::1", True),
        ("fe80::1%eth0", True),
        ("febf::1", True),
        ("fec0::1", False),
        ("192.168.1.1", False),
    ],
)
def test_link_local(address, expected):
    assert is_link_local(address) is expected


def test_explicit_ipv6_link_local_address_is_honoured():
    assert resolve_interfaces(["fe80::1"], PI) == (NetworkInterface("eth0", 2, (), ("fe80::1",)),)
