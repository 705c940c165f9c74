"""The real game's way in, end to end: the dev season's database (written by the game itself) ->
the bridge -> the real broker -> the consumer -> the real store and model. Every row of both tables
becomes one document; each action family reads as it should."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bridge.database import GameDatabase
from bridge.publisher import Bridge
from consumers.loop import ingest_loop
from knowledge.embedder import FastembedEmbedder
from knowledge.projector import point_id
from knowledge.search import search, timeline
from knowledge.settings import KnowledgeSettings
from schemas.search import EntityKind, SearchRequest
from tests.bridge.gamedb import copy_dev_season, count
from tests.bridge.test_bridge import consumer_of, new_topic, producer_for
from tests.faults.test_faults import edge_store, figures


async def test_the_dev_season_becomes_searchable_one_document_per_row(
    kafka_bootstrap: str, tmp_path: Path, embedder: FastembedEmbedder, knowledge_settings: KnowledgeSettings
) -> None:
    db = copy_dev_season(tmp_path / "great_work.db")
    topic = await new_topic(kafka_bootstrap)
    async with producer_for(kafka_bootstrap) as producer:
        await Bridge(GameDatabase(db, 2000), producer, topic, tmp_path / "state.json", 500, 0.1).run(
            asyncio.Event(), until_caught_up=True
        )
    rows = count(db, "events") + count(db, "press_releases")
    settings = consumer_of(kafka_bootstrap, topic).model_copy(update={"consumer_max_batch": 512})
    async with edge_store(knowledge_settings, embedder) as store, ingest_loop(settings, embedder, store) as loop:
        await loop.run_until_idle()
        stored = await store.count()
        spawned, press, resolved, advanced = await store.retrieve(
            [point_id(i) for i in ("events:1", "press_releases:1", "events:5947", "events:219")]
        )
        hits = await search(embedder, store, SearchRequest(query="Dr Elara Blackstone", top_k=10))
        story = await timeline(store, EntityKind.SCHOLAR, "s.proc-001", 5, None)
    figures("dev_season_end_to_end", rows=rows, stored=stored, dead_lettered=loop.dead_lettered_total)
    assert stored == rows and loop.dead_lettered_total == 0
    assert spawned["category"] == "scholar" and "Dr Elara Blackstone" in spawned["content"]
    assert spawned["game_year"] == 1920
    assert press["category"] == "press" and press["headline"] == "Administrative Influence Adjustment"
    assert advanced["game_year"] == 1921
    assert resolved["event_id"] == "events:5947"
    assert any("s.proc-001" in h.document.get("scholar_ids", []) for h in hits.hits), "a scholar is found by name"
    assert story.events and story.events[0].event_id == "events:1"
