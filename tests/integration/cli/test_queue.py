"""`baton queue`: show a device's queue and edit it by uid, over the wire, as a listener would."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from connect.wire import messages as m
from tests.fakes import MemoryHost
from tests.integration.cli.conftest import baton

pytestmark = pytest.mark.slow


@pytest.fixture
async def den() -> AsyncIterator[MemoryHost]:
    host = MemoryHost("dev-den", "Den")
    items = tuple(m.QueueItem(u, f"http://127.0.0.1:9/{u}.flac", title=u.upper()) for u in "abcd")
    host.state = replace(host.state, queue=items, current_uid="b")
    host.port = await host.server.async_start(["127.0.0.1"], 0)  # type: ignore[attr-defined]
    yield host
    await host.server.async_close()


def at(host: MemoryHost) -> str:
    return f"--connect=127.0.0.1:{host.port}"  # type: ignore[attr-defined]


def order(host: MemoryHost) -> str:
    return "".join(item.uid for item in host.state.queue)


async def test_show_then_edit_the_queue_by_uid(
    config: Path, den: MemoryHost, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = await baton(capsys, "queue", "show", "Den", at(den), "--json")
    assert (code, err) == (0, "")
    shown = json.loads(out)
    assert [i["uid"] for i in shown["items"]] == ["a", "b", "c", "d"]
    assert [i["current"] for i in shown["items"]] == [False, True, False, False]
    code, out, err = await baton(capsys, "queue", "move", "Den", "d", "--after", "b", at(den))
    assert (code, err) == (0, "")
    assert order(den) == "abdc"
    code, _, err = await baton(capsys, "queue", "remove", "Den", "a", "c", at(den))
    assert (code, err, order(den)) == (0, "", "bd")
    url = "http://127.0.0.1:9/next.flac"
    code, _, err = await baton(capsys, "queue", "add", "Den", url, "--next", at(den))
    assert (code, err) == (0, "")
    assert [i.url.rsplit("/", 1)[1] for i in den.state.queue] == ["b.flac", "next.flac", "d.flac"]
    code, _, err = await baton(capsys, "queue", "clear", "Den", at(den))
    assert (code, err, order(den)) == (0, "", "b")  # what plays stays
    code, out, _ = await baton(capsys, "queue", "show", "Den", at(den))
    assert out.splitlines()[1].startswith("▶ b  B")


async def test_refusals_are_one_clear_line_and_change_nothing(
    config: Path, den: MemoryHost, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = await baton(capsys, "queue", "remove", "Den", "b", at(den))
    assert code == 1
    assert "refused (invalid_argument)" in err
    assert "current item" in err
    code, _, err = await baton(capsys, "queue", "move", "Den", "zz", at(den))
    assert (code, "refused (not_found)" in err) == (1, True)
    revision = den.state.revision
    stale = str(revision - 1)
    code, _, err = await baton(capsys, "queue", "clear", "Den", "--revision", stale, at(den))
    assert (code, "refused (conflict)" in err) == (1, True)
    assert (order(den), den.state.revision) == ("abcd", revision)
    code, _, err = await baton(
        capsys, "queue", "clear", "Den", "--revision", str(revision), at(den)
    )
    assert (code, err, order(den)) == (0, "", "b")
