"""Each controller program on each host traces as its own, stable lifeline (client/lifeline.py)."""

from __future__ import annotations

import pytest

from client.lifeline import controller_lifeline


def test_the_app_and_the_cli_are_two_lifelines_named_with_their_host():
    app_id, app_name = controller_lifeline("app", "sofa", "/home/ann/.config/baton")
    cli_id, cli_name = controller_lifeline("cli", "sofa", "/home/ann/.config/baton")
    assert app_id != cli_id
    assert (app_name, cli_name) == ("Baton app on sofa", "baton CLI on sofa")
    assert app_id.startswith("ctl-app-")
    assert cli_id.startswith("ctl-cli-")


def test_a_lifeline_is_the_same_on_every_run_and_differs_by_host_and_user():
    once = controller_lifeline("cli", "sofa", "/home/ann/.config/baton")
    assert controller_lifeline("cli", "sofa", "/home/ann/.config/baton") == once
    assert controller_lifeline("cli", "desk", "/home/ann/.config/baton")[0] != once[0]
    assert controller_lifeline("cli", "sofa", "/home/bob/.config/baton")[0] != once[0]


def test_it_defaults_to_this_host_and_the_configuration_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("BATON_CONFIG_DIR", str(tmp_path))
    here = controller_lifeline("app")
    monkeypatch.setenv("BATON_CONFIG_DIR", str(tmp_path / "other"))
    assert controller_lifeline("app")[0] != here[0]
    assert here[1].startswith("Baton app on ")


def test_an_unknown_program_is_refused():
    with pytest.raises(ValueError, match="program must be one of"):
        controller_lifeline("daemon")
