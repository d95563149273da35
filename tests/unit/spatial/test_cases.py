"""The data-driven acceptance suite: every JSON case, under every policy that claims it."""

from __future__ import annotations

from typing import Any

import pytest

from client.spatial import Policy
from tests.unit.spatial.casefiles import CASES_DIR, load, run_case

FILES = sorted(p.name for p in CASES_DIR.glob("*.json"))


def _claims() -> list[Any]:
    params = []
    for name in FILES:
        for case in load(name):
            for policy in case["policies"]:
                params.append(pytest.param(case, Policy(policy), id=f"{case['id']}[{policy}]"))
    return params


@pytest.mark.parametrize(("case", "policy"), _claims())
def test_case(case: dict[str, Any], policy: Policy) -> None:
    run_case(case, policy)


@pytest.mark.parametrize("name", FILES)
def test_every_case_names_its_source_and_a_policy(name: str) -> None:
    for case in load(name):
        assert case["source"], case["id"]
        assert case["policies"], case["id"]


def test_android_claims_every_aosp_assertion() -> None:
    cases = load("aosp_focusfinder.json")
    assert len(cases) == 67
    assert all("android" in c["policies"] for c in cases)


def test_wicg_claims_every_transcribed_ux_layout() -> None:
    cases = load("wicg_ux.json")
    assert all("wicg" in c["policies"] for c in cases)
    assert {c["id"] for c in cases} >= {
        "wicg-grid-001-left",
        "wicg-grid-001-up",
        "wicg-grid-001-down",
        "wicg-grid-align-001",
        "wicg-grid-align-002",
        "wicg-grid-align-003",
        "wicg-grid-align-004",
        "wicg-intersected-001",
        "wicg-intersected-002",
        "wicg-transformed-001",
        "wicg-spatnav-focus-001",
    }


def test_tv_claims_every_recorded_decision() -> None:
    decisions = load("decisions.json")
    for case in decisions:
        assert case["decision"], case["id"]
        assert case["reason"], case["id"]
    claimed = [c for c in decisions if "tv" in c["policies"]]
    # Only the WICG side of the beam-threshold conflict is not Baton's answer.
    assert [c["id"] for c in decisions if c not in claimed] == ["D9-beam-threshold-wicg"]


@pytest.mark.parametrize("name", ["aosp_focusfinder.json", "wicg_ux.json"])
def test_where_tv_differs_from_a_reference_a_decision_says_why(name: str) -> None:
    decision_ids = {c["id"] for c in load("decisions.json")}
    for case in load(name):
        if "tv" not in case["policies"]:
            assert case["tv_differs"] in decision_ids, case["id"]


@pytest.mark.parametrize(
    ("case_id", "policy"),
    [
        ("D9-beam-threshold-tv", Policy.WICG),
        ("D9-beam-threshold-wicg", Policy.TV),
        ("D10-touching-edges-not-in-beam", Policy.ANDROID),
        ("D11-nested-item-reachable", Policy.ANDROID),
    ],
)
def test_the_conflicting_decisions_really_differ_between_policies(
    case_id: str, policy: Policy
) -> None:
    case = next(c for c in load("decisions.json") if c["id"] == case_id)
    with pytest.raises(AssertionError):
        run_case(case, policy)
