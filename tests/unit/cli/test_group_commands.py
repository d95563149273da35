"""`baton group`, `baton ungroup` (client/group_commands.py): what they refuse before asking
anyone, and what they print from the keeper's answers (a keeper with a fake Controller, as in
tests/unit/group_keeper/)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client.cli import main
from client.group_commands import (
    async_status_group,
    device_group,
    device_group_words,
    roster_text,
)
from client.group_keeper import Keeper
from client.keeper_protocol import keeper_dir, socket_path
from connect.errors import GroupRefusedError
from connect.wire import messages as m
from tests.unit.group_keeper.test_keeper import VIEW, FakeController


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "run"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    monkeypatch.setenv("BATON_CONFIG_DIR", str(tmp_path / "config"))
    return folder


@pytest.fixture
async def controller(runtime: Path) -> AsyncIterator[FakeController]:
    fake = FakeController()
    kept = Keeper([], idle_s=3600, controller=fake)
    ready_r, ready_w = os.pipe()
    task = asyncio.get_running_loop().create_task(
        kept.async_serve(socket_path(keeper_dir()), ready_w)
    )
    await asyncio.to_thread(os.read, ready_r, 16)
    os.close(ready_r)
    yield fake
    kept.stopped.set()
    await task


async def baton(capsys: pytest.CaptureFixture[str], *words: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = await asyncio.to_thread(main, list(words))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("words", "said"),
    [
        (["group", "Kitchen"],
         "baton group: name two devices or more: baton group LEADER DEVICE..."),
        (["group", "--volume", "Kitchen", "101"], "baton group: volume must be 0-100"),
        (["group", "--volume", "Kitchen", "loud"], "baton group: volume must be 0-100"),
        (["group", "A", "--volume", "Kitchen", "3"],
         "baton group: give either DEVICE... to group, or --volume DEVICE N"),
    ],
)  # fmt: skip
async def test_what_is_refused_before_asking_anyone(
    capsys: pytest.CaptureFixture[str], runtime: Path, words: list[str], said: str
) -> None:
    code, out, err = await baton(capsys, *words)
    assert (code, out, err.strip()) == (1, "", said)
    assert not socket_path(keeper_dir()).exists()  # no keeper was started for it


async def test_no_keeper_no_groups(capsys: pytest.CaptureFixture[str], runtime: Path) -> None:
    assert await baton(capsys, "group") == (
        0,
        "no groups (form one: baton group DEVICE DEVICE...)\n",
        "",
    )
    assert await baton(capsys, "group", "--json") == (0, "[]\n", "")


async def test_group_prints_the_roster_and_fails_for_a_device_that_did_not_join(
    capsys: pytest.CaptureFixture[str], controller: FakeController
) -> None:
    code, out, err = await baton(capsys, "group", "Kitchen", "Terrace", "--connect", "127.0.0.1:9")
    assert code == 1
    assert out.splitlines() == [
        "group led by Kitchen (2 devices, grp-1):",
        "  Kitchen  leading  volume 40",
        "  Terrace  playing  volume 30",
    ]
    assert err.strip() == "baton group: did not join: Garage: not ready"
    code, out, _ = await baton(capsys, "group", "Kitchen", "Terrace", "--json")
    report = json.loads(out)
    assert report["ok"] is False
    assert report["group"]["leader_id"] == "k"
    assert report["refused"] == [
        {"device_id": "x", "name": "Garage", "message": "not ready", "code": "timeout"}
    ]
    code, out, _ = await baton(capsys, "group")
    assert (code, out.splitlines()[0]) == (0, "group led by Kitchen (2 devices, grp-1):")
    code, out, _ = await baton(capsys, "group", "--json")
    assert (code, json.loads(out)) == (0, [VIEW.as_json()])


async def test_a_refusal_is_one_line(
    capsys: pytest.CaptureFixture[str], controller: FakeController
) -> None:
    controller.refuse = GroupRefusedError(
        "Terrace speaks protocol 1.1; playing in a group needs 1.2", device="t"
    )
    code, out, err = await baton(capsys, "group", "Kitchen", "Terrace")
    assert (code, out) == (1, "")
    assert err == "baton group: Terrace speaks protocol 1.1; playing in a group needs 1.2\n"
    code, _, err = await baton(capsys, "group", "Kitchen", "Garage", "--timeout", "0.1")
    assert (code, err) == (1, "baton group: no device named 'Garage' found within 0.1 s\n")


async def test_ungroup_and_a_members_volume(
    capsys: pytest.CaptureFixture[str], controller: FakeController
) -> None:
    controller.kept = [VIEW]
    assert await baton(capsys, "group", "--volume", "Terrace", "30") == (
        0, "Terrace: volume 30 (in the group led by Kitchen with Terrace)\n", "",
    )  # fmt: skip
    assert controller.asked[-1] == ("volume", ("t", 30))
    assert await baton(capsys, "ungroup", "Terrace") == (0, "Terrace left; the group ended\n", "")
    code, out, _ = await baton(capsys, "ungroup", "Terrace", "--json")
    assert (code, json.loads(out)) == (0, {"ok": True, "group": None})


async def test_devices_and_status_words(runtime: Path) -> None:
    assert device_group([VIEW], "t") == {
        "group_id": "grp-1", "leader_id": "k", "leader": "Kitchen", "leads": False,
        "phase": "playing",
    }  # fmt: skip
    assert device_group([VIEW], "z") is None
    assert device_group_words(device_group([VIEW], "t")) == "  (in the group led by Kitchen)"
    assert device_group_words(device_group([VIEW], "k")) == "  (leads a group)"
    assert device_group_words(None) == ""
    roster = m.Group(
        "grp-9", 4, "b",
        (m.GroupMember("a", 2, m.GroupMemberPhase.JOINING, 20, True),
         m.GroupMember("b", 0, m.GroupMemberPhase.PLAYING, 55)),
    )  # fmt: skip
    state = m.PlaybackState("s", 1, "a", group=roster)
    args = argparse.Namespace(interface=[], connect=[], timeout=None)
    as_json, text = await async_status_group(args, state, {"b": "Bedroom"})  # no keeper runs
    assert as_json["leader_id"] == "b"
    assert as_json["epoch"] == 4
    assert [x["name"] for x in as_json["members"]] == ["Bedroom", "a"]  # unnamed: by its id
    assert text.splitlines() == [
        "group led by Bedroom (2 devices, grp-9):",
        "  Bedroom  leading  volume 55",
        "  a        joining  volume 20, muted",
    ]
    assert roster_text(VIEW).startswith("group led by Kitchen")


async def test_status_shows_the_keepers_roster_of_that_group(controller: FakeController) -> None:
    controller.kept = [VIEW]
    joined = m.Group("grp-1", 2, "k", (m.GroupMember("k", 0, m.GroupMemberPhase.PLAYING),))
    args = argparse.Namespace(interface=[], connect=[], timeout=None)
    as_json, text = await async_status_group(args, m.PlaybackState("s", 1, "t", group=joined), {})
    assert [x["name"] for x in as_json["members"]] == ["Kitchen", "Terrace"]
    assert text.startswith("group led by Kitchen (2 devices")
