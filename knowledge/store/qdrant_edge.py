"""The embedded store: Qdrant Edge (Qdrant's engine in-process, on disk, with a WAL).

Edge calls are blocking and some hold the GIL, so each runs in a worker thread: writes on one thread
(in order), reads on a small pool. One process owns a data directory (the WAL is locked), so in
embedded mode the consumer and the API share one process. `optimize()` holds the GIL for its whole
run (about 90 s per 100k points) and is never called in a serving process: the serving process
optimizes a copy in another process and switches to it (`knowledge/store/edge_optimizer.py`, which
uses the copy, catch-up and switch steps here). The collection's identity (model, dimension, vector
name) is kept in a JSON file beside the shard, and checked on every open.
"""

from __future__ import annotations

import asyncio
import glob
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeVar
from uuid import UUID

import qdrant_edge as edge

from knowledge.errors import ConfigurationError, ModelMismatch, StoreRejected, StoreUnavailable
from knowledge.processes import Finished, module_command, run_module
from knowledge.settings import KnowledgeSettings
from knowledge.sparse import SPARSE_NAME, Sparse, each_term
from knowledge.store.base import (
    PAYLOAD_INDEXES,
    Candidates,
    Choose,
    CollectionIdentity,
    Condition,
    DateRange,
    FieldTest,
    KeywordHits,
    MatchAny,
    ScoredPayload,
    point_data,
    skip_unreadable,
    store_filter,
    time_bound,
    unscored,
)
from schemas.documents import DocumentBase
from schemas.search import FACET_FIELDS, SearchFilters

T = TypeVar("T")

_INDEX_PARAMS: Final = {
    "keyword": edge.KeywordIndexParams,
    "integer": edge.IntegerIndexParams,
    "float": edge.FloatIndexParams,
    "datetime": edge.DatetimeIndexParams,
}

#: Payload indexes held in RAM, as Edge holds them by default; every other one is `Cached` (a memory map
#: read into the page cache) once its segment is optimized. Opening an optimized segment builds each
#: index held in RAM anew, holding the GIL, and a serving process opens one at every switch to an
#: optimized copy: at 100k points the event loop stalled 1.08-2.13 s (median 1.16) with every index in
#: RAM, 0.58-0.77 s (0.61) so, 0.44-0.72 s with none (six loads each, interleaved). In RAM stay the
#: fields that facets count (a facet of `action` over one player's events took 11-12 ms in RAM, 18 ms
#: from the map) and the time fields that ranges and timelines read (a time range 1.2 -> 1.7 ms).
PINNED_INDEXES: Final = frozenset({*FACET_FIELDS.values(), "expedition_code", "occurred_at", "occurred_at_ts"})


#: Threads that run reads. Qdrant Edge holds the GIL for the whole of each call, so a second reader
#: runs nothing beside the first: it only adds a thread to every hand-off of the GIL, which the event
#: loop then waits behind. One reader, measured interleaved against four over HTTP (10k events, 8
#: clients, 5-6 rounds each): hybrid searches 225 -> 248 a second, p99 68 -> 54 ms; related events
#: 303 -> 316 a second, p99 53 -> 48 ms. Reads run in the order they are asked.
READ_THREADS = 1

#: Where the payloads of the segments Edge builds are held: `Cached` is a memory map read into the
#: page cache when the shard is opened. With Edge's default (`Cold`) a process reads a page from disk
#: the first time it touches it, holding the GIL meanwhile: 12 random payloads of a 100k store took
#: 0.6-0.9 ms (about one major page fault each) against 0.15-0.2 ms cached, and related events on
#: events not asked for before in a fresh process p50 2.9-5.2 -> 2.6-3.5 ms. The cost: opening the
#: shard takes 0.1 s longer at 100k points (bench/results/2026-12-03/payload_memory.txt). A shard made
#: before keeps its segments until it is optimized, which rebuilds them so.
PAYLOAD_MEMORY: Final = edge.Memory.Cached


