"""Waiting for a network address at boot, instead of ordering the service after the network.

A receiver started by systemd at boot often comes up before Wi-Fi has associated or DHCP
has answered. Rather than fail (and be restarted in a loop) or depend on
network-online.target (which some images never reach), it polls the interfaces it would use
and returns as soon as one has a usable address, so it advertises within a poll interval of
the network appearing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from connect.discovery.interfaces import (
    NetworkInterface,
    advertised_addresses,
    choose_default_interfaces,
    list_interfaces,
    resolve_present_interfaces,
)

_LOG = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.5


def usable_addresses(
    wanted: Sequence[str], interfaces: Sequence[NetworkInterface]
) -> tuple[str, ...]:
    """Return the addresses the receiver would advertise now (empty: none yet)."""
    if wanted:
        return advertised_addresses(resolve_present_interfaces(wanted, interfaces))
    return advertised_addresses(choose_default_interfaces(interfaces))


async def async_wait_for_address(
    wanted: Sequence[str],
    *,
    on_waiting: Callable[[], None] = lambda: None,
    list_now: Callable[[], tuple[NetworkInterface, ...]] = list_interfaces,
    poll_interval_s: float = POLL_INTERVAL_S,
) -> tuple[str, ...]:
    """Return the usable addresses as soon as there are some; call *on_waiting* meanwhile."""
    logged = False
    while True:
        interfaces = list_now()
        found = usable_addresses(wanted, interfaces)
        if found:
            if logged:
                _LOG.info("network address available: %s", ", ".join(found))
            return found
        if not logged:
            names = ", ".join(i.name for i in interfaces) or "none"
            which = ", ".join(wanted) if wanted else "any suitable interface"
            _LOG.warning("waiting for a network address on %s (interfaces now: %s)", which, names)
            logged = True
        on_waiting()
        await asyncio.sleep(poll_interval_s)
