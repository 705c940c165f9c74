"""The API process's background work (the in-process consume loop, the notice relay), supervised.

A task that fails is logged, named by /readyz, and asks the process to exit (`python -m service`
then exits 1, so its supervisor restarts it), instead of the failure unwinding the lifespan under a
server that keeps answering with its model and store closed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog

from service.deps import Runtime

log = structlog.get_logger(__name__)


async def supervised(name: str, work: Awaitable[None], runtime: Runtime, on_fatal: Callable[[], None]) -> None:
    """Run `work`; if it fails, record it in `runtime.stopped`, log it and call `on_fatal`."""
    try:
        await work
    except Exception as exc:
        runtime.stopped[name] = type(exc).__name__
        log.exception("background_task_failed", task=name)
        on_fatal()
