"""The embedded store optimized while it serves (knowledge/store/edge_optimizer.py), on the real Qdrant
Edge engine, the real model and a real optimizing process: writes made while the copy is optimized
are all in the shard switched to, deletes too; the next process opens the optimized shard; a given-up
attempt leaves the shard served whole and no copy behind; a copy left by a stopped process is deleted."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import qdrant_edge as edge

from knowledge.embedder import FastembedEmbedder
from knowledge.metrics import STORE_OPTIMIZATIONS
from knowledge.projector import point_id
from knowledge.runtime import identity_of
from knowledge.settings import KnowledgeSettings
from knowledge.store import qdrant_edge
from knowledge.store.base import PAYLOAD_INDEXES
from knowledge.store.edge_optimizer import FIRST_OPTIMIZE_AT, keep_optimized, optimize_due, optimize_in_background
from knowledge.store.qdrant_edge import QdrantEdgeStore, _mirror_directory
from schemas.documents import DocumentBase
from schemas.search import SearchFilters
from tests.conftest import running_with, wait_until
from tests.knowledge.test_reads import game_event, put

START = datetime(2025, 3, 1, tzinfo=UTC)


def events(first: int, count: int, message: str = "the archive flooded") -> list[DocumentBase]:
    return [
        game_event(f"evt-{i}", f"p{i % 7}", START + timedelta(minutes=i), {"message": f"{message} {i}"})
        for i in range(first, first + count)
    ]


def settings_in(tmp_path: Path, **extra: float | int) -> KnowledgeSettings:
    return KnowledgeSettings(data_dir=tmp_path, collection_name="opt-test", **extra)  # type: ignore[arg-type]


def copies(data_dir: Path) -> list[Path]:
    return list(data_dir.glob("edge/opt-test.opt*"))


@contextlib.asynccontextmanager
async def filled(
    tmp_path: Path, embedder: FastembedEmbedder, count: int, **extra: float | int
) -> AsyncIterator[tuple[KnowledgeSettings, QdrantEdgeStore]]:
    """A store of `count` events (closed on exit), with its settings."""
    settings = settings_in(tmp_path, **extra)
    async with QdrantEdgeStore.open(settings) as store:
        await store.ensure_collection(identity_of(embedder))
        await put(store, embedder, events(0, count))
        yield settings, store


async def message_of(store: QdrantEdgeStore, event_id: str) -> str | None:
    found = await store.retrieve([point_id(event_id)])
    return str(found[0]["payload"]["message"]) if found else None


async def test_writes_made_while_a_copy_is_optimized_are_all_in_the_shard_switched_to(
    tmp_path: Path, embedder: FastembedEmbedder
) -> None:
    async with filled(tmp_path, embedder, 400) as (settings, store):
        served = store.path
        optimizing = asyncio.create_task(optimize_in_background(store))
        written, rounds = 400, 0
        while store.path == served and not optimizing.done():  # write, rewrite and delete until the switch
            await put(store, embedder, events(written, 20) + events(rounds * 5 % 200, 5, "rewritten"))
            await store.delete([point_id(f"evt-{200 + rounds}")])
            written, rounds = written + 20, rounds + 1
            await asyncio.sleep(0.05)
        report = await optimizing
        assert 3 <= rounds < 200, "writes went on while the copy was optimized"
        assert store.path != served and store.path.name == report["shard"]
        assert not served.exists(), "the shard served before is deleted"
        assert json.loads(settings.edge_alias_file.read_text())["shard"] == store.path.name
        expected = written - rounds
        assert await store.count() == expected
        assert await message_of(store, f"evt-{written - 1}") == f"the archive flooded {written - 1}"
        last_rewritten = (rounds - 1) * 5 % 200
        assert await message_of(store, f"evt-{last_rewritten}") == f"rewritten {last_rewritten}"
        assert await message_of(store, f"evt-{200 + rounds - 1}") is None
        assert store.written_since_optimized <= 26, "counted afresh from the switch (the last round at most)"
        await put(store, embedder, events(written, 10))  # the switched-to shard takes writes
    record = store.path.with_name(store.path.name + ".optimized.json")
    at_switch = json.loads(record.read_text())["points"]
    async with QdrantEdgeStore.open(settings) as reopened:  # the next process opens the optimized shard
        await reopened.ensure_collection(identity_of(embedder))
        assert reopened.path.name == report["shard"]
        assert await reopened.count() == expected + 10
        assert reopened.written_since_optimized == expected + 10 - at_switch
        hits = await reopened.search(await embedder.embed_query("the archive flooded"), SearchFilters(), 5)
        assert len(hits) == 5


async def test_a_given_up_optimization_leaves_the_shard_served_whole_and_no_copy(
    tmp_path: Path, embedder: FastembedEmbedder
) -> None:
    async with filled(tmp_path, embedder, 300) as (settings, store):
        served = store.path
        optimizing = asyncio.create_task(optimize_in_background(store))

        async def optimizing_the_copy() -> bool:
            return bool(optimizing_processes(tmp_path))

        await wait_until(optimizing_the_copy, timeout_s=30, what="the optimizing process")
        optimizing.cancel()
        await asyncio.gather(optimizing, return_exceptions=True)
        assert store.path == served and not settings.edge_alias_file.exists()
        assert not copies(tmp_path), "the copy is deleted"
        await put(store, embedder, events(300, 10))
        assert await store.count() == 310


async def test_a_copy_left_by_a_stopped_process_is_deleted_when_the_store_opens(
    tmp_path: Path, embedder: FastembedEmbedder
) -> None:
    async with filled(tmp_path, embedder, 50) as (settings, _):
        pass
    left = tmp_path / "edge" / "opt-test.opt1700000000000"
    shutil.copytree(settings.edge_path, left)
    unrelated = tmp_path / "edge" / f"opt-test-{uuid.uuid4().hex[:6]}"  # another collection: left alone
    unrelated.mkdir()
    async with QdrantEdgeStore.open(settings) as store:
        await store.ensure_collection(identity_of(embedder))
        assert await store.count() == 50
    assert not left.exists() and unrelated.exists()


async def test_the_store_is_optimized_in_the_background_once_enough_was_written(
    tmp_path: Path, embedder: FastembedEmbedder
) -> None:
    switched = STORE_OPTIMIZATIONS.labels(outcome="switched")
    before = switched._value.get()
    async with filled(tmp_path, embedder, 60, edge_optimize_after=100, edge_optimize_check_s=0.2) as (settings, store):
        keeping = asyncio.create_task(keep_optimized(store, settings))
        try:
            await asyncio.sleep(0.6)
            assert switched._value.get() == before, "60 written: under the threshold"
            await put(store, embedder, events(60, 60))

            async def optimized() -> bool:
                return bool(switched._value.get() == before + 1)

            await wait_until(optimized, timeout_s=60, what="the background optimization")
            assert store.path.name.startswith("opt-test.opt") and await store.count() == 120
            assert (store.points_when_optimized, store.written_since_optimized) == (120, 0), "counted from here"
        finally:
            keeping.cancel()
            await asyncio.gather(keeping, return_exceptions=True)


def test_a_growing_store_is_optimized_each_time_it_doubles_from_2000_points_and_at_most_every_cap() -> None:
    """The schedule `keep_optimized` follows, as points are written into an empty store."""
    optimized_at, points, last = [], 0, 0
    while points < 100_000:
        points += 500
        if optimize_due(points - last, last, 20_000):
            optimized_at.append(points)
            last = points
    assert optimized_at == [2_000, 4_000, 8_000, 16_000, 32_000, 52_000, 72_000, 92_000]
    assert sum(optimized_at) < sum(range(20_000, 100_001, 20_000)), "no more work in all than every 20,000"
    assert not optimize_due(10**9, 0, 0), "EDGE_OPTIMIZE_AFTER=0: never"
    assert optimize_due(150, 0, 150) and not optimize_due(149, 0, 150), "a cap under 2,000 is the threshold"
    assert not optimize_due(FIRST_OPTIMIZE_AT - 1, 0, 20_000)


def optimizing_processes(under: Path) -> list[int]:
    """Pids of running `python -m knowledge.store.optimize --shard` processes on a shard under `under`."""
    return running_with(b"knowledge.store.optimize\0--shard\0" + str(under).encode())


async def test_an_optimizing_process_killed_is_a_failed_attempt_and_the_next_one_switches(
    tmp_path: Path, embedder: FastembedEmbedder
) -> None:
    """The fault is real: the child is killed with SIGKILL, as the kernel's OOM killer would."""
    failed, switched = STORE_OPTIMIZATIONS.labels(outcome="failed"), STORE_OPTIMIZATIONS.labels(outcome="switched")
    failed_before, switched_before = failed._value.get(), switched._value.get()
    async with filled(tmp_path, embedder, 200, edge_optimize_after=100, edge_optimize_check_s=0.3) as (settings, store):
        served = store.path
        keeping = asyncio.create_task(keep_optimized(store, settings))
        try:

            async def child() -> bool:
                return bool(optimizing_processes(tmp_path))

            await wait_until(child, timeout_s=30, what="the optimizing process")
            for pid in optimizing_processes(tmp_path):
                os.kill(pid, signal.SIGKILL)

            async def gave_up() -> bool:
                return bool(failed._value.get() == failed_before + 1)

            await wait_until(gave_up, timeout_s=30, what="the failed attempt")
            assert store.path == served and not copies(tmp_path) and await store.count() == 200

            async def switched_later() -> bool:
                return bool(switched._value.get() == switched_before + 1)

            await wait_until(switched_later, timeout_s=60, what="the next attempt")
            assert store.path != served and await store.count() == 200
        finally:
            keeping.cancel()
            await asyncio.gather(keeping, return_exceptions=True)


