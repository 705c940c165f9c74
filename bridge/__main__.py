"""`python -m bridge`: publish the game's database to the events topic, history first, then new rows.

    GREAT_WORK_DB=path/to/great_work.db KAFKA_BOOTSTRAP_SERVERS=... python -m bridge [--until-caught-up]

SIGTERM/SIGINT: the page in flight is acknowledged and checkpointed, then the process exits 0. With
`--until-caught-up` (the CLI's `backfill`) it exits once every table is published. A progress bar
(rows/s, ETA) is drawn when stderr is a terminal.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import structlog
from aiokafka import AIOKafkaProducer

from bridge.database import GameDatabase
from bridge.health import serving
from bridge.publisher import Bridge, Progress
from bridge.settings import BridgeSettings
from consumers.loop import ensure_topics
from consumers.settings import ConsumerSettings
from knowledge.logs import LogSettings, configure_logging
from knowledge.settings import refusing_bad_settings

log = structlog.get_logger(__name__)


@contextmanager
def progress_bar(show: bool) -> Iterator[Progress | None]:
    """A rich progress bar (rows, rows/s, ETA) on stderr, or nothing."""
    if not show:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as Bar

    with Bar(TextColumn("publishing rows"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
             TextColumn("{task.fields[rate]} rows/s"), TimeRemainingColumn(), transient=False) as bar:  # fmt: skip
        task = bar.add_task("rows", total=None, rate="-")

        class _Shown:
            def update(self, done: int, total: int) -> None:
                speed = bar.tasks[0].speed
                bar.update(task, completed=done, total=total, rate=f"{speed:.0f}" if speed else "-")

        yield _Shown()


async def run(until_caught_up: bool) -> int:
    settings, kafka = BridgeSettings(), ConsumerSettings()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if kafka.kafka_create_topics:
        await ensure_topics(kafka)
    producer = AIOKafkaProducer(
        **kafka.client_options(), acks="all", enable_idempotence=True, linger_ms=10,
        request_timeout_ms=int(kafka.kafka_request_timeout_s * 1000), max_request_size=8 * 1024 * 1024,
    )  # fmt: skip
    async with asyncio.timeout(kafka.kafka_request_timeout_s * 3):
        await producer.start()
    database = GameDatabase(settings.great_work_db, settings.bridge_busy_timeout_ms)
    port = 0 if until_caught_up else settings.bridge_metrics_port
    try:
        with progress_bar(sys.stderr.isatty()) as progress:
            bridge = Bridge(database, producer, kafka.topics[0], settings.bridge_state_file,
                            settings.bridge_page_rows, settings.bridge_poll_s, progress)  # fmt: skip
            async with serving(bridge.health, port):
                await bridge.run(stop, until_caught_up=until_caught_up)
    finally:
        await producer.stop()
    return 0


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    with refusing_bad_settings("python -m bridge"):
        log_settings = LogSettings()
        configure_logging(log_settings.log_level, log_settings.log_json)
        code = asyncio.run(run(until_caught_up="--until-caught-up" in args))
    sys.exit(code)


if __name__ == "__main__":
    main()
