"""Text -> vectors. fastembed (ONNX, CPU) runs in one worker thread, never on the event loop.

Batches are deduplicated (a season repeats many texts) and sorted by length before they are cut
into model batches, so short texts are not padded to the length of long ones.
"""

from __future__ import annotations

import asyncio
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

    def __init__(self, model: Any, batch_size: int) -> None:
        self._model = model
        self._batch_size = batch_size
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")

    @classmethod
    def load(cls, settings: KnowledgeSettings) -> FastembedEmbedder:
        """Load the model (blocking: call it in a thread at start-up)."""
        from fastembed import TextEmbedding

        files = assemble(settings.model_dir)
        _register_model()
        model = TextEmbedding(
            _CUSTOM_MODEL_NAME,
            specific_model_path=str(files.directory),
            threads=settings.embed_threads,
            local_files_only=True,
        )
        return cls(model, settings.embed_batch_size)

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
        """Embed in the calling thread: unique texts, sorted by length, then back in input order."""
        if not texts:
            return []
        unique = list(dict.fromkeys(texts))
        order = sorted(range(len(unique)), key=lambda i: len(unique[i]))
        sorted_texts = [unique[i] for i in order]
        vectors = np.asarray(list(self._model.embed(sorted_texts, batch_size=self._batch_size)), dtype=np.float32)
        by_text = {sorted_texts[k]: vectors[k] for k in range(len(sorted_texts))}
        return [by_text[t].tolist() for t in texts]

    async def embed_documents(self, texts: Sequence[str]) -> list[Vector]:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.embed_sync, list(texts))

    async def embed_query(self, text: str) -> Vector:
        vectors = await self.embed_documents([text])
        return vectors[0]

    def close(self) -> None:
        """Stop the worker thread."""
        self._executor.shutdown(wait=True, cancel_futures=True)
