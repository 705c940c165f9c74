"""Text -> vectors. fastembed (ONNX, CPU) runs in one worker thread, never on the event loop.

Batches are deduplicated (a season repeats many texts), texts seen recently come from a bounded
cache, and the rest are sorted by length before they are cut into model batches, so short texts are
not padded to the length of long ones.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import numpy as np

from knowledge.model_files import DIM, MODEL_ID, MODEL_VARIANT, VECTOR_NAME, assemble
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

    async def embed_documents(self, texts: Sequence[str]) -> list[Vector]:
        """One vector per text, in order."""
        ...

    async def embed_query(self, text: str) -> Vector:
        """The vector of a search query."""
        ...


_CUSTOM_MODEL_NAME = "greatwork/all-MiniLM-L6-v2-onnx-int8"


def _register_model() -> None:
    from fastembed import TextEmbedding
    from fastembed.common.model_description import ModelSource, PoolingType

    known = {m["model"] for m in TextEmbedding.list_supported_models()}
    if _CUSTOM_MODEL_NAME not in known:
        TextEmbedding.add_custom_model(
            model=_CUSTOM_MODEL_NAME,
            pooling=PoolingType.MEAN,
            normalization=True,
            sources=ModelSource(hf=MODEL_ID),
            dim=DIM,
            model_file="model.onnx",
        )


class FastembedEmbedder:
    """all-MiniLM-L6-v2 through fastembed, loaded from packaged files (see `model_files`)."""

    model_variant = MODEL_VARIANT

    def __init__(self, model: Any, batch_size: int, cache_size: int = 20_000, query_model: Any = None) -> None:
        self._model = model
        self._query_model = query_model if query_model is not None else model
        self._batch_size = batch_size
        # text -> float32 vector (1.5 kB; the same vector as a list of Python floats takes ~12 kB)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()  # touched only by the worker thread
        self._cache_size = cache_size
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
        # Queries get a thread of their own, so a search never waits behind an ingest batch, and
        # queries that arrive together are embedded in one call.
        self._query_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed-query")
        self._query_waiting: list[tuple[str, asyncio.Future[Vector]]] = []
        self._query_turn: asyncio.Lock | None = None

    @classmethod
    def load(cls, settings: KnowledgeSettings, *, query_session: bool = True) -> FastembedEmbedder:
        """Load the model (blocking: call it in a thread at start-up). Without `query_session` (a process
        that only ingests) queries share the document session, and ~100 MB are not spent on a second."""
        from fastembed import TextEmbedding

        files = assemble(settings.model_dir)
        _register_model()

        def session(threads: int | None) -> Any:
            return TextEmbedding(
                _CUSTOM_MODEL_NAME, specific_model_path=str(files.directory), threads=threads, local_files_only=True
            )

        # Queries get a session of their own: one short text gains little from a second onnxruntime
        # thread (6.6 ms instead of 7.6 ms on 2 cores) and spends 60 % more CPU, which a busy API lacks.
        return cls(
            session(settings.embed_threads),
            settings.embed_batch_size,
            settings.embed_cache_size,
            query_model=session(settings.embed_query_threads) if query_session else None,
        )

    @property
    def model_id(self) -> str:
        return MODEL_ID

    @property
    def dim(self) -> int:
        return DIM

    @property
    def vector_name(self) -> str:
        return VECTOR_NAME

    def embed_sync(self, texts: Sequence[str]) -> list[Vector]:
        """Embed in the calling thread: cached texts are reused, the rest embedded once each, shortest first."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            missing.sort(key=len)
            vectors = np.asarray(list(self._model.embed(missing, batch_size=self._batch_size)), dtype=np.float32)
            self._cache.update(zip(missing, vectors, strict=True))
        found = [self._cache[t].tolist() for t in texts]
        for text in dict.fromkeys(texts):
            self._cache.move_to_end(text)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return found

    async def embed_documents(self, texts: Sequence[str]) -> list[Vector]:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.embed_sync, list(texts))

    async def embed_query(self, text: str) -> Vector:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Vector] = loop.create_future()
        self._query_waiting.append((text, future))
        if self._query_turn is None:
            self._query_turn = asyncio.Lock()
        async with self._query_turn:
            if not future.done():  # nobody took it along yet: embed everything waiting, in one call
                batch, self._query_waiting = self._query_waiting, []
                try:
                    vectors = await loop.run_in_executor(
                        self._query_executor, self._embed_uncached, [t for t, _ in batch]
                    )
                except BaseException as exc:
                    others = [(t, waiting) for t, waiting in batch if waiting is not future and not waiting.done()]
                    if isinstance(exc, Exception):
                        for _, waiting in others:
                            waiting.set_exception(exc)
                    else:  # this caller was cancelled: the others' texts go back, for whoever takes the next turn
                        self._query_waiting[:0] = others
                    raise
                for (_, waiting), vector in zip(batch, vectors, strict=True):
                    if not waiting.done():
                        waiting.set_result(vector)
        return await future

    def _embed_uncached(self, texts: list[str]) -> list[Vector]:
        """Queries bypass the document cache (it belongs to the ingest thread)."""
        vectors = np.asarray(list(self._query_model.embed(texts, batch_size=max(len(texts), 1))), dtype=np.float32)
        return [v.tolist() for v in vectors]

    def close(self) -> None:
        """Stop the worker thread."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._query_executor.shutdown(wait=True, cancel_futures=True)
