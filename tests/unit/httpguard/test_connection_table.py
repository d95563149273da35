"""The connection rules without sockets: who is shed, who is refused, and when a stage expires."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from httpguard import ConnectionLimits, Stage
from httpguard._connections import Cause, ConnectionTable

LIMITS = ConnectionLimits(per_peer=3, total=5, head_s=10.0, idle_s=30.0)
ATTACKER, FRIEND, OTHER = "10.0.0.66", "10.0.0.2", "10.0.0.3"


def table_with(*peers: str) -> ConnectionTable[str]:
    """A table with one OPENING connection per peer given: c0 opened at 0, c1 at 1, ..."""
    table: ConnectionTable[str] = ConnectionTable(LIMITS)
    for n, peer in enumerate(peers):
        assert table.admit(f"c{n}", peer, float(n)).admitted
    return table


def test_a_peer_over_its_cap_displaces_its_own_oldest_half_open_connection() -> None:
    table = table_with(FRIEND, ATTACKER, ATTACKER, ATTACKER)
    admission = table.admit("new", ATTACKER, 10.0)
    assert admission.admitted
    assert admission.shed == ("c1",)  # the attacker's oldest, not the friend's older one
    assert admission.cause is Cause.PEER_CAP
    assert table.from_peer(ATTACKER) == 3
    assert "c0" in table


def test_the_server_over_its_cap_displaces_the_oldest_half_open_connection_of_anyone() -> None:
    table = table_with(ATTACKER, ATTACKER, OTHER, OTHER, FRIEND)
    admission = table.admit("new", FRIEND, 10.0)
    assert admission.admitted
    assert admission.shed == ("c0",)
    assert admission.cause is Cause.TOTAL_CAP
    assert len(table) == LIMITS.total


def test_half_open_connections_go_before_idle_ones_and_idle_before_busy() -> None:
    table = table_with(OTHER, OTHER, OTHER)
    table.request_started("c0", 1.0)  # busy, the oldest
    table.request_started("c1", 1.0)
    table.request_finished("c1", 2.0)  # idle
    assert table.admit("c3", OTHER, 5.0).shed == ("c2",)  # the half-open one, though younger
    table.request_started("c3", 6.0)
    assert table.admit("c4", OTHER, 7.0).shed == ("c1",)  # then the idle one


def test_a_trusted_session_is_never_displaced_and_the_newcomer_is_refused_instead() -> None:
    table = table_with(FRIEND, FRIEND, FRIEND)
    for key in ("c0", "c1", "c2"):
        table.trust(key, 1.0)
    admission = table.admit("new", FRIEND, 2.0)
    assert not admission.admitted
    assert admission.shed == ()
    assert "new" not in table
    assert table.census()[Stage.TRUSTED] == 3
    table.request_finished("c0", 3.0)  # a session's request ending leaves it trusted
    assert table.stage("c0") is Stage.TRUSTED


def test_deadlines_follow_the_stage() -> None:
    table = table_with(FRIEND)
    assert table.deadline("c0") == 10.0  # accepted at 0: head within head_s
    assert not table.overdue("c0", 9.9)
    assert table.overdue("c0", 10.0)
    table.request_started("c0", 3.0)
    assert table.deadline("c0") is None  # busy: no deadline (a file streamed for minutes)
    table.request_finished("c0", 4.0)
    assert table.deadline("c0") == 34.0  # idle: the next head within idle_s
    table.trust("c0", 5.0)
    assert table.deadline("c0") is None


def test_limits_leave_room_for_other_descriptors() -> None:
    fitted = ConnectionLimits(per_peer=64, total=256).within(300)
    assert fitted.total == 44
    assert fitted.per_peer == 44
    assert ConnectionLimits().within(1 << 20) == ConnectionLimits()
    assert ConnectionLimits().within(10).total == 16  # never below a usable few


@given(
    st.lists(
        st.tuples(st.sampled_from(["admit", "start", "finish", "trust", "drop"]),
                  st.integers(0, 12), st.sampled_from([ATTACKER, FRIEND, OTHER])),
        max_size=80,
    )
)  # fmt: skip
def test_the_caps_hold_and_trusted_connections_stay_whatever_happens(
    steps: list[tuple[str, int, str]],
) -> None:
    table: ConnectionTable[int] = ConnectionTable(LIMITS)
    trusted: set[int] = set()
    for now, (step, key, peer) in enumerate(steps):
        if step == "admit" and key not in table:
            admission = table.admit(key, peer, float(now))
            assert not trusted & set(admission.shed)
        elif step == "start":
            table.request_started(key, float(now))
        elif step == "finish":
            table.request_finished(key, float(now))
        elif step == "trust" and key in table:
            table.trust(key, float(now))
            trusted.add(key)
        elif step == "drop":
            table.drop(key)
            trusted.discard(key)
        assert len(table) <= LIMITS.total
        assert all(table.from_peer(p) <= LIMITS.per_peer for p in (ATTACKER, FRIEND, OTHER))
        assert all(table.stage(k) is Stage.TRUSTED for k in trusted)
        assert sum(table.census().values()) == len(table)


@pytest.mark.parametrize("peer_cap", [1, 2])
def test_a_cap_of_one_or_two_still_admits_replacements(peer_cap: int) -> None:
    table: ConnectionTable[str] = ConnectionTable(ConnectionLimits(per_peer=peer_cap, total=4))
    for n in range(10):
        assert table.admit(f"c{n}", ATTACKER, float(n)).admitted
    assert table.from_peer(ATTACKER) == peer_cap
