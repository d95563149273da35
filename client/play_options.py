"""`baton play`'s options for local files, and whether a run needs them (imports nothing heavy).

Building the parser must stay cheap for every `baton` command, so the serving code itself
(client/play_local.py: tags, the media server) is imported only when `baton play` runs with
local files.
"""

from __future__ import annotations

import argparse


def add_play_options(parser: argparse.ArgumentParser) -> None:
    """Add `baton play`'s options for local files to its parser."""
    parser.add_argument(
        "--serve",
        action="store_true",
        help="keep serving local files until Ctrl-C, also after the queue ends or moves to "
        "another device (the music stops when serving stops)",
    )
    parser.add_argument(
        "--from", dest="from_file", metavar="FILE",
        help="also what FILE lists, one a line: URLs or local paths (an M3U playlist works; "
        "- reads standard input)",
    )  # fmt: skip
    parser.add_argument(
        "--shuffle",
        action="store_true",
        help="shuffle all: the device's shuffle order, which every controller and a transfer "
        "target share, picks the first track",
    )


def is_url(text: str) -> bool:
    """Return whether a `baton play` argument is meant as a URL rather than a local path."""
    return "://" in text


def wants_local_play(args: argparse.Namespace) -> bool:
    """Return whether `baton play` runs client/play_local.py: paths to serve, or --serve."""
    return bool(args.serve) or not all(is_url(text) for text in args.urls)
