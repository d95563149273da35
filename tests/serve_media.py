"""Serve a folder over HTTP with Range support until killed: `python -m tests.serve_media`.

For tests that need media on another host (a network namespace): prints one line once it
listens, `serving PORT URLS`, URLS a JSON object mapping each file's path in the folder (as it
is at start) to its URL, capability token included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from tests.media_server import MediaServer


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


async def _serve(root: Path, host: str) -> None:
    files = _files(root)
    async with MediaServer(root, host) as server:
        urls = {name: server.url(name) for name in files}
        print(f"serving {server.port} {json.dumps(urls)}", flush=True)
        await asyncio.Event().wait()  # until the test kills the process


def main() -> None:
    """Parse arguments and serve."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    asyncio.run(_serve(args.root, args.host))


if __name__ == "__main__":
    main()


def read_urls(line: str) -> dict[str, str]:
    """Return the URLs from serve_media's `serving PORT URLS` line."""
    if not line.startswith("serving "):
        raise ValueError(f"not a serving line: {line!r}")
    urls: dict[str, str] = json.loads(line.split(" ", 2)[2])
    return urls
