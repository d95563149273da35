"""Relay mDNS between two network namespaces through an impaired link: delay and loss.

The namespaces have no link of their own, so multicast cannot cross; this relay is the only
way: one UDP socket on port 5353 in each namespace, joined to 224.0.0.251 on that namespace's
loopback, and every packet one of them receives is sent, once its release instant has come
(`profile.Schedule`: delay, jitter, spikes and stalls, but no bandwidth cap or ordering for
datagrams) and unless dropped, as multicast from port 5353 on the other side.

Multicast loops back to the relay's own socket (it must, or the devices on that side would
not hear what the relay sends), so each side remembers what it just sent and does not send
it back: a packet received on a side within ECHO_S of being sent there with the same bytes
is the relay's own.
"""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from tests.impairment.profile import Profile, Schedule

MDNS_GROUP = "224.0.0.251"
MDNS_PORT = 5353
ECHO_S = 2.0


@dataclass
class MdnsStats:
    """Packets relayed and dropped, both directions."""

    relayed: int = 0
    dropped: int = 0


def mdns_socket(
    make: Callable[[int, int], socket.socket], address: str = "127.0.0.1"
) -> socket.socket:
    """Return a non-blocking UDP socket on 5353 joined to the mDNS group on *address*.

    *make* creates the socket (in the right namespace); it shares the port with the devices'
    own responders (SO_REUSEADDR and SO_REUSEPORT, as zeroconf sets them).
    """
    sock = make(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("", MDNS_PORT))
    group = socket.inet_aton(MDNS_GROUP) + socket.inet_aton(address)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, group)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(address))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
    sock.setblocking(False)
    return sock


class MdnsRelay:
    """Relays between two mdns_socket()s until cancelled."""

    def __init__(
        self,
        left: socket.socket,
        right: socket.socket,
        profile: Profile,
        origin: float,
        seed: int = 2,
    ) -> None:
        self._socks = (left, right)
        self._profile = profile
        self._origin = origin
        self._rng = random.Random(seed)
        self._sent: tuple[deque[tuple[float, bytes]], deque[tuple[float, bytes]]] = (
            deque(),
            deque(),
        )
        self.stats = MdnsStats()

    async def run(self) -> None:
        """Relay both ways, forever."""
        await asyncio.gather(self._direction(0), self._direction(1))

    async def _direction(self, side: int) -> None:
        loop = asyncio.get_running_loop()
        source, sink = self._socks[side], self._socks[1 - side]
        schedule = Schedule(self._profile, self._origin, random.Random(self._rng.random()))
        while True:
            data = await loop.sock_recv(source, 9000)
            if self._own(side, data):
                continue
            if schedule.dropped():
                self.stats.dropped += 1
                continue
            at = schedule.release_at(loop.time(), 0, ordered=False)
            loop.call_at(at, self._send, 1 - side, sink, data)

    def _send(self, side: int, sink: socket.socket, data: bytes) -> None:
        self._sent[side].append((time.monotonic(), data))
        try:
            sink.sendto(data, (MDNS_GROUP, MDNS_PORT))
        except OSError:
            self.stats.dropped += 1  # a full buffer: lost, as on the air
            return
        self.stats.relayed += 1

    def _own(self, side: int, data: bytes) -> bool:
        """Return whether *data*, received on *side*, is what the relay itself sent there."""
        sent = self._sent[side]
        now = time.monotonic()
        while sent and now - sent[0][0] > ECHO_S:
            sent.popleft()
        for i, (_at, payload) in enumerate(sent):
            if payload == data:
                del sent[i]
                return True
        return False