def to_edge_filter(filters: SearchFilters | None, extra: Sequence[Condition] = ()) -> Any:
    """SearchFilters (and `extra` conditions) as a Qdrant Edge filter (None when there is nothing to filter)."""
    return store_filter(filters, extra, edge.Filter, _edge_field)


def _edge_field(condition: FieldTest) -> Any:
    if isinstance(condition, MatchAny):
        match = (
            edge.MatchValue(condition.values[0])
            if len(condition.values) == 1
            else edge.MatchAny(list(condition.values))  # type: ignore[arg-type]  # values share one type
        )
        return edge.FieldCondition(key=condition.key, match=match)
    if isinstance(condition, DateRange):
        return edge.FieldCondition(
            key=condition.key,
            range=edge.RangeDateTime(
                gte=condition.gte.isoformat() if condition.gte else None,
                lt=condition.lt.isoformat() if condition.lt else None,
            ),
        )
    return edge.FieldCondition(key=condition.key, range=edge.RangeFloat(gte=condition.gte, lte=condition.lte))


#: An optimized copy's directory: the shard's own name, then `.opt` and when it was taken.
_COPY_SUFFIX: Final = re.compile(r"\.opt\d+$")
#: Points copied into an optimized copy per write while it catches up. Each write holds the GIL and the
#: store's one reader thread, so a search waits behind it: into an optimized 100k copy a point costs
#: 230-320 us (the upsert; reading it 25 us), a batch of 256 took 55-116 ms, one of 64 14-34 ms.
CATCH_UP_BATCH: Final = 64


def _index_memory(field: str) -> Any:
    """Where `field`'s index is held: None (in RAM, Edge's default) or `Memory.Cached`."""
    return None if field in PINNED_INDEXES else edge.Memory.Cached


def _index_params(field: str) -> Any:
    params, memory = _INDEX_PARAMS[PAYLOAD_INDEXES[field]], _index_memory(field)
    return params() if memory is None else params(memory=memory)


def place_indexes(shard: Any) -> list[str]:
    """Give every payload index its place (`PINNED_INDEXES`): the ones missing or held otherwise (a
    shard of an earlier version holds them all in RAM) are made again; the fields made. Blocking, and
    GIL-bound for seconds at 100k points: the optimizing process runs it on its copy, before optimizing."""
    schema = shard.info().payload_schema
    held = {field: getattr(info.params, "memory", None) for field, info in schema.items()}
    wrong = [field for field in PAYLOAD_INDEXES if field not in held or held[field] != _index_memory(field)]
    for field in wrong:
        if field in schema:
            shard.update(edge.UpdateOperation.delete_field_index(field))
        shard.update(edge.UpdateOperation.create_field_index(field, _index_params(field)))
    return wrong


def _identity_file(path: Path) -> Path:
    return path.with_name(path.name + ".identity.json")


def _optimized_file(path: Path) -> Path:
    """Beside a shard: how many points it held when it was last optimized."""
    return path.with_name(path.name + ".optimized.json")


def _points_when_optimized(path: Path) -> int:
    """From the shard's optimization record; 0 (never optimized) when there is none or it is damaged."""
    try:
        points = json.loads(_optimized_file(path).read_text()).get("points", 0)
    except (OSError, ValueError, AttributeError):
        return 0
    return points if isinstance(points, int) and points >= 0 else 0


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write `data` to `path` atomically (a temporary file renamed over it): a crash leaves the old
    file or the new one, never half of one that the next start cannot read."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(data) + "\n")
    os.replace(temporary, path)


def _in_batches(ids: set[str] | None) -> list[list[str]]:
    """The ids, sorted, in catch-up batches."""
    ordered = sorted(ids or ())
    return [ordered[start : start + CATCH_UP_BATCH] for start in range(0, len(ordered), CATCH_UP_BATCH)]


