"""`python -m consumers`: the consumer as its own process (with a Qdrant server as the store).

SIGTERM/SIGINT set the stop event: fetching stops, the batch in flight is finished and committed,
then the Kafka clients and the store close. A second signal exits at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

import structlog
from aiokafka import AIOKafkaProducer
from prometheus_client import start_http_server

from consumers.loop import ingest_loop
from consumers.notices import IndexedNotices
from consumers.settings import ConsumerSettings
from knowledge.logs import LogSettings, configure_logging
from knowledge.runtime import open_knowledge
from knowledge.settings import KnowledgeSettings, refusing_bad_settings
from knowledge.store.edge_optimizer import keep_optimized
from knowledge.tracing import TracingSettings, configure_tracing

log = structlog.get_logger(__name__)


async def run() -> None:
    knowledge_settings = KnowledgeSettings()
    consumer_settings = ConsumerSettings()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            log.warning("forced_exit", signal=signum)
            sys.exit(1)
        log.info("stopping", signal=signum)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    if consumer_settings.metrics_port:
        start_http_server(consumer_settings.metrics_port)  # its own thread; serves the default registry
    notices_producer = AIOKafkaProducer(**consumer_settings.client_options(), linger_ms=5)
    async with asyncio.timeout(consumer_settings.kafka_request_timeout_s * 3):
        await notices_producer.start()
    notices = IndexedNotices(
        notices_producer, consumer_settings.kafka_indexed_topic, consumer_settings.kafka_request_timeout_s
    )
    async with (
        open_knowledge(knowledge_settings, answers_queries=False) as (embedder, store),
        ingest_loop(consumer_settings, embedder, store, on_indexed=notices) as ingest,
    ):
        log.info("consumer_started", topics=consumer_settings.topics, group=consumer_settings.kafka_group_id)
        optimizing = asyncio.create_task(keep_optimized(store, knowledge_settings), name="store_optimizer")
        try:
            await ingest.run(stop)
        finally:
            optimizing.cancel()  # an optimization under way is given up: the shard served is complete
            with contextlib.suppress(asyncio.CancelledError):
                await optimizing
            await notices_producer.stop()


def main() -> None:
    with refusing_bad_settings("python -m consumers"):
        log_settings = LogSettings()
        configure_logging(log_settings.log_level, log_settings.log_json)
        configure_tracing(TracingSettings())
        asyncio.run(run())


if __name__ == "__main__":
    main()
