"""Running one of the project's Python modules in a child process (`python -m MODULE ARGS`): work that
would hold the GIL, or wait for it at every system call, in the serving process."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Finished:
    """How a child process ended, and what it wrote."""

    returncode: int
    stdout: str
    stderr: str


def module_command(module: str, *args: str) -> list[str]:
    """The command that runs `module` with `args` under this process's interpreter."""
    return [sys.executable, "-m", module, *args]


async def run_module(module: str, *args: str, timeout_s: float) -> Finished:
    """`python -m module args` awaited to its end, its output read; the process is killed (and waited
    for) if this is cancelled or it overruns `timeout_s` (TimeoutError)."""
    process = await asyncio.create_subprocess_exec(
        *module_command(module, *args), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        async with asyncio.timeout(timeout_s):
            out, err = await process.communicate()
            returncode = await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return Finished(returncode, out.decode(errors="replace"), err.decode(errors="replace"))
