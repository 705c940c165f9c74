"""Who may do what, from where, and how much: through the real server process over real sockets
(httpx, the `websockets` client, the MCP SDK's client), with API keys configured."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
import websockets
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from service.auth import KeyRing, Scope, new_key, refusal
from tests.conftest import ROOT, encode, produce
from tests.process import Served, fresh_topics, start_service, stop_service, until_indexed
from tests.service.test_process import EVENTS


def _make_keys() -> tuple[dict[str, str], list[dict[str, str]], str]:
    """A key per scope, and a second "writer" key: a rotation in progress (both valid)."""
    secrets: dict[str, str] = {}
    entries: list[dict[str, str]] = []
    for name, scope in [("reader", "read"), ("writer", "write"), ("admin", "admin")]:
        secret, entry = new_key(name, scope)
        secrets[name] = secret
        entries.append(entry.model_dump())
    rotated, entry = new_key("writer", "write")
    entries.append(entry.model_dump())
    return secrets, entries, rotated


SECRETS, ENTRIES, ROTATION_NEW = _make_keys()


def _keys() -> str:
    return json.dumps(ENTRIES)


@pytest.fixture(scope="module")
async def secured(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    consumer = await fresh_topics(kafka_bootstrap)
    await produce(kafka_bootstrap, consumer.topics[0], [encode(e) for e in EVENTS[:20]])
    served = await asyncio.to_thread(
        start_service, tmp_path_factory.mktemp("sec") / "data", consumer, API_KEYS=_keys(),
        LIVE_MAX_SUBSCRIPTIONS_PER_KEY="2", MAX_BODY_BYTES="100000",
    )  # fmt: skip
    try:
        await until_indexed(served, 20, headers=bearer("reader"))
        yield served
    finally:
        await asyncio.to_thread(stop_service, served)


def bearer(who: str | None) -> dict[str, str]:
    if who is None:
        return {}
    if who == "bad":
        return {"authorization": "Bearer gwk_not-a-key"}
    return {"authorization": f"Bearer {SECRETS[who]}"}


@asynccontextmanager
async def mcp_client(served: Served, who: str) -> AsyncIterator[Client]:
    """The MCP SDK's client over streamable HTTP, sending `who`'s key as a bearer token."""
    async with (
        httpx2.AsyncClient(headers=bearer(who), timeout=30) as http_client,
        Client(streamable_http_client(served.url + "/mcp", http_client=http_client)) as client,
    ):
        yield client


@pytest.fixture
def http(secured: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=secured.url, timeout=30) as client:
        yield client


CALLERS: list[tuple[str | None, Scope | None]] = [
    (None, None),
    ("bad", None),
    ("reader", Scope.READ),
    ("writer", Scope.WRITE),
    ("admin", Scope.ADMIN),
]
NOTE = {"information": "Curators like tea."}
RULE = {"information": "Votes close on day 5.", "metadata": {"category": "mechanics"}}
ROUTES: list[tuple[str, str, Any, Scope]] = [
    ("POST", "/v1/search", {"query": "expedition"}, Scope.READ),
    ("POST", "/v1/facets", {}, Scope.READ),
    ("GET", "/v1/events/no-such", None, Scope.READ),
    ("GET", "/v1/events/no-such/related", None, Scope.READ),
    ("GET", "/v1/entities/player/p.ada/timeline", None, Scope.READ),
    ("GET", "/metrics", None, Scope.READ),
    ("POST", "/v1/notes", NOTE, Scope.WRITE),
    ("DELETE", "/v1/notes/note:0000", None, Scope.WRITE),
    ("POST", "/v1/notes", RULE, Scope.ADMIN),
]


@pytest.mark.parametrize(("method", "path", "body", "needed"), ROUTES)
@pytest.mark.parametrize(("who", "scope"), CALLERS)
def test_every_scope_on_every_route(
    http: httpx.Client, method: str, path: str, body: Any, needed: Scope, who: str | None, scope: Scope | None
) -> None:
    response = http.request(method, path, json=body, headers=bearer(who))
    if scope is None:
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"] == "Bearer"
    elif scope < needed:
        assert response.status_code == 403, response.text
    else:
        assert response.status_code in {200, 201, 204, 404}, response.text
    if response.status_code >= 400 and path != "/metrics":
        assert set(response.json()) == {"error", "errors"}


def test_x_api_key_works_too_and_health_is_open(http: httpx.Client) -> None:
    assert http.post("/v1/search", json={"query": "x"}, headers={"x-api-key": SECRETS["reader"]}).status_code == 200
    for path in ("/healthz", "/readyz", "/openapi.json"):
        assert http.get(path).status_code == 200, path


def test_a_rotated_key_old_and_new_are_both_valid(http: httpx.Client) -> None:
    old, new = [e for e in ENTRIES if e["name"] == "writer"]
    assert old["sha256"] != new["sha256"]
    for secret in (SECRETS["writer"], ROTATION_NEW):
        response = http.post("/v1/notes", json={"information": f"rotated {secret[-4:]}"}, headers={"x-api-key": secret})
        assert response.status_code == 201, response.text


async def test_live_streams_take_the_key_as_a_query_parameter_and_refuse_without(secured: Served) -> None:
    async with httpx.AsyncClient(base_url=secured.url, timeout=30) as client:
        async with client.stream("GET", "/v1/stream", params={"query": "x"}) as response:
            assert response.status_code == 401
        params = {"query": "x", "api_key": SECRETS["reader"]}
        async with client.stream("GET", "/v1/stream", params=params) as response:
            assert response.status_code == 200
            assert await asyncio.wait_for(anext(response.aiter_lines()), 30) == "event: subscribed"
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(secured.ws_url + "/v1/subscribe", open_timeout=10):
            pass
    assert refused.value.response.status_code == 403
    url = f"{secured.ws_url}/v1/subscribe?api_key={SECRETS['reader']}"
    async with websockets.connect(url, open_timeout=10) as socket:
        await socket.send(json.dumps({"query": "x"}))
        assert json.loads(await asyncio.wait_for(socket.recv(), 30))["type"] == "subscribed"
    async with websockets.connect(secured.ws_url + "/v1/subscribe", additional_headers=bearer("reader")) as socket:
        await socket.send(json.dumps({"query": "x"}))
        assert json.loads(await asyncio.wait_for(socket.recv(), 30))["type"] == "subscribed"
    log = secured.log_text()
    assert "api_key=***" in log and SECRETS["reader"] not in log, "a key in a query string is never logged"


async def test_live_subscriptions_per_key_are_bounded(secured: Served) -> None:
    url = f"{secured.ws_url}/v1/subscribe?api_key={SECRETS['admin']}"
    async with websockets.connect(url) as first, websockets.connect(url) as second:
        for socket in (first, second):
            await socket.send(json.dumps({"query": "x"}))
            assert json.loads(await asyncio.wait_for(socket.recv(), 30))["type"] == "subscribed"
        async with websockets.connect(url) as third:
            await third.send(json.dumps({"query": "x"}))
            message = json.loads(await asyncio.wait_for(third.recv(), 30))
            assert message["error"] == "too_many_requests", message
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(third.recv(), 30)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
        async with httpx.AsyncClient(base_url=secured.url, timeout=30) as client:
            params = {"query": "x", "api_key": SECRETS["admin"]}
            async with client.stream("GET", "/v1/stream", params=params) as response:
                assert response.status_code == 429 and response.headers["retry-after"]


async def test_mcp_needs_a_key_and_its_write_tools_need_the_scope(secured: Served) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(secured.url + "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                                     headers={"accept": "application/json, text/event-stream"})  # fmt: skip
        assert response.status_code == 401

    async def call(who: str, tool: str, arguments: dict[str, Any]) -> str:
        async with mcp_client(secured, who) as client:
            result = await client.call_tool(tool, arguments)
            return " ".join(getattr(block, "text", "") for block in result.content)

    assert "<entry>" in await call("reader", "qdrant-find", {"query": "expedition", "top_k": 2})
    assert "Not allowed" in await call("reader", "qdrant-store", NOTE)
    assert "Remembered" in await call("writer", "qdrant-store", {"information": "MCP writer note"})
    assert "Not allowed" in await call("writer", "qdrant-store", RULE)
    assert "Remembered" in await call("admin", "qdrant-store", RULE)
    assert "Not allowed" in await call("reader", "forget", {"event_id": "note:x"})


@pytest.mark.parametrize("path", ["/v1/search", "/v1/notes", "/v1/entities/player/p/timeline", "/mcp", "/metrics"])
def test_a_foreign_host_or_origin_is_refused_on_every_route(http: httpx.Client, path: str) -> None:
    headers = bearer("admin")
    assert http.post(path, json={"query": "x"}, headers={**headers, "host": "evil.example"}).status_code == 421
    response = http.post(path, json={"query": "x"}, headers={**headers, "origin": "http://evil.example"})
    assert response.status_code == 403
    assert response.json()["errors"][0]["field"] == "origin"
    local = http.post(path, json={"query": "x"}, headers={**headers, "origin": http.base_url.scheme + "://" +
                                                           http.base_url.netloc.decode()})  # fmt: skip
    assert local.status_code not in {403, 421}


async def test_a_websocket_from_a_foreign_origin_is_refused(secured: Served) -> None:
    url = f"{secured.ws_url}/v1/subscribe?api_key={SECRETS['reader']}"
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(url, origin="http://evil.example"):  # type: ignore[arg-type]
            pass


def test_a_body_over_the_limit_is_413_with_or_without_a_content_length(http: httpx.Client) -> None:
    big = json.dumps({"information": "x" * 150_000}).encode()
    response = http.post("/v1/notes", content=big, headers={**bearer("writer"), "content-type": "application/json"})
    assert response.status_code == 413, response.text

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    streamed = http.post(
        "/v1/notes", content=chunks(), headers={**bearer("writer"), "content-type": "application/json"}
    )
    assert streamed.status_code == 413, streamed.text


async def test_the_rate_limit_answers_429_with_retry_after_and_read_only_refuses_writes(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    consumer = await fresh_topics(kafka_bootstrap)
    served = await asyncio.to_thread(
        start_service, tmp_path / "data", consumer, API_KEYS=_keys(), RATE_LIMIT="8/minute", QDRANT_READ_ONLY="true",
        RUN_CONSUMER="false",
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=served.url, timeout=30) as client:
            write = await client.post("/v1/notes", json=NOTE, headers=bearer("admin"))
            assert write.status_code == 403 and "read-only" in write.text
            answers = [await client.post("/v1/search", json={"query": "x"}, headers=bearer("reader")) for _ in range(9)]
            assert [a.status_code for a in answers] == [200] * 8 + [429]
            assert int(answers[-1].headers["retry-after"]) >= 1
            other = await client.post("/v1/search", json={"query": "x"}, headers=bearer("writer"))
            assert other.status_code == 200, "each key has its own budget"
        async with mcp_client(served, "admin") as mcp:
            tools = {tool.name for tool in (await mcp.list_tools()).tools}
        assert "qdrant-find" in tools and not {"qdrant-store", "forget"} & tools
    finally:
        await asyncio.to_thread(stop_service, served)


def test_without_keys_on_a_public_address_the_service_refuses_to_start(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "service"], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "API_HOST": "0.0.0.0", "DATA_DIR": str(tmp_path), "LOG_JSON": "true"},
    )  # fmt: skip
    assert result.returncode == 2
    assert "refusing to start" in result.stderr and "API_KEYS" in result.stderr
    assert refusal(KeyRing([]), "0.0.0.0", auth_disabled=True) is None
    assert refusal(KeyRing([]), "127.0.0.1", auth_disabled=False) is None
    assert refusal(KeyRing([]), "::1", auth_disabled=False) is None
    assert refusal(KeyRing([]), "192.0.2.7", auth_disabled=False) is not None


def test_a_new_key_is_made_and_printed_once() -> None:
    result = subprocess.run([sys.executable, "-m", "service.auth", "new", "backend", "read"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0
    secret = result.stdout.split("key (shown once; give it to the client): ")[1].split()[0]
    entry = json.loads(result.stdout.split("entry (add it to API_KEYS or API_KEYS_FILE): ")[1])
    principal = KeyRing.load(json.dumps([entry]), None).verify(secret)
    assert principal is not None and principal.name == "backend" and principal.scope == Scope.READ
    assert secret not in json.dumps(entry)