class QdrantEdgeStore:
    """One Qdrant Edge shard holding one collection."""

    def __init__(self, path: Path, timeout_s: float, alias_file: Path | None = None, search_threads: int = 1) -> None:
        self._path = path
        self._search_threads = search_threads
        self._identity_file = _identity_file(path)
        self._alias_file = alias_file
        self._timeout_s = timeout_s
        self._shard: Any = None
        self._vector_name = ""
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edge-write")
        self._readers = ThreadPoolExecutor(max_workers=READ_THREADS, thread_name_prefix="edge-read")
        #: Points written since the shard was last optimized (from its record, then counted).
        self.written_since_optimized = 0
        #: Points the shard held when it was last optimized (0: never).
        self.points_when_optimized = 0
        #: While a copy is being optimized: the ids written or deleted since it was taken.
        self._changed: set[str] | None = None

    @property
    def path(self) -> Path:
        """The directory of the shard being served."""
        return self._path

    @property
    def timeout_s(self) -> float:
        """The longest any call on the shard waits."""
        return self._timeout_s

    @classmethod
    @asynccontextmanager
    async def open(cls, settings: KnowledgeSettings) -> AsyncIterator[QdrantEdgeStore]:
        """The store at `settings.edge_path`, closed on exit."""
        store = cls(
            settings.edge_path, settings.qdrant_timeout_s, settings.edge_alias_file, settings.edge_search_threads
        )
        try:
            yield store
        finally:
            await store.close()

    async def _run(self, executor: ThreadPoolExecutor, fn: Callable[..., T], *args: Any) -> T:
        try:
            async with asyncio.timeout(self._timeout_s):
                return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)
        except TimeoutError as exc:
            raise StoreUnavailable(f"Qdrant Edge did not finish within {self._timeout_s} s") from exc

    def _open_sync(self, identity: CollectionIdentity) -> None:
        if self._identity_file.is_file():
            stored = json.loads(self._identity_file.read_text())
            if stored != identity.as_metadata():
                raise ModelMismatch(
                    f"{self._path} holds vectors of {stored}, not {identity.as_metadata()}: "
                    "use another COLLECTION_NAME or DATA_DIR"
                )
        vectors = {identity.vector_name: edge.EdgeVectorParams(size=identity.dim, distance=edge.Distance.Cosine)}
        if (self._path / "wal").exists() or (self._path / "segments").exists():
            try:  # (the search pool's size is kept in the shard's config: a copy of it keeps it too)
                config = edge.EdgeConfig(
                    vectors=vectors, max_search_threads=self._search_threads, payload_memory=PAYLOAD_MEMORY
                )
                self._shard = edge.EdgeShard.load(str(self._path), config)
            except Exception as exc:  # Edge raises a bare Exception, e.g. when another process owns the WAL
                raise ConfigurationError(f"cannot open the embedded store at {self._path}: {exc}") from exc
        else:
            self._path.mkdir(parents=True, exist_ok=True)
            config = edge.EdgeConfig(
                vectors=vectors,
                sparse_vectors={SPARSE_NAME: edge.EdgeSparseVectorParams(modifier=edge.Modifier.Idf)},
                max_search_threads=self._search_threads,
                payload_memory=PAYLOAD_MEMORY,
            )
            self._shard = edge.EdgeShard.create(str(self._path), config)
        # Idempotent; adds BM25 to a shard made before it existed (its old points need a replay to get it).
        self._shard.update(edge.UpdateOperation.create_sparse_vector(SPARSE_NAME, edge.Modifier.Idf))
        existing = set(self._shard.info().payload_schema)
        for field in PAYLOAD_INDEXES:
            if field not in existing:  # one held otherwise than wanted is rebuilt by the optimizing process
                self._shard.update(edge.UpdateOperation.create_field_index(field, _index_params(field)))
        _write_json(self._identity_file, identity.as_metadata())
        points = int(self._shard.info().points_count)
        self.points_when_optimized = _points_when_optimized(self._path)
        self.written_since_optimized = max(0, points - self.points_when_optimized)
        self._remove_left_over_copies()

    def _remove_left_over_copies(self) -> None:
        """Copies of this shard that a stopped process was optimizing (the shard being served is not one
        of them, and is held by this process now)."""
        root = _COPY_SUFFIX.sub("", self._path.name)
        left_over = [
            left
            for left in self._path.parent.glob(f"{glob.escape(root)}.opt*")
            if left != self._path and _COPY_SUFFIX.fullmatch(left.name[len(root) :]) and left.is_dir()
        ]
        served_as_copy = self._path.name != root and self._alias_names(self._path.name)
        for left in left_over + ([self._path.with_name(root)] if served_as_copy else []):
            _remove_shard_files(left)

    def _alias_names(self, shard: str) -> bool:
        if self._alias_file is None or not self._alias_file.is_file():
            return False
        return bool(json.loads(self._alias_file.read_text()).get("shard") == shard)

    async def ensure_collection(self, identity: CollectionIdentity) -> None:
        self._vector_name = identity.vector_name
        await self._run(self._writer, self._open_sync, identity)

    async def stored_model(self) -> str | None:
        return await self._run(self._writer, self._stored_model_sync)

    def _stored_model_sync(self) -> str | None:
        if not self._identity_file.is_file():
            return None
        stored = json.loads(self._identity_file.read_text()).get("embedding_model")
        return stored if isinstance(stored, str) else None

    def _shard_or_fail(self) -> Any:
        if self._shard is None:
            raise StoreUnavailable("the embedded store is not open")
        return self._shard

    async def upsert(
        self,
        documents: Sequence[DocumentBase],
        vectors: Sequence[list[float]],
        sparse: Sequence[Sparse] | None = None,
    ) -> None:
        points, ids = [], []
        for point in point_data(documents, vectors, sparse):
            named: dict[str, Any] = {self._vector_name: point.dense}
            try:
                if point.sparse is not None:
                    named[SPARSE_NAME] = edge.SparseVector(point.sparse.indices, point.sparse.values)
                points.append(edge.Point(id=point.id, vector=named, payload=point.payload))
                ids.append(point.id)
            except (TypeError, ValueError, OverflowError) as exc:  # a value Qdrant cannot hold
                raise StoreRejected(f"point {point.id}: {str(exc).splitlines()[0]}") from exc
        if points:
            upsert = edge.UpdateOperation.upsert_points(points)
            await self._run(self._writer, self._update, upsert, ids)

    def _update(self, operation: Any, ids: Sequence[str]) -> None:
        """On the writer thread: one update of the shard being served (looked up here, so that no write
        can miss a switch to an optimized copy, which is made on this thread too), its ids noted for a
        copy being optimized."""
        self._shard_or_fail().update(operation)
        self.written_since_optimized += len(ids)
        if self._changed is not None:
            self._changed.update(ids)

    def _request(
        self, query: list[float] | Sparse, filters: SearchFilters, limit: int, payloads: bool,
        among: Sequence[str] | None = None,
    ) -> Any:  # fmt: skip
        """A query of the shard; with `among`, only of those points."""
        nearest = (
            edge.Query.Nearest(edge.SparseVector(query.indices, query.values), using=SPARSE_NAME)
            if isinstance(query, Sparse)
            else edge.Query.Nearest(query, using=self._vector_name)
        )
        where = to_edge_filter(filters)
        if among is not None:
            only = edge.HasIdCondition(set(among))
            where = edge.Filter(must=[where, only] if where is not None else [only])
        return edge.QueryRequest(limit=limit, query=nearest, filter=where, with_payload=payloads)

    def _rescoring(self, query: list[float] | Sparse, ids: Sequence[str]) -> Any:
        """The scores of `ids` (another list's hits, which passed the filters already) for `query`,
        without the filters: a filter costs up to a millisecond per request at 100k events."""
        return self._request(query, SearchFilters(), len(ids), False, among=ids)

    async def search(
        self, query: list[float] | Sparse, filters: SearchFilters, limit: int, *, with_payload: bool = True
    ) -> list[ScoredPayload]:
        if not with_payload:
            request = self._request(query, filters, limit, False)
            return await self._run(self._readers, lambda: _scored(self._shard_or_fail().query(request)))
        return await self._run(self._readers, lambda: self._search_sync(self._shard_or_fail(), query, filters, limit))

    async def keyword_search(self, query: Sparse, filters: SearchFilters, limit: int) -> KeywordHits:
        """One batch on a reader thread: the search, and each term's best score in the collection
        (unfiltered: a filtered one-term search costs as much as the search, and the bound moves by a
        few per cent at most, base.KeywordHits)."""
        terms = [self._request(term, SearchFilters(), 1, False) for term in each_term(query)]
        batch = edge.QueryBatchRequest([self._request(query, filters, limit, False), *terms])
        found, *bests = await self._run(self._readers, lambda: self._shard_or_fail().query_batch(batch))
        return KeywordHits(_scored(found), sum(best[0].score for best in bests if best))

    async def hybrid_then_read(
        self, vector: list[float], sparse: Sparse, keyword: KeywordHits, filters: SearchFilters, limit: int,
        choose: Choose,
    ) -> list[ScoredPayload]:  # fmt: skip
        """One job on a reader thread: each thread hand-off costs a quarter of a millisecond or more
        on a virtual machine whose idle cores sleep."""
        ids = [h.id for h in keyword.hits]
        batch = [self._request(vector, filters, limit, False)]
        if ids:
            batch.append(self._rescoring(vector, ids))

        def run() -> list[ScoredPayload]:
            shard = self._shard_or_fail()
            found, *rescored = shard.query_batch(edge.QueryBatchRequest(batch))
            dense = _scored(found)
            missing = unscored([d.id for d in dense], keyword.hits)
            bm25 = shard.query(self._rescoring(sparse, missing)) if missing else []
            cosines = {str(p.id): p.score for p in (rescored[0] if rescored else [])}
            chosen = choose(Candidates(dense, keyword, cosines, {str(p.id): p.score for p in bm25}))
            payloads = _read_payloads(shard, [c.id for c in chosen])
            return [ScoredPayload(c.id, c.score, payloads[c.id]) for c in chosen if c.id in payloads]

        return await self._run(self._readers, run)

    def _search_sync(
        self, shard: Any, query: list[float] | Sparse, filters: SearchFilters, limit: int
    ) -> list[ScoredPayload]:
        """On a reader thread: the hits with their payloads."""
        try:
            points = shard.query(self._request(query, filters, limit, True))
        except Exception as exc:
            if not _unreadable(exc):
                raise
            # A point whose payload cannot be read is among the hits: rank without payloads, then
            # read each hit's payload, leaving out the unreadable one.
            found = _scored(shard.query(self._request(query, filters, limit, False)))
            payloads = _read_payloads(shard, [f.id for f in found])
            return [ScoredPayload(f.id, f.score, payloads[f.id]) for f in found if f.id in payloads]
        return [ScoredPayload(id=str(p.id), score=p.score, payload=p.payload or {}) for p in points]

    async def search_like(self, point_id: UUID, filters: SearchFilters, limit: int) -> list[ScoredPayload] | None:
        """One job on a reader thread: the point's vector, then the search."""

        def run() -> list[ScoredPayload] | None:
            shard = self._shard_or_fail()
            vector = self._stored_vector(shard, point_id)
            return None if vector is None else self._search_sync(shard, vector, filters, limit)

        return await self._run(self._readers, run)

    async def retrieve(self, point_ids: Sequence[UUID]) -> list[dict[str, Any]]:
        shard = self._shard_or_fail()
        return list((await self._run(self._readers, _read_payloads, shard, [str(i) for i in point_ids])).values())

    async def count(self, filters: SearchFilters | None = None) -> int:
        request = edge.CountRequest(exact=True, filter=to_edge_filter(filters))
        return int(await self._run(self._readers, self._shard_or_fail().count, request))

    async def facet(self, key: str, filters: SearchFilters, limit: int) -> dict[str, int]:
        request = edge.FacetRequest(key=key, limit=limit, exact=True, filter=to_edge_filter(filters))
        response = await self._run(self._readers, self._shard_or_fail().facet, request)
        return {str(hit.value): int(hit.count) for hit in response.hits}

    async def vector(self, point_id: UUID) -> list[float] | None:
        shard = self._shard_or_fail()
        return await self._run(self._readers, self._stored_vector, shard, point_id)

    def _stored_vector(self, shard: Any, point_id: UUID) -> list[float] | None:
        records = shard.retrieve([str(point_id)], False, [self._vector_name])
        if not records or not isinstance(records[0].vector, dict):
            return None
        found = records[0].vector.get(self._vector_name)
        return list(found) if found is not None else None

    async def delete(self, point_ids: Sequence[UUID]) -> None:
        if not point_ids:
            return
        ids = [str(i) for i in point_ids]
        shard = self._shard_or_fail()
        # Deleting reads the old payload, and a failed update leaves the shard refusing every later
        # one ("Not recovered from previous error"): a payload that cannot be read is first replaced
        # (an upsert does not read it), then deleted.
        readable = await self._run(self._readers, _read_payloads, shard, ids)
        unreadable = [i for i in ids if i not in readable]
        if unreadable:
            records = await self._run(self._readers, shard.retrieve, unreadable, False, True)
            blank = [edge.Point(id=r.id, vector=r.vector, payload={}) for r in records if r.vector]
            if blank:
                await self._run(self._writer, self._update, edge.UpdateOperation.upsert_points(blank), [])
        doomed: list[int | UUID | str] = list(ids)
        await self._run(self._writer, self._update, edge.UpdateOperation.delete_points(doomed), ids)

    async def scroll_by_time(
        self,
        filters: SearchFilters,
        limit: int,
        start_from_ts: float | None,
        until_ts: float | None = None,
        *,
        newest_first: bool = False,
    ) -> list[dict[str, Any]]:
        where = to_edge_filter(filters, time_bound(until_ts, newest_first))
        direction = edge.Direction.Desc if newest_first else edge.Direction.Asc
        order = edge.OrderBy("occurred_at_ts", direction, start_from_ts)

        def run(payloads: bool) -> Any:
            request = edge.ScrollRequest(limit=limit, filter=where, with_payload=payloads, order_by=order)
            return self._shard_or_fail().scroll(request)[0]

        try:
            records = await self._run(self._readers, run, True)
        except Exception as exc:
            if not _unreadable(exc):
                raise
            shard = self._shard_or_fail()
            ids = [str(r.id) for r in await self._run(self._readers, run, False)]
            return list((await self._run(self._readers, _read_payloads, shard, ids)).values())
        return [r.payload or {} for r in records]

    async def ping(self) -> None:
        await self._run(self._readers, self._shard_or_fail().info)

    async def optimize(self) -> bool:
        """Build the HNSW index and merge segments. Blocking and GIL-bound for a long time (about 90 s
        per 100k points on 2 cores): a serving process never calls it (it optimizes a copy in another
        process: knowledge/store/edge_optimizer.py); `python -m knowledge.store.optimize` runs it on a
        store no process holds."""
        shard = self._shard_or_fail()

        def optimize() -> bool:
            place_indexes(shard)
            done = bool(shard.optimize())
            self.points_when_optimized = int(shard.info().points_count)
            _write_json(_optimized_file(self._path), {"points": self.points_when_optimized})
            self.written_since_optimized = 0
            return done

        return await asyncio.get_running_loop().run_in_executor(self._writer, optimize)

    # --- optimizing a copy while serving (the steps; knowledge/store/edge_optimizer.py runs them) -----

    def copy_path(self, stamp: int) -> Path:
        """Where a copy of the shard taken at `stamp` goes."""
        return self._path.with_name(f"{_COPY_SUFFIX.sub('', self._path.name)}.opt{stamp}")

    async def take_copy(self, target: Path) -> dict[str, float]:
        """Copy the shard's directory to `target` as it is at one moment, and from then on note every
        id written or deleted. Two passes (`knowledge/store/mirror.py`): the first while writes go on,
        then, on the writer thread (no write comes between), the shard flushed and the copy made equal
        to it, rewriting only what changed meanwhile: writes wait for the second pass alone. Returns
        each pass's seconds and what the second rewrote."""
        loop = asyncio.get_running_loop()

        def start() -> None:
            self._shard_or_fail().flush()
            _remove_shard_files(target)

        def finish() -> dict[str, float]:
            started = time.perf_counter()
            self._shard_or_fail().flush()
            rewritten = _mirror_directory(self._path, target)
            self._changed = set()
            return {"paused_s": round(time.perf_counter() - started, 3), "rewritten_bytes": rewritten}

        try:
            await loop.run_in_executor(self._writer, start)
            started = time.perf_counter()
            await _mirror_in_process(self._path, target)
            first = round(time.perf_counter() - started, 3)
            return {"first_pass_s": first} | await loop.run_in_executor(self._writer, finish)
        except BaseException:  # e.g. the disk is full: no partial copy is left behind
            await loop.run_in_executor(self._writer, _remove_shard_files, target)
            raise

    async def drop_copy(self, copy: Path) -> None:
        """Give up a copy: stop noting ids and delete it, unless it is served already (a switch that
        was under way when the caller was cancelled finished first: both run on the writer thread)."""

        def drop() -> None:
            if self._path != copy:
                self._changed = None
                _remove_shard_files(copy)

        await asyncio.get_running_loop().run_in_executor(self._writer, drop)

    async def catch_up(self, copy: Any) -> int:
        """Copy into the shard `copy` the points written or deleted since it was taken, as they are now;
        return how many. Off the writer thread, in batches: writes go on meanwhile, and are noted."""
        batches = _in_batches(await asyncio.get_running_loop().run_in_executor(self._writer, self._take_changed))
        for batch in batches:
            await self._run(self._readers, _copy_batch, self._shard_or_fail(), copy, batch)
        return sum(len(batch) for batch in batches)

    def _take_changed(self) -> set[str]:
        """On the writer thread (so that no write's ids fall between): the ids noted so far; noting
        starts afresh."""
        changed, self._changed = self._changed or set(), set()
        return changed

    async def switch_to(self, copy: Any, path: Path) -> Any:
        """On the writer thread (no write comes between): the last noted points copied, the copy flushed
        and named by the alias file (where the next process opens the store), then served from here on.
        Returns the shard served before, for the caller to close once the reads in flight are done."""

        def switch() -> Any:
            for batch in _in_batches(self._changed):
                _copy_batch(self._shard_or_fail(), copy, batch)
            copy.flush()
            if self._identity_file.is_file():
                shutil.copyfile(self._identity_file, _identity_file(path))
            points = int(copy.info().points_count)
            _write_json(_optimized_file(path), {"points": points})
            if self._alias_file is not None:
                _write_alias(self._alias_file, path.name)
            served, self._shard, self._path, self._changed = self._shard, copy, path, None
            self._identity_file = _identity_file(path)
            self.written_since_optimized, self.points_when_optimized = 0, points
            return served

        return await asyncio.get_running_loop().run_in_executor(self._writer, switch)

    async def close_replaced(self, shard: Any, path: Path) -> None:
        """Close a shard that is no longer served and delete its files."""
        await asyncio.get_running_loop().run_in_executor(self._readers, _close_and_remove, shard, path)

    def info(self) -> dict[str, int]:
        """Points, segments and indexed vectors of the shard."""
        info = self._shard_or_fail().info()
        return {
            "points": info.points_count,
            "segments": info.segments_count,
            "indexed_vectors": info.indexed_vectors_count,
        }

    async def close(self) -> None:
        shard, self._shard = self._shard, None
        if shard is not None:
            await asyncio.get_running_loop().run_in_executor(self._writer, _flush_and_close, shard)
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)


