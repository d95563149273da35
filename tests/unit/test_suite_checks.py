"""The suite's own checks (tests/conftest.py) catch what they promise, and only that."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"
SCHEDULING = CONFTEST.with_name("scheduling.py")

LOOP_BODY = """
import asyncio
import time


def spin(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_it():
    async def main():
        asyncio.get_running_loop().call_soon({callback})
        await asyncio.sleep(0.05)

    asyncio.run(main())
"""


def _outcome(pytester: pytest.Pytester, callback: str) -> pytest.RunResult:
    pytester.makeconftest(CONFTEST.read_text())
    # What the conftest imports of the suite (its scheduling), beside it as in the repository.
    pytester.mkpydir("tests")
    (pytester.path / "tests" / "scheduling.py").write_text(SCHEDULING.read_text())
    pytester.makepyfile(LOOP_BODY.format(callback=callback))
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")


@pytest.mark.parametrize(
    ("callback", "fails"),
    [
        ("spin, 0.25", True),  # a callback that computes for 250 ms holds the loop
        ("time.sleep, 1.3", True),  # a blocking call that long is a bug whatever the CPU
        ("time.sleep, 0.3", False),  # short blocking is left to benchmarks (wall clock)
    ],
)
def test_a_callback_fails_the_test_only_when_it_holds_the_loop(
    pytester: pytest.Pytester, callback: str, fails: bool
) -> None:
    result = _outcome(pytester, callback)
    if fails:
        result.assert_outcomes(passed=1, errors=1)
        result.stdout.fnmatch_lines(["*Executing*computing*"])
    else:
        result.assert_outcomes(passed=1)


FIXTURE_BODY = """
import time

import pytest_asyncio


@pytest_asyncio.fixture
async def keys():
    end = time.thread_time() + 0.25
    while time.thread_time() < end:  # a fixture's own work (a test's keys, its corpus)
        pass
    yield 1


async def test_it(keys):
    assert keys == 1
"""


def test_an_async_fixture_computing_is_the_test_s_own_work(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST.read_text())
    pytester.mkpydir("tests")
    (pytester.path / "tests" / "scheduling.py").write_text(SCHEDULING.read_text())
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_debug = true\n")
    pytester.makepyfile(FIXTURE_BODY)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=1)
