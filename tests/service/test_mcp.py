"""The MCP server, driven by the SDK's own client over both transports, on the real model and store."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from consumers.settings import ConsumerSettings
from knowledge.embedder import FastembedEmbedder
from knowledge.settings import KnowledgeSettings
from scripts.sample_season import season
from service.app import create_app
from service.settings import AppSettings, ServiceSettings
from tests.conftest import ROOT, encode, free_port, produce, wait_until


def text_of(result: Any) -> list[str]:
    return [block.text for block in result.content if getattr(block, "type", "") == "text"]


def entries(lines: list[str]) -> list[dict[str, Any]]:
    """The metadata of each `<entry>` in a tool's answer."""
    found = []
    for line in lines:
        for match in re.finditer(r"<entry><content>(.*?)</content><metadata>(.*?)</metadata></entry>", line, re.S):
            found.append({"content": match[1], **json.loads(match[2])})
    return found


@pytest.fixture
async def api_url(
    knowledge_settings: KnowledgeSettings, consumer_settings: ConsumerSettings, embedder: FastembedEmbedder
) -> AsyncIterator[str]:
    """The real API on uvicorn, consuming a produced season, reachable on 127.0.0.1."""
    events = list(season(80, seed=71))
    await produce(consumer_settings.kafka_bootstrap_servers, consumer_settings.topics[0], [encode(e) for e in events])
    port = free_port()
    app = create_app(AppSettings(service=ServiceSettings(), knowledge=knowledge_settings, consumer=consumer_settings),
                     embedder=embedder)  # fmt: skip
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        import httpx

        async def indexed() -> bool:
            try:
                async with httpx.AsyncClient() as client:
                    response = await client.get(f"http://127.0.0.1:{port}/v1/events/{events[-1]['event_id']}")
                    return response.status_code == 200
            except httpx.HTTPError:
                return False

        await wait_until(indexed, 60, "the API to index the season")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


async def test_the_mcp_server_qdrant_tools_work_unchanged_over_http(api_url: str) -> None:
    async with Client(api_url + "/mcp") as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert {"qdrant-store", "qdrant-find", "related", "timeline", "forget"} <= set(tools)
        # mcp-server-qdrant's arguments (`collection_name` is the one it shows without COLLECTION_NAME)
        assert set(tools["qdrant-store"].input_schema["properties"]) == {"information", "metadata", "collection_name"}
        assert tools["qdrant-store"].input_schema["required"] == ["information"]
        assert tools["qdrant-find"].input_schema["required"] == ["query"]

        stored = text_of(await client.call_tool("qdrant-store", {"information": "p.ada overstakes on think tanks.",
                                                                 "metadata": {"player_id": "p.ada"}}))  # fmt: skip
        note_id = re.search(r"id (note:[0-9a-f]+)", stored[0])[1]  # type: ignore[index]
        again = text_of(await client.call_tool("qdrant-store", {"information": "p.ada overstakes on think tanks."}))
        assert note_id in again[0], "the same text is the same note"

        question = {"query": "who bets too much on think tanks?"}
        found = entries(text_of(await client.call_tool("qdrant-find", {**question, "mode": "semantic"})))
        assert found[0]["event_id"] == note_id, [(f["event_id"], f["score"]) for f in found]
        assert found[0]["category"] == "agent_note" and 0 < found[0]["score"] <= 1 and found[0]["occurred_at"]
        hybrid = entries(text_of(await client.call_tool("qdrant-find", question)))  # the default mode
        assert note_id in {e["event_id"] for e in hybrid}

        filtered = entries(text_of(await client.call_tool(
            "qdrant-find", {"query": "expedition", "category": ["expedition"], "top_k": 5})))  # fmt: skip
        assert filtered and all(e["category"] == "expedition" for e in filtered)

        first = filtered[0]["event_id"]
        similar = entries(text_of(await client.call_tool("related", {"event_id": first, "top_k": 3})))
        assert len(similar) == 3 and first not in {e["event_id"] for e in similar}

        player = "p.ada"
        page = text_of(await client.call_tool("timeline", {"kind": "player", "id": player, "limit": 5}))
        times = [e["occurred_at"] for e in entries(page)]
        assert times == sorted(times) and len(times) >= 3

        assert "Forgot" in text_of(await client.call_tool("forget", {"event_id": note_id}))[0]
        assert "No note" in text_of(await client.call_tool("forget", {"event_id": first}))[0], "events stay"
        left = entries(text_of(await client.call_tool("qdrant-find", {"query": "who bets too much on think tanks?"})))
        assert note_id not in {e["event_id"] for e in left}

        bad = text_of(await client.call_tool("qdrant-find", {"query": "x", "occurred_after": "yesterday"}))
        assert "occurred_after" in bad[0]


