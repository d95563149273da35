"""The albums played last on this TV, newest first, kept across starts (the home's first row)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from connect.atomic import write_atomically

if TYPE_CHECKING:
    from client.app.library import Album

_LOG = logging.getLogger(__name__)

KEEP = 12


class RecentAlbums:
    """Album keys in a small JSON file; a missing or damaged file is an empty history."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.keys: list[str] = self._load()

    def played(self, album: Album) -> None:
        """Put *album* first and save (a failed save is logged; the row still updates)."""
        self.keys = [album.key, *(k for k in self.keys if k != album.key)][:KEEP]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self.path, json.dumps(self.keys).encode())
        except OSError as exc:
            _LOG.warning("cannot save the recently played albums to %s: %s", self.path, exc)

    def albums(self, known: Sequence[Album]) -> list[Album]:
        """Return the recent albums still in the library, newest first."""
        by_key = {a.key: a for a in known}
        return [by_key[k] for k in self.keys if k in by_key]

    def _load(self) -> list[str]:
        try:
            data = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:  # unreadable or not JSON: start afresh
            _LOG.warning("ignoring %s: %s", self.path, exc)
            return []
        if not isinstance(data, list):
            return []
        return [k for k in data if isinstance(k, str)][:KEEP]
