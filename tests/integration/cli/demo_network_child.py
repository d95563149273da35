"""Run by test_demo_network.py: enter the demo's private network as `baton demo` does; on a
port inside it, answer what a client sent once it stopped sending; relay the viewer's
host-side socket there; print the ports and the namespace's links as one JSON line, and stay
until stdin closes. If it could not enter, print why and the namespace it is in."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from client.demo_netns import PrivateNetwork, ViewerRelay, enter_private_network


def main() -> int:
    """Enter the private network (first, before any thread), then serve until stdin closes."""
    network, why_not = enter_private_network(windowed=False)
    if network is None:
        netns = Path("/proc/self/ns/net").stat().st_ino  # which namespace it ended up in
        print(json.dumps({"why_not": why_not, "netns": netns}), flush=True)
        return 1
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True)
    asyncio.run(_serve(network, links.stdout))
    return 0


async def _serve(network: PrivateNetwork, links: str) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"inside: " + await reader.read())  # all the client sent, to its end
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = int(server.sockets[0].getsockname()[1])
    relay = ViewerRelay(network.viewer_socket, port)
    await relay.async_start()
    print(
        json.dumps({"viewer": network.viewer_port, "inside": port, "links": links}),
        flush=True,
    )
    await asyncio.to_thread(sys.stdin.read)  # until the test closes our stdin
    await relay.async_close()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    sys.exit(main())
