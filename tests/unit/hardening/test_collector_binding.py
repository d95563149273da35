"""`baton-traces serve` binds loopback unless told otherwise, and warns when told otherwise."""

from __future__ import annotations

import pytest

from tracing.cli import build_parser, exposure_warning
from tracing.collector import CollectorConfig


def test_serve_binds_loopback_by_default(tmp_path):
    assert build_parser().parse_args(["serve"]).host == "127.0.0.1"
    assert CollectorConfig(db=tmp_path / "t.db").host == "127.0.0.1"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_hosts_need_no_warning(host: str):
    assert exposure_warning(host) == ""


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "collector.lan"])
def test_other_hosts_are_warned_about(host: str):
    assert "tokens cross the network in clear" in exposure_warning(host)
    assert "anyone who can reach it may send" in exposure_warning(host, open_ingest=True)