async def test_the_stdio_server_answers_an_agent(tmp_path: Path) -> None:
    env = {**os.environ, "STORE_BACKEND": "qdrant", "QDRANT_LOCAL_PATH": str(tmp_path / "q"),
           "DATA_DIR": str(tmp_path / "data")}  # fmt: skip
    params = StdioServerParameters(command=sys.executable, args=["-m", "service.mcp"], env=env, cwd=str(ROOT))
    async with Client(params) as client:
        await client.call_tool("qdrant-store", {"information": "Symposium votes are due by day 5 of each year.",
                                                "metadata": {"category": "mechanics"}})  # fmt: skip
        found = entries(text_of(await client.call_tool("qdrant-find", {"query": "when are symposium votes due?"})))
    assert found and found[0]["category"] == "mechanics"
    assert "day 5" in found[0]["content"]


#: mcp-server-qdrant's configuration block, as its README writes it (local mode on disk), unchanged.
def mcp_server_qdrant_env(tmp_path: Path) -> dict[str, str]:
    return {"QDRANT_LOCAL_PATH": str(tmp_path / "qdrant"), "COLLECTION_NAME": "agent-memory",
            "EMBEDDING_MODEL": "sentence-transformers/all-MiniLM-L6-v2", "QDRANT_SEARCH_LIMIT": "2",
            "TOOL_STORE_DESCRIPTION": "Remember what the user says about the game.",
            "TOOL_FIND_DESCRIPTION": "Recall what the user said about the game."}  # fmt: skip


def stdio(env: dict[str, str], tmp_path: Path) -> StdioServerParameters:
    clean = {k: v for k, v in os.environ.items() if k not in {"STORE_BACKEND", "QDRANT_URL"}}
    full = {**clean, "DATA_DIR": str(tmp_path / "data"), **env}
    return StdioServerParameters(command=sys.executable, args=["-m", "service.mcp"], env=full, cwd=str(ROOT))


async def test_mcp_server_qdrants_configuration_block_works_unchanged_over_stdio(tmp_path: Path) -> None:
    """No STORE_BACKEND: its QDRANT_LOCAL_PATH alone must select the store it names (not an empty embedded
    one); its descriptions, search limit, answer shape and empty answer are its own."""
    async with Client(stdio(mcp_server_qdrant_env(tmp_path), tmp_path)) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert tools["qdrant-store"].description == "Remember what the user says about the game."
        assert tools["qdrant-find"].description == "Recall what the user said about the game."
        for n, text in enumerate(["Ada prefers think tanks.", "Ada distrusts field expeditions.", "Ada likes tea."]):
            await client.call_tool("qdrant-store", {"information": text, "metadata": {"source": "chat", "n": n}})
        found = entries(
            text_of(await client.call_tool("qdrant-find", {"query": "what does Ada think of expeditions?"}))
        )
        assert len(found) == 2, "QDRANT_SEARCH_LIMIT"
        assert found[0]["source"] == "chat" and isinstance(found[0]["n"], int), "the agent's metadata, at the top"
        assert "note_metadata" not in found[0]
        nothing = await client.call_tool("qdrant-find", {"query": "tea", "category": ["expedition"]})
        assert text_of(nothing) == [], "nothing found is no entries, as mcp-server-qdrant answers"
        other = text_of(await client.call_tool("qdrant-find", {"query": "tea", "collection_name": "elsewhere"}))
        assert "agent-memory" in other[0] and "elsewhere" in other[0]
    assert (tmp_path / "qdrant").is_dir(), "the notes went to QDRANT_LOCAL_PATH"


@pytest.mark.parametrize(
    ("env", "reason"),
    [({"EMBEDDING_MODEL": "BAAI/bge-base-en-v1.5"}, "EMBEDDING_MODEL='BAAI/bge-base-en-v1.5'"),
     ({"EMBEDDING_PROVIDER": "openai"}, "fastembed only")],
)  # fmt: skip
def test_another_embedding_model_is_refused_with_the_reason(tmp_path: Path, env: dict[str, str], reason: str) -> None:
    params = stdio({**mcp_server_qdrant_env(tmp_path), **env}, tmp_path)
    done = subprocess.run([params.command, *params.args], env=params.env, cwd=params.cwd, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert reason in done.stderr and "Traceback" not in done.stderr


async def test_while_the_api_holds_the_embedded_store_stdio_says_to_use_the_apis_endpoints(tmp_path: Path) -> None:
    from knowledge.model_files import DEFAULT_MODEL
    from knowledge.runtime import identity_for
    from knowledge.store.qdrant_edge import QdrantEdgeStore

    async with QdrantEdgeStore.open(KnowledgeSettings(data_dir=tmp_path / "data")) as held:
        await held.ensure_collection(identity_for(DEFAULT_MODEL))
        params = stdio({}, tmp_path)
        done = await asyncio.to_thread(
            subprocess.run, [params.command, *params.args], env=params.env, cwd=params.cwd, capture_output=True,
            text=True, timeout=60, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert "/mcp" in done.stderr and "/sse" in done.stderr and "Traceback" not in done.stderr


async def test_the_sse_transport_answers_as_mcp_server_qdrants_does(api_url: str) -> None:
    from mcp.client.sse import sse_client

    async with Client(sse_client(api_url + "/sse")) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        assert {"qdrant-store", "qdrant-find"} <= tools
        found = entries(text_of(await client.call_tool("qdrant-find", {"query": "expedition", "top_k": 3})))
        assert len(found) == 3 and all(e["event_id"] for e in found)
