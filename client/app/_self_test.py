"""The multicast self-test of the "Can't see your device?" panel: does a datagram come back."""

from __future__ import annotations

import socket
import time
import uuid

SELF_TEST_GROUP = "239.255.66.77"  # administratively scoped: never leaves the site


def multicast_self_test(interface_address: str, timeout_s: float = 1.0) -> tuple[bool, str]:
    """Send one multicast datagram on *interface_address* and check it comes back (loopback)."""
    token = uuid.uuid4().bytes
    try:
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx,
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx,
        ):
            rx.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            rx.bind(("", 0))
            port = rx.getsockname()[1]
            membership = socket.inet_aton(SELF_TEST_GROUP) + socket.inet_aton(interface_address)
            rx.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
            rx.settimeout(timeout_s)
            tx.setsockopt(
                socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface_address)
            )
            tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
            tx.sendto(token, (SELF_TEST_GROUP, port))
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                data, _ = rx.recvfrom(64)
                if data == token:
                    return True, f"multicast works on {interface_address}"
    except TimeoutError:
        pass
    except OSError as exc:
        return False, f"multicast failed on {interface_address}: {exc.strerror or exc}"
    return False, f"no multicast came back on {interface_address} (a firewall or the network?)"
