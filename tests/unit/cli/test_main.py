"""`baton` run in-process (as tests and embedders do) leaves the process as it found it."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from client.cli import main


@pytest.mark.parametrize("enabled", [True, False])
def test_the_callers_garbage_collection_setting_is_restored(
    enabled: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_CONFIG_DIR", str(tmp_path))
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        with pytest.raises(SystemExit):
            main(["status", "--help"])
        assert main(["forget", "Nowhere"]) == 1
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
