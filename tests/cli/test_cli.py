"""`greatwork`, through its real entry points (the installed console script, `python -m cli`) against
the real broker and a real `python -m service`; Typer's runner only for argument handling."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from typer.testing import CliRunner

from cli.app import app
from consumers.settings import ConsumerSettings
from schemas.dead_letter import HEADER_REASON, HEADER_SOURCE_OFFSET, HEADER_SOURCE_PARTITION, HEADER_SOURCE_TOPIC
from tests.bridge.gamedb import empty_game_db, season_rows, write_event, write_press
from tests.conftest import ROOT, wait_until
from tests.process import Served, fresh_topics, start_service, stop_service, until_indexed

GREATWORK = Path(sys.executable).with_name("greatwork")


def greatwork(
    consumer: ConsumerSettings, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": consumer.kafka_bootstrap_servers,
           "KAFKA_TOPICS": consumer.kafka_topics, "KAFKA_DLQ_TOPIC": consumer.kafka_dlq_topic,
           "KAFKA_GROUP_ID": consumer.kafka_group_id, "LOG_JSON": "true", "COLUMNS": "200",
           **(extra_env or {})}  # fmt: skip
    return subprocess.run([str(GREATWORK), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
async def backfilled(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    """A small game database backfilled by `greatwork backfill`, a letter an older version dead-lettered,
    and a bad record; then the service consuming it all."""
    folder = tmp_path_factory.mktemp("cli")
    db = empty_game_db(folder / "great_work.db", players=6, scholars=30)
    events, press = season_rows(40)
    for event_row, press_row in zip(events, press, strict=True):
        write_event(db, *event_row)
        write_press(db, press_row)
    consumer = await fresh_topics(kafka_bootstrap)
    done = await asyncio.to_thread(greatwork, consumer, "backfill", "--db", str(db),
                                   extra_env={"BRIDGE_STATE_FILE": str(folder / "state.json")})  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        old = {"event_id": "old-1", "action": "scholar_retired", "occurred_at": "2025-09-03T00:00:00Z",
               "payload": {"id": "s.proc-002", "name": "Dr Layla Bint-Khalid"}}  # fmt: skip
        headers = [(HEADER_REASON, b"schema_violation"), (HEADER_SOURCE_TOPIC, consumer.topics[0].encode()),
                   (HEADER_SOURCE_PARTITION, b"0"), (HEADER_SOURCE_OFFSET, b"99")]  # fmt: skip
        await (await producer.send(consumer.kafka_dlq_topic, json.dumps(old).encode(), key=b"k", headers=headers))
        await (await producer.send(consumer.topics[0], b'{"not": "an event"', key=b"bad"))
    finally:
        await producer.stop()
    served = await asyncio.to_thread(start_service, folder / "data", consumer)
    try:
        await until_indexed(served, 80)
        yield served
    finally:
        await asyncio.to_thread(stop_service, served)


async def test_backfill_then_search_prints_a_table_and_json(backfilled: Served) -> None:
    env = {"API_URL": backfilled.url}
    shown = await asyncio.to_thread(greatwork, backfilled.consumer, "search", "Dr Elara Blackstone", "-k", "3",
                                    extra_env=env)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "3 hits" in shown.stdout and "events:1" in shown.stdout
    answer = await asyncio.to_thread(greatwork, backfilled.consumer, "search", "admin", "--json", "--category",
                                     "press", extra_env=env)  # fmt: skip
    hits = json.loads(answer.stdout)["hits"]
    assert hits and all(h["category"] == "press" for h in hits)
    refused = await asyncio.to_thread(greatwork, backfilled.consumer, "search", "x", "--mode", "nope", extra_env=env)
    assert refused.returncode == 1 and "422" in refused.stderr and "mode" in refused.stderr


async def test_dlq_list_then_replay_a_letter_that_now_succeeds_and_one_that_fails_again(backfilled: Served) -> None:
    consumer = backfilled.consumer

    async def both_letters() -> bool:
        listed = await asyncio.to_thread(greatwork, consumer, "dlq", "list", "--json")
        return json.loads(listed.stdout)["total"] == 2 if listed.returncode == 0 else False

    await wait_until(both_letters, 60, "the bad record's letter")
    listed = await asyncio.to_thread(greatwork, consumer, "dlq", "list")
    assert "invalid_json" in listed.stdout and "schema_violation" in listed.stdout
    replayed = await asyncio.to_thread(greatwork, consumer, "dlq", "replay")
    assert replayed.returncode == 0 and "replayed 2 letters" in replayed.stdout, replayed.stderr[-2000:]

    async def retired_is_indexed() -> bool:
        async with httpx.AsyncClient(base_url=backfilled.url) as client:
            return (await client.get("/v1/events/old-1")).status_code == 200

    await wait_until(retired_is_indexed, 60, "the replayed letter to be indexed")

    async def failed_again() -> bool:
        listed = await asyncio.to_thread(greatwork, consumer, "dlq", "list", "--json")
        return json.loads(listed.stdout)["by_reason"].get("invalid_json") == 2

    await wait_until(failed_again, 60, "the replayed bad record to be dead-lettered again")
    again = await asyncio.to_thread(greatwork, consumer, "dlq", "replay", "--reason", "schema_violation")
    assert "replayed 0 letters" in again.stdout, "a second replay does not send the same letters again"


def test_help_and_bad_arguments() -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["--help"]).exit_code == 0
    for command in ("serve", "consume", "bridge", "backfill", "search", "dlq", "reindex", "optimize"):
        assert command in runner.invoke(app, ["--help"]).output
    assert runner.invoke(app, ["search"]).exit_code == 2
    assert runner.invoke(app, ["backfill", "--db", "/no/such/file.db"]).exit_code == 2
    assert runner.invoke(app, ["search", "x", "--top-k", "0"]).exit_code == 2
    module = subprocess.run(
        [sys.executable, "-m", "cli", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert module.returncode == 0 and "backfill" in module.stdout
