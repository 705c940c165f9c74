"""`run_module`, which the shard's mirror and the optimizing process run through: a real child process
(the standard library's `timeit`, so that the child's work is known), its output, its failure, and its
end when it overruns or its caller is cancelled, as the kernel's process table shows it."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from knowledge.processes import run_module
from tests.conftest import running_with, wait_until


def sleeper(seconds: int) -> tuple[str, bytes]:
    """`timeit` arguments that sleep `seconds` once, and a marker found in that child's command line."""
    marker = uuid.uuid4().hex
    return f"'{marker}'; import time; time.sleep({seconds})", marker.encode()


async def test_a_finished_child_gives_its_exit_code_and_both_outputs_apart() -> None:
    done = await run_module("timeit", "-n", "1", "-r", "1", "import sys; sys.stderr.write('to stderr')", timeout_s=60)
    assert done.returncode == 0
    assert "1 loop" in done.stdout and "to stderr" not in done.stdout
    assert done.stderr.count("to stderr") == 1


async def test_a_failing_child_is_an_exit_code_and_its_message_not_an_exception() -> None:
    done = await run_module("knowledge.no_such_module", timeout_s=60)
    assert done.returncode == 1
    assert "No module named knowledge.no_such_module" in done.stderr


async def test_a_child_that_overruns_is_killed_and_waited_for() -> None:
    statement, marker = sleeper(120)
    running = asyncio.create_task(run_module("timeit", "-n", "1", "-r", "1", statement, timeout_s=3))

    async def started() -> bool:
        return bool(running_with(marker)) or running.done()

    await wait_until(started, what="the child to start")
    with pytest.raises(TimeoutError):
        await running
    assert running_with(marker) == [], "the child outlived its timeout"


async def test_a_child_whose_caller_is_cancelled_is_killed_and_waited_for() -> None:
    statement, marker = sleeper(120)
    running = asyncio.create_task(run_module("timeit", "-n", "1", "-r", "1", statement, timeout_s=300))

    async def started() -> bool:
        return bool(running_with(marker))

    await wait_until(started, what="the child to start")
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert running_with(marker) == [], "the child outlived its cancelled caller"