async def test_a_damaged_optimization_record_counts_as_never_optimized(
    tmp_path: Path, embedder: FastembedEmbedder
) -> None:
    """A record cut short (written before writes were atomic, or a disk fault) must not stop the store."""
    async with filled(tmp_path, embedder, 50) as (settings, store):
        record = store.path.with_name(store.path.name + ".optimized.json")
    for damaged in ('{"points": 4', '{"points": -3}', '["points"]', '{"points": 1e400}'):
        record.write_text(damaged)
        async with QdrantEdgeStore.open(settings) as store:
            await store.ensure_collection(identity_of(embedder))
            assert store.written_since_optimized == 50, damaged


def payload_memory_of(shard: Path) -> str:
    """The payload memory tier the shard's config asks for (what the store passed Edge last)."""
    return str(json.loads((shard / "edge_config.json").read_text())["payload_memory"])


def payload_tiers(shard: Path) -> set[str]:
    """How each segment of the shard holds its payloads, as Edge wrote it in the segment's record."""
    return {
        json.loads(record.read_text())["config"]["payload_storage_type"]["type"]
        for record in shard.glob("segments/*/segment.json")
    }


async def test_payloads_are_held_in_memory_in_new_shards_and_in_old_ones_once_optimized(
    tmp_path: Path, embedder: FastembedEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`PAYLOAD_MEMORY`: the segments Edge builds keep their payloads in the page cache, not read from
    disk at a process's first touch; a shard made with Edge's default (as earlier versions made them)
    gets it when it is optimized."""
    async with filled(tmp_path / "new", embedder, 20) as (_, store):
        assert payload_memory_of(store.path) == "cached"
        assert payload_tiers(store.path) == {"in_ram_mmap"}
    with monkeypatch.context() as earlier:  # a shard of an earlier version: Edge's default, cold
        earlier.setattr(qdrant_edge, "PAYLOAD_MEMORY", edge.Memory.Cold)
        async with filled(tmp_path, embedder, 50) as (settings, store):
            assert payload_tiers(store.path) == {"mmap"}
    async with QdrantEdgeStore.open(settings) as store:
        await store.ensure_collection(identity_of(embedder))
        assert payload_memory_of(store.path) == "cached"
        await optimize_in_background(store)
        assert payload_tiers(store.path) == {"in_ram_mmap"}, "the optimized segments hold payloads in memory"
        assert await message_of(store, "evt-7") == "the archive flooded 7"


def index_places(store: QdrantEdgeStore) -> dict[str, object]:
    """Where the shard keeps each payload index: None (in RAM, Edge's default) or a `Memory`."""
    schema = store._shard_or_fail().info().payload_schema
    return {field: getattr(info.params, "memory", None) for field, info in schema.items()}


async def counted(store: QdrantEdgeStore) -> list[object]:
    """Answers read from a pinned index and from cached ones."""
    return [await store.count(SearchFilters(player_id="p3")), await store.facet("subcategory", SearchFilters(), 5),
            await store.facet("keywords", SearchFilters(player_id="p3"), 5)]  # fmt: skip


async def test_payload_indexes_are_placed_in_new_shards_and_in_old_ones_once_optimized(
    tmp_path: Path, embedder: FastembedEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`PINNED_INDEXES` in RAM, the others cached from a memory map (an optimized segment opens without
    building them); a shard of an earlier version, every index in RAM, gets them from the optimizing
    process, never rebuilt in the serving one; filters answer the same from either."""
    wanted = {f: None if f in qdrant_edge.PINNED_INDEXES else edge.Memory.Cached for f in PAYLOAD_INDEXES}
    assert {"action", "player_ids", "occurred_at"} <= qdrant_edge.PINNED_INDEXES and None in wanted.values()
    async with filled(tmp_path / "new", embedder, 20) as (_, store):
        assert index_places(store) == wanted
    types = {"keyword": edge.PayloadSchemaType.Keyword, "integer": edge.PayloadSchemaType.Integer,
             "float": edge.PayloadSchemaType.Float, "datetime": edge.PayloadSchemaType.Datetime}  # fmt: skip
    with monkeypatch.context() as earlier:  # as earlier versions made them: a schema type, no params
        earlier.setattr(qdrant_edge, "_index_params", lambda field: types[PAYLOAD_INDEXES[field]])
        async with filled(tmp_path, embedder, 60) as (settings, store):
            assert set(index_places(store).values()) == {None}
            counts = await counted(store)
    async with QdrantEdgeStore.open(settings) as store:
        await store.ensure_collection(identity_of(embedder))
        assert set(index_places(store).values()) == {None}, "not made again in the serving process"
        await optimize_in_background(store)
        assert index_places(store) == wanted
        assert await counted(store) == counts and counts[0] == 9 and counts[1] == {"table_talk_post": 60}


def test_a_shard_is_copied_whole_in_another_process_and_a_failed_copy_says_why(tmp_path: Path) -> None:
    source = tmp_path / "shard"
    (source / "segments" / "s1").mkdir(parents=True)
    (source / "segments" / "s1" / "page_0.dat").write_bytes(bytes(range(256)) * 64)
    (source / "edge_config.json").write_text("{}")
    assert _mirror_directory(source, tmp_path / "copy") == 256 * 64 + 2
    assert (tmp_path / "copy" / "segments" / "s1" / "page_0.dat").read_bytes() == bytes(range(256)) * 64
    assert (tmp_path / "copy" / "edge_config.json").read_text() == "{}"
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError, match=r"copying shard to copy failed: .*Not a directory"):
        _mirror_directory(source, blocker / "copy")


def comparable(record: Any) -> tuple[object, ...]:
    """A point's payload and vectors as plain values (Edge's sparse vectors compare by identity)."""
    vectors = {
        name: v if isinstance(v, list) else (list(v.indices), list(v.values)) for name, v in record.vector.items()
    }
    return record.payload, vectors


async def test_a_copy_taken_while_writes_go_on_is_the_shard_as_it_was_when_noting_began(
    tmp_path: Path, embedder: FastembedEmbedder
) -> None:
    async with filled(tmp_path, embedder, 300) as (_, store):
        target = store.copy_path(1)
        rounds = 0
        stop = asyncio.Event()

        async def write() -> None:  # new events, rewritten ones, deletes, until told to stop
            nonlocal rounds
            while not stop.is_set():
                await put(store, embedder, events(300 + rounds * 5, 5) + events(rounds * 3 % 300, 3, "rewritten"))
                await store.delete([point_id(f"evt-{(rounds * 7 + 1) % 300}")])
                rounds += 1

        writing = asyncio.create_task(write())

        async def writing_started() -> bool:
            return rounds >= 1

        await wait_until(writing_started, timeout_s=30, what="the first writes")
        before = rounds
        taken = await store.take_copy(target)
        during = rounds - before
        stop.set()
        await writing
        assert during >= 1, "writes went on while the copy was taken"
        assert taken["paused_s"] >= 0 and taken["first_pass_s"] > 0
        noted = set(store._changed or ())
        ids: list[int | uuid.UUID | str] = [point_id(f"evt-{i}") for i in range(300 + rounds * 5)]
        unchanged = [i for i in ids if str(i) not in noted]
        copy = edge.EdgeShard.load(str(target))
        try:
            in_copy = {str(r.id): comparable(r) for r in copy.retrieve(unchanged, True, True)}
        finally:
            copy.close()
        served = store._shard_or_fail().retrieve(unchanged, True, True)
        assert in_copy == {str(r.id): comparable(r) for r in served}
        assert len(in_copy) > 300 - rounds
