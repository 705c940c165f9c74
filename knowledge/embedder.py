"""Text -> vectors. fastembed (ONNX, CPU) runs in worker threads, never on the event loop.

Documents: batches are deduplicated (a season repeats many texts), texts seen recently come from a
bounded cache, and the rest are cut into model batches, each text its own onnxruntime run (so none
is padded to the length of another, and none changes another's vector). The model batches run side
by side, one per core (`EMBED_WORKERS`), each on one onnxruntime thread (`EMBED_THREADS`): as fast
as one call on every core when the cores are free, and when another thread (a search, the API)
takes a core, only the batch on that core waits, where one call's threads would all wait for it at
every operator.

Queries: a thread and a session of their own, so a search never waits behind an ingest batch. Waiting
queries are embedded oldest first, at most `EMBED_QUERY_BATCH` per model call (default 1: on 2 cores
the model is fastest one text at a time, and a query then waits only for those ahead of it);
at most `EMBED_QUERY_QUEUE` wait, and none longer than `EMBED_QUERY_DEADLINE_S`: beyond that a search
is refused at once (Overloaded: 503 with Retry-After), so memory stays bounded whatever the
concurrency, and a query either gets its answer in time or is told to come back.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, Protocol

import numpy as np

from knowledge.errors import Overloaded
from knowledge.metrics import QUERIES_REFUSED, QUERIES_WAITING
from knowledge.model_files import DEFAULT_MODEL, Model, assemble
from knowledge.settings import KnowledgeSettings

Vector = list[float]


class Embedder(Protocol):
    """What the pipeline and the search need from a model."""

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    @property
    def vector_name(self) -> str: ...

    def embed_documents(self, texts: Sequence[str]) -> asyncio.Future[list[Vector]]:
        """One vector per text, in order. The model starts at the call (not when the result is first
        awaited), so a caller can wait for other work meanwhile."""
        ...

    async def embed_query(self, text: str) -> Vector:
        """The vector of a search query."""
        ...


#: Texts per onnxruntime run. The model quantises its activations per run, over the whole input, padding
#: included, so a text run beside others gets a slightly different vector (cosine ~0.985); one text per
#: run makes a text's vector its own, whatever it was embedded with, and is also the fastest here (no
#: padding: 91 texts/s on one thread, against 72 / 57 / 46 for 2 / 4 / 8 per run). `EMBED_BATCH_SIZE`
#: is how many texts one model-call thread takes at a time.
TEXTS_PER_RUN: Final = 1


def _register_model(model: Model) -> str:
    """fastembed's name for `model` as this service runs it (registered once): loaded from the
    assembled directory, never fetched."""
    from fastembed import TextEmbedding
    from fastembed.common.model_description import ModelSource, PoolingType

    name = f"greatwork/{model.slug}-onnx-int8"
    known = {m["model"] for m in TextEmbedding.list_supported_models()}
    if name not in known:
        TextEmbedding.add_custom_model(
            model=name,
            pooling=PoolingType.CLS if model.pooling == "cls" else PoolingType.MEAN,
            normalization=True,
            sources=ModelSource(hf=model.id),
            dim=model.dim,
            model_file="model.onnx",
        )
    return name


class FastembedEmbedder:
    """An embedding model (`model_files.MODELS`) through fastembed, loaded from packaged files."""

    def __init__(
        self,
        model: Any,
        batch_size: int,
        cache_size: int = 20_000,
        query_model: Any = None,
        *,
        workers: int = 1,
        query_batch: int = 1,
        query_queue: int = 64,
        query_deadline_s: float = 3.0,
        query_cache_size: int = 2048,
        query_nice: int = 0,
        query_idle: bool = False,
        spec: Model = DEFAULT_MODEL,
    ) -> None:
        self.spec = spec
        self._model = model
        self._query_model = query_model if query_model is not None else model
        self._batch_size = batch_size
        # text -> float32 vector (1.5 kB; the same vector as a list of Python floats takes ~12 kB)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()  # touched only by the worker thread
        self._cache_size = cache_size
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
        # The model calls of one batch, side by side (onnxruntime sessions run calls concurrently).
        self.workers = workers
        self._model_calls = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="embed-model")
        # Queries get a thread of their own, so a search never waits behind an ingest batch.
        # Its CPU priority is below ingest's (`query_nice`, `query_idle`): where both want the cores,
        # what the game writes is indexed first and the search waits.
        self._query_executor = ThreadPoolExecutor(
            max_workers=1,
            thread_name_prefix="embed-query",
            initializer=lower_priority,
            initargs=(query_nice, query_idle),
        )
        self._query_waiting: list[tuple[str, asyncio.Future[Vector]]] = []
        self._query_turn: asyncio.Lock | None = None
        self._query_batch = query_batch
        self._query_queue = query_queue
        self._query_deadline_s = query_deadline_s
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()  # touched only on the event loop
        self._query_cache_size = query_cache_size

    @classmethod
    def load(
        cls, settings: KnowledgeSettings, *, query_session: bool = True, integer: bool = True
    ) -> FastembedEmbedder:
        """Load the model (blocking: call it in a thread at start-up). Without `query_session` (a process
        that only ingests) queries share the document session, and ~100 MB are not spent on a second.
        `integer=False`: the packaged float32 graph (`model_files.assemble`), for comparisons only."""
        from fastembed import TextEmbedding

        files = assemble(settings.model_dir, settings.model, integer=integer)
        name = _register_model(settings.model)

        def session(threads: int | None) -> Any:
            return TextEmbedding(name, specific_model_path=str(files.directory), threads=threads, local_files_only=True)

        # Queries get a session of their own: one short text gains little from a second onnxruntime
        # thread (6.6 ms instead of 7.6 ms on 2 cores) and spends 60 % more CPU, which a busy API lacks.
        return cls(
            session(settings.embed_threads),
            settings.embed_batch_size,
            settings.embed_cache_size,
            query_model=session(settings.embed_query_threads) if query_session else None,
            workers=settings.embed_workers or cores(),
            query_batch=settings.embed_query_batch,
            query_queue=settings.embed_query_queue,
            query_deadline_s=settings.embed_query_deadline_s,
            query_cache_size=settings.embed_query_cache_size,
            query_nice=settings.embed_query_nice,
            query_idle=settings.embed_query_idle,
            spec=settings.model,
        )

    @property
    def model_id(self) -> str:
        return self.spec.id

    @property
    def dim(self) -> int:
        return self.spec.dim

    @property
    def vector_name(self) -> str:
        return self.spec.vector_name

    def embed_sync(self, texts: Sequence[str]) -> list[Vector]:
        """Embed in the calling thread: cached texts are reused, the rest embedded once each."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            size = self._batch_size
            batches = [missing[i : i + size] for i in range(0, len(missing), size)]
            vectors = np.concatenate(list(self._model_calls.map(self._embed_batch, batches)))
            self._cache.update(zip(missing, vectors, strict=True))
        found = [self._cache[t].tolist() for t in texts]
        for text in dict.fromkeys(texts):
            self._cache.move_to_end(text)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return found

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        """One model call (on a model-call thread): one onnxruntime run per text (`TEXTS_PER_RUN`)."""
        return np.asarray(list(self._model.embed(texts, batch_size=TEXTS_PER_RUN)), dtype=np.float32)

    def embed_documents(self, texts: Sequence[str]) -> asyncio.Future[list[Vector]]:
        return asyncio.get_running_loop().run_in_executor(self._executor, self.embed_sync, list(texts))

    async def embed_query(self, text: str) -> Vector:
        cached = self._query_cache.get(text)
        if cached is not None:
            self._query_cache.move_to_end(text)
            known: Vector = cached.tolist()
            return known
        if len(self._query_waiting) >= self._query_queue:
            QUERIES_REFUSED.labels("queue_full").inc()
            raise Overloaded(f"{len(self._query_waiting)} search queries are waiting to be embedded; retry shortly")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Vector] = loop.create_future()
        entry = (text, future)
        self._query_waiting.append(entry)
        QUERIES_WAITING.set(len(self._query_waiting))
        if self._query_turn is None:
            self._query_turn = asyncio.Lock()
        try:
            async with asyncio.timeout(self._query_deadline_s):
                async with self._query_turn:  # one model call at a time; whoever holds the turn embeds
                    while not future.done():  # the oldest waiting, a batch at a time, until its own is done
                        await self._embed_next_batch(loop)
        except (TimeoutError, asyncio.CancelledError) as exc:  # too late, or the caller left: out of the queue
            if entry in self._query_waiting:
                self._query_waiting.remove(entry)
            QUERIES_WAITING.set(len(self._query_waiting))
            if isinstance(exc, asyncio.CancelledError):
                raise
            QUERIES_REFUSED.labels("deadline").inc()
            raise Overloaded(f"the query was not embedded within {self._query_deadline_s} s; retry shortly") from None
        vector = await future
        self._remember_query(text, vector)
        return vector

    async def _embed_next_batch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Embed the oldest waiting queries (at most a batch), and hand each its vector."""
        batch, self._query_waiting = self._query_waiting[: self._query_batch], self._query_waiting[self._query_batch :]
        QUERIES_WAITING.set(len(self._query_waiting))
        texts = list(dict.fromkeys(t for t, _ in batch))
        try:
            found = await loop.run_in_executor(self._query_executor, self._embed_uncached, texts)
        except BaseException as exc:
            left = [(t, waiting) for t, waiting in batch if not waiting.done()]
            if isinstance(exc, Exception):
                for _, waiting in left:
                    waiting.set_exception(exc)
            else:  # whoever was embedding was cancelled (or ran out of time): the rest wait for the next turn
                self._query_waiting[:0] = left
                QUERIES_WAITING.set(len(self._query_waiting))
            raise
        vectors = dict(zip(texts, found, strict=True))
        for text, waiting in batch:
            if not waiting.done():
                waiting.set_result(vectors[text])

    def _remember_query(self, text: str, vector: Vector) -> None:
        if self._query_cache_size <= 0:
            return
        self._query_cache[text] = np.asarray(vector, dtype=np.float32)
        self._query_cache.move_to_end(text)
        while len(self._query_cache) > self._query_cache_size:
            self._query_cache.popitem(last=False)

    def _embed_uncached(self, texts: list[str]) -> list[Vector]:
        """Queries bypass the document cache (it belongs to the ingest thread); each is embedded with
        the model's query instruction before it (`Model.query_prefix`)."""
        asked = [self.spec.query_prefix + t for t in texts]
        vectors = np.asarray(list(self._query_model.embed(asked, batch_size=TEXTS_PER_RUN)), dtype=np.float32)
        return [v.tolist() for v in vectors]

    def close(self) -> None:
        """Stop the worker threads."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._model_calls.shutdown(wait=True, cancel_futures=True)
        self._query_executor.shutdown(wait=True, cancel_futures=True)


def cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def lower_priority(nice: int, idle: bool = False) -> None:
    """Lower the calling thread's CPU priority by `nice`, and with `idle` put it in Linux's idle class
    (`SCHED_IDLE`: it runs on the CPU time no thread of normal priority wants). Linux keeps both per
    thread; elsewhere, or where it is refused, the thread keeps its priority."""
    tid = threading.get_native_id()
    if nice > 0:
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, tid, nice)
    if idle:
        with contextlib.suppress(OSError, AttributeError):
            os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