def _scored(points: Sequence[Any]) -> list[ScoredPayload]:
    """A query's points as hits without payloads."""
    return [ScoredPayload(str(p.id), p.score, {}) for p in points]


def _read_payloads(shard: Any, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Payloads of the points among `ids` that exist and can be read (unreadable ones are skipped,
    logged and counted), in the order of `ids`. Blocking: call it on a reader thread."""
    try:
        records = shard.retrieve(ids, True, False)
    except Exception as exc:
        if not _unreadable(exc):
            raise
        records = []
        for one in ids:
            try:
                records += shard.retrieve([one], True, False)
            except Exception as single:
                if not _unreadable(single):
                    raise
                skip_unreadable(one, single)
    by_id = {str(r.id): r.payload or {} for r in records}
    return {i: by_id[i] for i in ids if i in by_id}


def _flush_and_close(shard: Any) -> None:
    shard.flush()
    shard.close()


def _copy_batch(source: Any, target: Any, ids: list[str]) -> None:
    """The points `ids` as `source` holds them now, written to `target`; those `source` lacks deleted."""
    records = source.retrieve(ids, True, True)
    present = {str(r.id) for r in records}
    if records:
        points = [edge.Point(id=r.id, vector=r.vector, payload=r.payload or {}) for r in records]
        target.update(edge.UpdateOperation.upsert_points(points))
    gone: list[int | UUID | str] = [i for i in ids if i not in present]
    if gone:
        target.update(edge.UpdateOperation.delete_points(gone))


#: How long one pass of copying a shard's directory may take (350 MB at 100k points: 0.2-0.4 s on a
#: settled disk, 1.8 s in bench.optimize, 20 s after the points were written).
COPY_TIMEOUT_S: Final = 600.0


_MIRROR: Final = "knowledge.store.mirror"


def _mirrored(source: Path, target: Path, done: Finished | subprocess.CompletedProcess[str]) -> int:
    """The bytes a mirroring process wrote, from its output; OSError saying why when it failed."""
    if done.returncode != 0:
        raise OSError(f"copying {source.name} to {target.name} failed: {done.stderr.strip()[-300:]}")
    return int(json.loads(done.stdout)["bytes_written"])


def _mirror_directory(source: Path, target: Path) -> int:
    """Make `target` a copy of `source` (`knowledge/store/mirror.py`) in a process of its own, waiting
    here; the bytes written. In this process each system call of the copy would give up the GIL and
    wait to get it back behind the event loop and the readers: with one busy Python thread beside it,
    copying a 100k-point shard (161 files, 350 MB) took 6.8-7.5 s in this process against 0.15-0.18 s
    in another (docs/OPERATIONS.md, "A big embedded store")."""
    command = module_command(_MIRROR, str(source), str(target))
    done = subprocess.run(command, capture_output=True, text=True, timeout=COPY_TIMEOUT_S, check=False)
    return _mirrored(source, target, done)


async def _mirror_in_process(source: Path, target: Path) -> int:
    """`_mirror_directory` awaited, the process killed if this is cancelled or it overruns."""
    done = await run_module(_MIRROR, str(source), str(target), timeout_s=COPY_TIMEOUT_S)
    return _mirrored(source, target, done)


def _remove_shard_files(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    for name in (_identity_file, _optimized_file):
        name(path).unlink(missing_ok=True)


def _close_and_remove(shard: Any, path: Path) -> None:
    shard.close()
    _remove_shard_files(path)


def _write_alias(alias: Path, target: str) -> None:
    _write_json(alias, {"shard": target, "switched_at": datetime.now(UTC).isoformat()})


def switch_alias(settings: KnowledgeSettings, target: str) -> None:
    """Point the collection at the shard `target` (atomically: a temporary file renamed over the alias
    file); read by the next process that opens the store."""
    _write_alias(settings.edge_alias_file, target)


def shard_in_use(path: Path) -> bool:
    """Whether a process (this one included) holds the shard at `path` open: its WAL is locked.
    Blocking: call it in a thread."""
    if not path.exists():
        return False
    try:
        shard = edge.EdgeShard.load(str(path))
    except Exception:  # Edge raises a bare Exception when the WAL is locked
        return True
    shard.close()
    return False


def _unreadable(exc: BaseException) -> bool:
    """Whether Edge failed because a stored payload cannot be decoded (e.g. nested beyond its reader's
    recursion limit: written before this service refused such values at the door)."""
    return "deserialize payload" in str(exc) or "Failed to decode value" in str(exc)
