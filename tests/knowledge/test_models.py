"""The embedding model: chosen by EMBEDDING_MODEL, or, unset, the one the existing collection was
made with (an earlier version's all-MiniLM-L6-v2, or mcp-server-qdrant's), else the default."""

from __future__ import annotations

from pathlib import Path

import pytest
from qdrant_client import AsyncQdrantClient, models

from knowledge.embedder import FastembedEmbedder
from knowledge.errors import ModelMismatch
from knowledge.model_files import BGE_SMALL, DEFAULT_MODEL, MINILM
from knowledge.runtime import identity_for, open_knowledge, with_stored_model
from knowledge.settings import KnowledgeSettings
from knowledge.store.base import KnowledgeStore
from knowledge.store.qdrant_edge import QdrantEdgeStore
from knowledge.store.qdrant_server import QdrantServerStore


async def test_each_store_names_the_model_its_collection_was_made_with(
    store: KnowledgeStore, embedder: FastembedEmbedder
) -> None:
    assert await store.stored_model() == embedder.model_id == DEFAULT_MODEL.id


async def test_without_a_collection_there_is_no_stored_model(tmp_path: Path) -> None:
    settings = KnowledgeSettings(data_dir=tmp_path / "data")
    async with QdrantEdgeStore.open(settings) as edge_store:
        assert await edge_store.stored_model() is None
        assert (await with_stored_model(settings, edge_store)).model is DEFAULT_MODEL
    server = settings.model_copy(update={"store_backend": "qdrant", "qdrant_local_path": tmp_path / "local"})
    async with QdrantServerStore.open(server) as server_store:
        assert await server_store.stored_model() is None


async def test_a_collection_made_by_mcp_server_qdrant_is_known_by_its_vectors_name(tmp_path: Path) -> None:
    """mcp-server-qdrant records no model: its vector is named for the model (`fast-<name>`)."""
    client = AsyncQdrantClient(path=str(tmp_path / "local"))
    vectors = {MINILM.vector_name: models.VectorParams(size=384, distance=models.Distance.COSINE)}
    await client.create_collection("agent-memory", vectors_config=vectors)
    await client.close()
    settings = KnowledgeSettings(qdrant_local_path=tmp_path / "local", collection_name="agent-memory")
    async with QdrantServerStore.open(settings) as server_store:
        assert await server_store.stored_model() == MINILM.id
        assert (await with_stored_model(settings, server_store)).model is MINILM


async def test_unset_the_collections_model_is_kept_and_set_it_stands(tmp_path: Path) -> None:
    settings = KnowledgeSettings(data_dir=tmp_path / "data")
    async with QdrantEdgeStore.open(settings) as made_before:  # an earlier version's collection
        await made_before.ensure_collection(identity_for(MINILM))
    async with open_knowledge(settings, answers_queries=False) as (model, store):
        assert model.model_id == MINILM.id and await store.stored_model() == MINILM.id
        (vector,) = await model.embed_documents(["Expedition TT-008 resolved: failure."])
        assert len(vector) == MINILM.dim
    chosen = KnowledgeSettings(data_dir=tmp_path / "data", embedding_model=BGE_SMALL.id)
    assert chosen.model_chosen
    with pytest.raises(ModelMismatch, match="bge-small"):
        async with open_knowledge(chosen, answers_queries=False):
            pass


def test_the_setting_takes_either_name_in_any_case_and_refuses_another() -> None:
    assert KnowledgeSettings(embedding_model="baai/BGE-small-en-v1.5").model is BGE_SMALL
    assert KnowledgeSettings(embedding_model="sentence-transformers/all-minilm-l6-v2").model is MINILM
    assert not KnowledgeSettings().model_chosen
    with pytest.raises(ValueError, match="embeds with"):
        KnowledgeSettings(embedding_model="BAAI/bge-base-en-v1.5")
