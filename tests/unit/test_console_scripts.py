"""The console scripts are installed and answer --help and --version."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from connect.cli_common import baton_version

BIN = Path(sys.executable).parent


@pytest.mark.parametrize("script", ["baton", "baton-receiver", "baton-traces", "baton-bridge"])
def test_script_answers_help(script: str) -> None:
    result = subprocess.run(
        [BIN / script, "--help"], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.startswith(f"usage: {script}")


@pytest.mark.parametrize("script", ["baton", "baton-receiver", "baton-traces", "baton-bridge"])
def test_script_answers_version(script: str) -> None:
    result = subprocess.run(
        [BIN / script, "--version"], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == f"{script} {baton_version()}"
