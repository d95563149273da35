"""Raw HTTP/1.1 over a loopback socket: for requests no well-behaved client library would send."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

TIMEOUT_S = 10.0


@dataclass(frozen=True)
class RawResponse:
    """A parsed response: status code, lower-cased headers and the body."""

    status: int
    headers: dict[str, str]
    body: bytes


async def exchange(port: int, head: str, body: bytes = b"") -> RawResponse:
    """Send *head* (request line and headers, no blank line) and *body*; read one response.

    The response is read by its Content-Length, not to EOF, so a server that answers before
    reading a declared body is seen answering, without waiting for it to give up on the body.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode("latin-1") + b"\r\n\r\n" + body)
        await writer.drain()
        return await asyncio.wait_for(read_response(reader), TIMEOUT_S)
    finally:
        writer.close()


async def read_response(reader: asyncio.StreamReader) -> RawResponse:
    """Read one response with a Content-Length body from *reader*."""
    raw_head = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = raw_head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return RawResponse(int(status_line.split()[1]), headers, body)


def get(path: str, *extra_headers: str) -> str:
    """Return the head of a GET of *path* (sent as is) that closes the connection after."""
    return "\r\n".join(
        [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", *extra_headers]
    )
