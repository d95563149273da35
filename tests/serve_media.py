"""Serve a folder over HTTP with Range support until killed: `python -m tests.serve_media`.

For tests that need media on another host (a network namespace): prints `serving PORT` once
it listens, so the test can build URLs.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from tests.media_server import MediaServer


async def _serve(root: Path, host: str) -> None:
    async with MediaServer(root, host) as server:
        print(f"serving {server.port}", flush=True)
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
