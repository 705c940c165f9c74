"""With tracing on, one batch is one trace: consume_batch -> embed, upsert; an API request is a span."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from consumers.settings import ConsumerSettings
from knowledge.embedder import FastembedEmbedder
from knowledge.settings import KnowledgeSettings
from scripts.sample_season import season
from service.app import create_app
from service.settings import AppSettings, ServiceSettings
from tests.conftest import encode, local_client, produce


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)  # once per process: OpenTelemetry refuses a second provider
    return exporter


async def test_a_batch_is_one_trace_from_consume_to_upsert(
    spans: InMemorySpanExporter,
    consumer_settings: ConsumerSettings,
    embedder: FastembedEmbedder,
    knowledge_settings: KnowledgeSettings,
) -> None:
    from consumers.loop import ingest_loop
    from knowledge.runtime import identity_of
    from knowledge.store.qdrant_edge import QdrantEdgeStore

    spans.clear()
    await produce(
        consumer_settings.kafka_bootstrap_servers, consumer_settings.topics[0], [encode(e) for e in season(20, 3)]
    )
    async with QdrantEdgeStore.open(knowledge_settings) as store:
        await store.ensure_collection(identity_of(embedder))
        async with ingest_loop(consumer_settings, embedder, store) as loop:
            await loop.run_until_idle()
    finished = spans.get_finished_spans()
    batches = [s for s in finished if s.name == "consume_batch"]
    assert batches
    for name in ("embed", "upsert"):
        children = [s for s in finished if s.name == name]
        assert children and all(c.parent is not None and c.parent.span_id in {b.context.span_id for b in batches}
                                for c in children)  # fmt: skip


def test_each_api_request_is_a_span(
    spans: InMemorySpanExporter,
    consumer_settings: ConsumerSettings,
    embedder: FastembedEmbedder,
    knowledge_settings: KnowledgeSettings,
) -> None:
    spans.clear()
    settings = AppSettings(service=ServiceSettings(run_consumer=False, live_notices=False),
                           knowledge=knowledge_settings, consumer=consumer_settings)  # fmt: skip
    with local_client(create_app(settings, embedder=embedder)) as client:
        client.get("/healthz", headers={"X-Request-ID": "trace-me"})
    mine = [s for s in spans.get_finished_spans() if s.attributes and s.attributes.get("request_id") == "trace-me"]
    assert [s.name for s in mine] == ["GET /healthz"]
