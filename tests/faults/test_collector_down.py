"""The trace collector is down while a traced receiver is used.

Expected outcome: every command succeeds, at about the latency it has with the collector up
(the export runs off the event loop; the figures are printed, bench/faults.py repeats them);
the spans made meanwhile wait in the receiver's spool and reach the collector once it is up,
each exactly once (tests/integration/tracing and tests/unit/tracing cover the spool's replay
and the collector's de-duplication in depth).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.collector_down import commands_with_collector_down

pytestmark = pytest.mark.slow

COMMANDS = 20


async def test_commands_are_unaffected_while_the_collector_is_down(tmp_path: Path) -> None:
    seen = await commands_with_collector_down(tmp_path, COMMANDS)
    print(
        f"\n  command round trip, collector down: median {seen.median(seen.down_ms):.2f} ms, "
        f"max {max(seen.down_ms):.2f} ms; up: median {seen.median(seen.up_ms):.2f} ms, "
        f"max {max(seen.up_ms):.2f} ms"
    )
    print(f"  spans the collector holds for the receiver: {seen.handled}")
    assert seen.failed == 0
    command_spans = {name: n for name, n in seen.handled.items() if "Command" in name}
    assert command_spans, seen.handled
    # One span per command handled, down or up: none lost, none twice.
    assert all(n == 2 * COMMANDS for n in command_spans.values()), command_spans
