"""The dev season (written by the game itself) through `python -m service` over a real socket: the
records the bridge publishes go through the real broker into the real process, and a search over HTTP
puts first the side its words ask for, the events or the news about them (knowledge/fusion.py
`asks_for_news`), as `tests/knowledge/test_real_season.py` checks in process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from scripts.dev_season import dev_season_records
from tests.conftest import produce
from tests.process import Served, fresh_topics, start_service, stop_service, until_indexed


def season_start() -> list[tuple[bytes | None, bytes | None]]:
    """(key, value) of the season's first 300 actions and 40 press releases, as the bridge sends them."""
    records: list[tuple[bytes | None, bytes | None]] = []
    for value in dev_season_records(300):
        event_id = str(json.loads(value)["event_id"])
        if event_id.startswith("events:") or int(event_id.split(":")[1]) <= 40:
            records.append((event_id.encode(), value))
    return records


@pytest.fixture(scope="module")
async def served(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    consumer = await fresh_topics(kafka_bootstrap)
    records = season_start()
    await produce(kafka_bootstrap, consumer.topics[0], records)
    data_dir: Path = tmp_path_factory.mktemp("season") / "data"
    process = await asyncio.to_thread(start_service, data_dir, consumer)
    try:
        await until_indexed(process, len(records))
        yield process
    finally:
        await asyncio.to_thread(stop_service, process)


async def test_a_search_over_http_gets_the_events_first_unless_it_asks_for_the_news(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as client:

        async def first_five(query: str) -> set[str]:
            response = await client.post("/v1/search", json={"query": query, "top_k": 5})
            assert response.status_code == 200, response.text
            return {hit["document"]["subcategory"] for hit in response.json()["hits"]}

        assert await first_five("influence the game master granted to players") == {"admin_influence_adjustment"}
        assert await first_five("news of the influence the game master granted to players") == {"admin_action"}
