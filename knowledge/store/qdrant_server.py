"""The store on a Qdrant server (production, clusters) through `AsyncQdrantClient`.

The same code runs against qdrant-client's local mode (`QDRANT_URL=:memory:` or `QDRANT_LOCAL_PATH`),
which is how the tests reach this path without a server. Local mode does its work inside the
coroutine (it blocks the loop); it is for tests and trials, never production.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from uuid import UUID

import structlog
from qdrant_client import AsyncQdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from knowledge.errors import ForeignCollection, ModelMismatch, StoreRejected, StoreUnavailable
from knowledge.model_files import model_of_vector
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
    replaceable_by,
    store_filter,
    time_bound,
    unscored,
)
from schemas.documents import DocumentBase
from schemas.search import SearchFilters

T = TypeVar("T")
log = structlog.get_logger(__name__)
#: Statuses that mean "later": request timeout, too many requests.
_RETRIABLE_STATUS = frozenset({408, 429})
#: BM25 vectors: term frequencies from knowledge/sparse.py; the collection applies IDF.
_SPARSE_CONFIG = {SPARSE_NAME: models.SparseVectorParams(modifier=models.Modifier.IDF)}

_INDEX_SCHEMAS: dict[str, models.PayloadSchemaType] = {
    "keyword": models.PayloadSchemaType.KEYWORD,
    "integer": models.PayloadSchemaType.INTEGER,
    "float": models.PayloadSchemaType.FLOAT,
    "datetime": models.PayloadSchemaType.DATETIME,
}


def to_qdrant_filter(filters: SearchFilters | None, extra: Sequence[Condition] = ()) -> models.Filter | None:
    """SearchFilters (and `extra` conditions) as a qdrant-client filter (None when there is nothing to filter)."""
    return store_filter(filters, extra, models.Filter, _field)


def _field(condition: FieldTest) -> models.Condition:
    if isinstance(condition, MatchAny):
        match: models.MatchAny | models.MatchValue = (
            models.MatchValue(value=condition.values[0])
            if len(condition.values) == 1
            else models.MatchAny(any=list(condition.values))  # type: ignore[arg-type]
        )
        return models.FieldCondition(key=condition.key, match=match)
    if isinstance(condition, DateRange):
        return models.FieldCondition(key=condition.key, range=models.DatetimeRange(gte=condition.gte, lt=condition.lt))
    return models.FieldCondition(key=condition.key, range=models.Range(gte=condition.gte, lte=condition.lte))


class QdrantServerStore:
    """A collection on a Qdrant server, or in qdrant-client's local mode."""

    def __init__(
        self, client: AsyncQdrantClient, collection: str, timeout_s: float, cluster: dict[str, int] | None = None
    ) -> None:
        self._client = client
        self._collection = collection
        self._timeout_s = timeout_s
        self._vector_name = ""
        #: shard_number, replication_factor, write_consistency_factor of a collection it creates.
        self._cluster = cluster or {}

    @classmethod
    @asynccontextmanager
    async def open(cls, settings: KnowledgeSettings) -> AsyncIterator[QdrantServerStore]:
        """The store for `settings`, closed on exit."""
        if settings.qdrant_local_path is not None:
            client = AsyncQdrantClient(path=str(settings.qdrant_local_path))
        elif settings.qdrant_url == ":memory:":
            client = AsyncQdrantClient(location=":memory:")
        else:
            client = AsyncQdrantClient(
                url=settings.qdrant_url,
                api_key=settings.qdrant_api_key,
                timeout=int(settings.qdrant_timeout_s),
            )
        cluster = {
            "shard_number": settings.qdrant_shard_number,
            "replication_factor": settings.qdrant_replication_factor,
            "write_consistency_factor": settings.qdrant_write_consistency_factor,
        }
        store = cls(
            client, settings.collection_name, settings.qdrant_timeout_s, {k: v for k, v in cluster.items() if v}
        )
        try:
            yield store
        finally:
            await store.close()

    async def _call(self, call: Awaitable[T]) -> T:
        """Await one client call under the timeout; an outage is StoreUnavailable (retried), a refusal
        that retrying cannot change (a 4xx other than 408/429) is StoreRejected."""
        try:
            async with asyncio.timeout(self._timeout_s):
                return await call
        except TimeoutError as exc:
            raise StoreUnavailable(f"Qdrant did not answer within {self._timeout_s} s") from exc
        except UnexpectedResponse as exc:
            status = exc.status_code or 0
            if 400 <= status < 500 and status not in _RETRIABLE_STATUS:
                raise StoreRejected(f"Qdrant refused the request ({exc.status_code}): {exc.content[:500]!r}") from exc
            raise StoreUnavailable(f"Qdrant failed: {exc}") from exc
        except (ResponseHandlingException, ConnectionError) as exc:
            raise StoreUnavailable(f"Qdrant failed: {exc}") from exc

    async def ensure_collection(self, identity: CollectionIdentity) -> None:
        """Create the collection, or take an existing one of ours: safe to run from any number of
        processes at once (the API and every consumer start together). What a newer version adds to
        an existing collection (the BM25 vector, payload indexes) is added; a collection of another
        model or of another program is refused with the reason."""
        self._vector_name = identity.vector_name
        if not await self._call(self._client.collection_exists(self._collection)):
            await self._create(identity)
        info = await self._call(self._client.get_collection(self._collection))
        vectors = info.config.params.vectors
        params = vectors.get(identity.vector_name) if isinstance(vectors, dict) else None
        if params is None or params.size != identity.dim:
            raise ModelMismatch(
                f"collection {self._collection!r} has no {identity.dim}-d vector {identity.vector_name!r}: "
                "it was made by another model; use another COLLECTION_NAME"
            )
        stored = (info.config.metadata or {}).get("embedding_model")
        if stored is not None and stored != identity.embedding_model:
            raise ModelMismatch(
                f"collection {self._collection!r} holds vectors of {stored!r}, not {identity.embedding_model!r}"
            )
        await self._refuse_foreign_points()
        if SPARSE_NAME not in (info.config.params.sparse_vectors or {}):
            await self._add_bm25()
        missing = {f: k for f, k in PAYLOAD_INDEXES.items() if f not in (info.payload_schema or {})}
        for field, kind in missing.items():  # idempotent: a concurrent starter may make the same index
            await self._call(
                self._client.create_payload_index(self._collection, field, field_schema=_INDEX_SCHEMAS[kind], wait=True)
            )
        if missing:
            log.info("payload_indexes_created", collection=self._collection, fields=sorted(missing))

    async def stored_model(self) -> str | None:
        if not await self._call(self._client.collection_exists(self._collection)):
            return None
        info = await self._call(self._client.get_collection(self._collection))
        recorded = (info.config.metadata or {}).get("embedding_model")
        if isinstance(recorded, str):
            return recorded
        vectors = info.config.params.vectors  # a collection of mcp-server-qdrant's has no record: its vector's name
        known = [m for m in map(model_of_vector, vectors if isinstance(vectors, dict) else ()) if m is not None]
        return known[0].id if known else None

    async def _create(self, identity: CollectionIdentity) -> None:
        try:
            await self._call(
                self._client.create_collection(
                    self._collection,
                    vectors_config={
                        identity.vector_name: models.VectorParams(size=identity.dim, distance=models.Distance.COSINE)
                    },
                    sparse_vectors_config=_SPARSE_CONFIG,
                    metadata=identity.as_metadata(),
                    shard_number=self._cluster.get("shard_number"),
                    replication_factor=self._cluster.get("replication_factor"),
                    write_consistency_factor=self._cluster.get("write_consistency_factor"),
                )
            )
            log.info("collection_created", collection=self._collection, **self._cluster)
        except (StoreRejected, ValueError):  # another process made it first: 409 on a server, ValueError locally
            if not await self._call(self._client.collection_exists(self._collection)):
                raise

    async def _refuse_foreign_points(self) -> None:
        """Refuse a collection whose points this service did not write (they have no `event_id`)."""
        records, _ = await self._call(self._client.scroll(self._collection, limit=1, with_payload=True))
        if records and "event_id" not in (records[0].payload or {}):
            keys = sorted(records[0].payload or {})[:5]
            raise ForeignCollection(
                f"collection {self._collection!r} holds points this service did not write (payload keys {keys}, "
                "no event_id: mcp-server-qdrant's, say); set COLLECTION_NAME to a collection of this service's, "
                "or a new one (it is created)"
            )

    async def _add_bm25(self) -> None:
        """Give a collection made before keyword search its BM25 vector (Qdrant 1.18+ can add one)."""
        config = models.SparseVectorNameConfig(sparse=models.SparseVectorConfig(modifier=models.Modifier.IDF))
        try:
            await self._call(self._client.create_vector_name(self._collection, SPARSE_NAME, config))
        except StoreRejected as exc:
            raise ForeignCollection(
                f"collection {self._collection!r} has no BM25 vector and this Qdrant server cannot add one ({exc}); "
                "run `greatwork reindex` to build a new collection with it"
            ) from exc
        log.warning("bm25_vector_added", collection=self._collection,
                    hint="points written before have no BM25 vector: `greatwork reindex` gives them one")  # fmt: skip

    async def upsert(
        self,
        documents: Sequence[DocumentBase],
        vectors: Sequence[list[float]],
        sparse: Sequence[Sparse] | None = None,
    ) -> None:
        try:
            operations: list[models.UpdateOperation] = []
            for document, point in zip(documents, point_data(documents, vectors, sparse), strict=True):
                named: dict[str, Any] = {self._vector_name: point.dense}
                if point.sparse is not None:
                    named[SPARSE_NAME] = models.SparseVector(indices=point.sparse.indices, values=point.sparse.values)
                struct = models.PointStruct(id=point.id, vector=named, payload=point.payload)
                # Each point replaces a stored one only if that is not newer: checked and written in one
                # operation on the server, so two consumers racing on one event cannot land the older.
                guard = to_qdrant_filter(None, [replaceable_by(document)])
                operations.append(
                    models.UpsertOperation(upsert=models.PointsList(points=[struct], update_filter=guard))
                )
            if operations:  # one request for the batch
                await self._call(self._client.batch_update_points(self._collection, operations, wait=True))
        except (TypeError, ValueError, OverflowError) as exc:  # the client cannot encode a value
            raise StoreRejected(f"Qdrant cannot hold a value of this batch: {str(exc)[:500]}") from exc

    def _query(
        self, query: list[float] | Sparse, filters: SearchFilters, limit: int, among: Sequence[str] | None = None,
        *, with_payload: bool = False,
    ) -> models.QueryRequest:  # fmt: skip
        """A query (without payloads unless asked); with `among`, only of those points."""
        vector, using = (
            (models.SparseVector(indices=query.indices, values=query.values), SPARSE_NAME)
            if isinstance(query, Sparse)
            else (query, self._vector_name)
        )
        where = to_qdrant_filter(filters)
        if among is not None:
            only = models.HasIdCondition(has_id=list(among))
            where = models.Filter(must=[where, only] if where is not None else [only])
        return models.QueryRequest(query=vector, using=using, filter=where, limit=limit, with_payload=with_payload)

    def _rescoring(self, query: list[float] | Sparse, ids: Sequence[str]) -> models.QueryRequest:
        """The scores of `ids` (another list's hits, which passed the filters already) for `query`,
        without the filters."""
        return self._query(query, SearchFilters(), len(ids), ids)

    async def _batch(self, requests: list[models.QueryRequest]) -> list[list[ScoredPayload]]:
        responses = await self._call(self._client.query_batch_points(self._collection, requests))
        return [[ScoredPayload(str(p.id), p.score, p.payload or {}) for p in r.points] for r in responses]

    async def search(
        self, query: list[float] | Sparse, filters: SearchFilters, limit: int, *, with_payload: bool = True
    ) -> list[ScoredPayload]:
        [found] = await self._batch([self._query(query, filters, limit, with_payload=with_payload)])
        return found

    async def keyword_search(self, query: Sparse, filters: SearchFilters, limit: int) -> KeywordHits:
        """One batch request: the search, and each term's best score in the collection (unfiltered,
        base.KeywordHits)."""
        terms = [self._query(term, SearchFilters(), 1) for term in each_term(query)]
        found, *bests = await self._batch([self._query(query, filters, limit), *terms])
        return KeywordHits(found, sum(best[0].score for best in bests if best))

    async def hybrid_then_read(
        self, vector: list[float], sparse: Sparse, keyword: KeywordHits, filters: SearchFilters, limit: int,
        choose: Choose,
    ) -> list[ScoredPayload]:  # fmt: skip
        """Three requests: the dense search with the cosines of the keyword hits (one batch), the BM25
        scores of the dense hits without one, then the chosen points' payloads."""
        ids = [h.id for h in keyword.hits]
        dense, *rescored = await self._batch(
            [self._query(vector, filters, limit), *([self._rescoring(vector, ids)] if ids else [])]
        )
        missing = unscored([d.id for d in dense], keyword.hits)
        [bm25] = await self._batch([self._rescoring(sparse, missing)]) if missing else [[]]
        cosines = {c.id: c.score for c in (rescored[0] if rescored else [])}
        chosen = choose(Candidates(dense, keyword, cosines, {b.id: b.score for b in bm25}))
        if not chosen:
            return []
        records = await self._call(
            self._client.retrieve(self._collection, ids=[c.id for c in chosen], with_payload=True)
        )
        payloads = {str(r.id): r.payload or {} for r in records}
        return [ScoredPayload(c.id, c.score, payloads[c.id]) for c in chosen if c.id in payloads]

    async def retrieve(self, point_ids: Sequence[UUID]) -> list[dict[str, Any]]:
        records = await self._call(
            self._client.retrieve(self._collection, ids=[str(i) for i in point_ids], with_payload=True)
        )
        return [r.payload or {} for r in records]

    async def count(self, filters: SearchFilters | None = None) -> int:
        result = await self._call(
            self._client.count(self._collection, count_filter=to_qdrant_filter(filters), exact=True)
        )
        return result.count

    async def facet(self, key: str, filters: SearchFilters, limit: int) -> dict[str, int]:
        response = await self._call(
            self._client.facet(self._collection, key, facet_filter=to_qdrant_filter(filters), limit=limit, exact=True)
        )
        return {str(hit.value): int(hit.count) for hit in response.hits}

    async def search_like(self, point_id: UUID, filters: SearchFilters, limit: int) -> list[ScoredPayload] | None:
        vector = await self.vector(point_id)
        return None if vector is None else await self.search(vector, filters, limit)

    async def vector(self, point_id: UUID) -> list[float] | None:
        records = await self._call(
            self._client.retrieve(
                self._collection, ids=[str(point_id)], with_payload=False, with_vectors=[self._vector_name]
            )
        )
        if not records or not isinstance(records[0].vector, dict):
            return None
        found = records[0].vector.get(self._vector_name)
        return [float(x) for x in found if isinstance(x, int | float)] if isinstance(found, list) else None

    async def delete(self, point_ids: Sequence[UUID]) -> None:
        if point_ids:
            selector = models.PointIdsList(points=[str(i) for i in point_ids])
            await self._call(self._client.delete(self._collection, points_selector=selector, wait=True))

    async def scroll_by_time(
        self,
        filters: SearchFilters,
        limit: int,
        start_from_ts: float | None,
        until_ts: float | None = None,
        *,
        newest_first: bool = False,
    ) -> list[dict[str, Any]]:
        direction = models.Direction.DESC if newest_first else models.Direction.ASC
        order = models.OrderBy(key="occurred_at_ts", direction=direction, start_from=start_from_ts)
        extra = time_bound(until_ts, newest_first)
        records, _ = await self._call(
            self._client.scroll(
                self._collection,
                scroll_filter=to_qdrant_filter(filters, extra),
                limit=limit,
                order_by=order,
                with_payload=True,
            )
        )
        return [r.payload or {} for r in records]

    async def switch_alias(self, target: str) -> str | None:
        """Point the alias (this store's collection name) at the collection `target`, in one alias
        operation on the server; returns the collection it served before. A collection made before
        aliases, under the alias's own name, is deleted first (Qdrant cannot rename it; `target` holds
        its rebuilt contents): reads fail for the moment between the two calls."""
        aliases = await self._call(self._client.get_aliases())
        before = {a.alias_name: a.collection_name for a in aliases.aliases}.get(self._collection)
        operations: list[models.AliasOperations] = [
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name=target, alias_name=self._collection)
            )
        ]
        if before is not None:
            unlink = models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=self._collection))
            operations.insert(0, unlink)
        elif await self._call(self._client.collection_exists(self._collection)):
            await self._call(self._client.delete_collection(self._collection))
            before = self._collection
        await self._call(self._client.update_collection_aliases(operations))
        return before

    async def is_alias(self) -> bool:
        """Whether this store's collection name is an alias on the server."""
        aliases = await self._call(self._client.get_aliases())
        return any(a.alias_name == self._collection for a in aliases.aliases)

    async def ping(self) -> None:
        await self._call(self._client.collection_exists(self._collection))

    async def close(self) -> None:
        await self._client.close()
