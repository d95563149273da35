"""Sans-IO pairing rules (connect/access/pairing.py): codes, tokens, roles, the failure window."""

from __future__ import annotations

import itertools

import pytest

from connect.access import pairing as p
from connect.wire import messages as m

OFFER = m.TransferOffer("t", m.PlaybackState("s", 1), m.TransferOptions(), "elsewhere", 0)


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_pairing_codes_are_six_digits() -> None:
    codes = {p.new_pairing_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 150  # random, not a counter or a constant


def test_a_token_is_an_id_and_a_secret_and_only_its_hash_is_kept() -> None:
    issued = p.new_token()
    token_id, secret = issued.text.split(".")
    assert token_id == issued.id
    assert len(token_id) == 8
    assert int(token_id, 16) >= 0
    assert len(secret) == 43  # 32 bytes, URL-safe base64 without padding
    assert p.token_id_of(issued.text) == issued.id
    assert issued.sha256 == p.hash_token(issued.text)
    assert issued.text not in issued.sha256
    assert p.tokens_match(issued.text, issued.sha256)
    assert not p.tokens_match(issued.text + "x", issued.sha256)
    assert not p.tokens_match(p.new_token().text, issued.sha256)


@pytest.mark.parametrize(
    "text", ["", "abc", "0a1b2c3d", "0A1B2C3D." + "a" * 43, "0a1b2c3d." + "a" * 42]
)
def test_malformed_tokens_are_refused_without_echoing_them(text: str) -> None:
    with pytest.raises(p.MalformedTokenError) as caught:
        p.token_id_of(text)
    assert not text or text not in str(caught.value)


@pytest.mark.parametrize(
    ("held", "requested", "granted"),
    [
        (m.Role.OWNER, None, m.Role.OWNER),
        (m.Role.OWNER, m.Role.GUEST, m.Role.GUEST),
        (m.Role.GUEST, m.Role.OWNER, m.Role.GUEST),
        (m.Role.CONTROLLER, m.Role.OBSERVER, m.Role.OBSERVER),
        (m.Role.OBSERVER, m.Role.CONTROLLER, m.Role.OBSERVER),
    ],
)
def test_a_session_gets_the_weaker_role(
    held: m.Role, requested: m.Role | None, granted: m.Role
) -> None:
    assert p.weaker_role(held, requested) is granted


def test_roles_at_pairing() -> None:
    assert p.pairing_role(None, has_owner=False, by_owner=False) is m.Role.OWNER
    assert p.pairing_role(m.Role.GUEST, has_owner=False, by_owner=False) is m.Role.GUEST
    assert p.pairing_role(None, has_owner=True, by_owner=False) is m.Role.CONTROLLER
    assert p.pairing_role(m.Role.OWNER, has_owner=True, by_owner=False) is m.Role.CONTROLLER
    assert p.pairing_role(m.Role.OBSERVER, has_owner=True, by_owner=False) is m.Role.OBSERVER
    assert p.pairing_role(m.Role.OWNER, has_owner=True, by_owner=True) is m.Role.OWNER
    assert p.pairing_role(None, has_owner=True, by_owner=True) is m.Role.CONTROLLER
    # An owner re-pairing itself (its token replaced) keeps its role unless it asks for another.
    assert p.pairing_role(None, has_owner=True, by_owner=True, replacing=m.Role.OWNER) is (
        m.Role.OWNER
    )
    assert (
        p.pairing_role(m.Role.GUEST, has_owner=True, by_owner=True, replacing=m.Role.OWNER)
        is m.Role.GUEST
    )
    # With the code, whatever token is replaced, never more than controller while owned.
    assert (
        p.pairing_role(None, has_owner=True, by_owner=False, replacing=m.Role.OWNER)
        is m.Role.CONTROLLER
    )


def test_only_owners_manage_access() -> None:
    assert [r for r in m.Role if p.may_manage_access(r)] == [m.Role.OWNER]


def test_only_observers_may_not_command() -> None:
    refused = {r for r in m.Role if p.command_refusal(r) is not None}
    assert refused == {m.Role.OBSERVER}
    failure = p.command_refusal(m.Role.OBSERVER)
    assert failure is not None
    assert failure.code is m.ErrorCode.FORBIDDEN


def test_guests_may_transfer_here_but_not_away() -> None:
    to_here = OFFER
    away = m.TransferCommit("t", m.TransferRole.SOURCE, 0)
    offer_from_here = m.TransferOffer("t", m.PlaybackState("s", 1), m.TransferOptions(), "me", 0)
    target_commit = m.TransferCommit("t", m.TransferRole.TARGET, 0)
    assert p.transfer_refusal(m.Role.GUEST, to_here, "me") is None
    assert p.transfer_refusal(m.Role.GUEST, target_commit, "me") is None
    for body in (away, offer_from_here):
        refusal = p.transfer_refusal(m.Role.GUEST, body, "me")
        assert refusal is not None
        assert refusal.code is m.ErrorCode.FORBIDDEN
    for role in (m.Role.CONTROLLER, m.Role.OWNER):
        assert p.transfer_refusal(role, away, "me") is None
    assert p.transfer_refusal(m.Role.OBSERVER, to_here, "me") is not None


def test_the_window_allows_five_failures_a_minute() -> None:
    clock = FakeClock()
    window = p.FailureWindow(clock=clock)
    for _ in range(5):
        assert window.retry_after() == 0.0
        window.record_failure()
        clock.now += 1
    # Full: the first failure (at 1000) leaves the window at 1060; it is 1005 now.
    assert window.retry_after() == pytest.approx(55.0)
    clock.now = 1059.5
    assert window.retry_after() == pytest.approx(0.5)
    clock.now = 1060.0
    assert window.retry_after() == 0.0
    window.record_failure()  # the sixth, a minute after the first: full again
    assert window.retry_after() == pytest.approx(1.0)


def test_the_code_changes_after_a_success() -> None:
    codes = itertools.cycle(["111111", "222222", "333333"])
    keeper = p.PairingCodeKeeper(lambda: next(codes))
    assert keeper.code == "111111"
    assert keeper.attempt("111111") == (True, True)
    assert keeper.code == "222222"
    assert keeper.attempt("111111") == (False, False)  # the old code is dead


def test_the_code_changes_after_ten_failures() -> None:
    codes = iter(["111111", "111111", "222222"])  # a repeat is skipped: a change is a change
    keeper = p.PairingCodeKeeper(lambda: next(codes))
    results = [keeper.attempt("999999") for _ in range(10)]
    assert results[:9] == [(False, False)] * 9
    assert results[9] == (False, True)
    assert keeper.code == "222222"
