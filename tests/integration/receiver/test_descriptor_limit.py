"""The receiver's descriptor limit (Baton issue 13, item 5): systemd gives a unit a soft limit of
1 024 whatever its hard limit; the receiver raises its soft limit to the hard one at start, and
the unit sets a hard limit with room for the connection caps and everything else."""

from __future__ import annotations

import re
from pathlib import Path

from httpguard import ConnectionLimits
from tests.receivers import start_receiver

UNIT = Path(__file__).resolve().parents[3] / "packaging" / "systemd" / "baton-receiver.service"


def _open_files_limit(pid: int) -> tuple[int, int]:
    limits = Path(f"/proc/{pid}/limits").read_text()
    found = re.search(r"^Max open files\s+(\d+)\s+(\d+)", limits, re.MULTILINE)
    assert found, limits
    return int(found[1]), int(found[2])


async def test_the_receiver_raises_its_soft_descriptor_limit_to_the_hard_one(
    tmp_path: Path,
) -> None:
    receiver = await start_receiver(
        tmp_path, "Limited", wrapper=["prlimit", "--nofile=1024:4096", "--"]
    )
    try:
        assert _open_files_limit(receiver.process.pid) == (4096, 4096)
    finally:
        assert await receiver.stop() == 0


def test_the_unit_leaves_room_for_the_connection_caps() -> None:
    found = re.search(r"^LimitNOFILE=(\d+)$", UNIT.read_text(), re.MULTILINE)
    assert found, "the unit sets no LimitNOFILE: systemd's soft 1 024 would apply"
    # The caps, the descriptors a connection may briefly hold while it closes, and the rest.
    assert int(found[1]) >= 4 * ConnectionLimits().total + 1024
