"""Every endpoint against the real server process, `python -m service`, over real sockets with real
clients: httpx for REST and SSE, the `websockets` client, the MCP SDK's client; hypothesis and
schemathesis throw hostile requests at it. The process runs the real consumer on the real broker,
the real model and the real embedded store (Qdrant Edge)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client
from prometheus_client.parser import text_string_to_metric_families

from knowledge.embedder import FastembedEmbedder
from knowledge.projector import project
from schemas.events import GameEvent
from schemas.notice import encode_notice
from scripts.sample_season import season
from tests.conftest import encode, produce, wait_until
from tests.process import Served, fresh_topics, start_service, stop_service, until_indexed

EVENTS = list(season(60, seed=97))
PLAYER = next(e["payload"]["player"] for e in EVENTS if isinstance(e["payload"].get("player"), str))


@pytest.fixture(scope="module")
async def served(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    consumer = await fresh_topics(kafka_bootstrap)
    await produce(kafka_bootstrap, consumer.topics[0], [encode(e) for e in EVENTS])
    process = await asyncio.to_thread(start_service, tmp_path_factory.mktemp("proc") / "data", consumer)
    try:
        await until_indexed(process, len(EVENTS))
        yield process
    finally:
        await asyncio.to_thread(stop_service, process)


@pytest.fixture
def http(served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, timeout=30) as client:
        yield client


def assert_error_shape(response: httpx.Response, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "errors"}, body
    assert body["errors"] and all(set(e) == {"field", "reason"} for e in body["errors"]), body
    if field is not None:
        assert field in {e["field"] for e in body["errors"]}, body


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"n": value}
    return value


def test_rest_answers_and_every_error_has_one_shape(http: httpx.Client) -> None:
    hits = http.post("/v1/search", json={"query": "expedition results", "top_k": 5}).json()["hits"]
    assert len(hits) == 5
    assert_error_shape(http.get("/v1/events/no-such-event"), 404, "event_id")
    assert_error_shape(http.get("/v1/nowhere"), 404)
    assert_error_shape(http.delete("/v1/search"), 405)
    assert_error_shape(http.post("/v1/search", json={"query": ""}), 422, "query")
    raw = {"content-type": "application/json"}
    for body in [
        '{"query": "x", "top_k": NaN}',
        '{"query": "x", "filters": {"player_id": "\\ud800"}}',
        '{"query": "\\udc00"}',
        '{"query": "x", "filters": {"action": ["\\ud800"]}}',
        '{"query": "x", "top_k": ' + "9" * 400 + "}",
        '{"query": "x", "filters": ' + '{"a":' * 5000 + "1" + "}" * 5000 + "}",
        "[1, 2",
    ]:
        assert_error_shape(http.post("/v1/search", content=body, headers=raw), 422, "body")
    assert_error_shape(http.post("/v1/search", json={"query": "x", "filters": {"game_year": 2**63}}), 422)
    for cursor in [{"ts": "NaN", "after": "x"}, {"ts": 10**400, "after": "x"}, nested(150), {"ts": 1.0}, [1]]:
        text = json.dumps(cursor).replace('"NaN"', "NaN")
        token = base64.urlsafe_b64encode(text.encode()).decode()
        response = http.get(f"/v1/entities/player/{PLAYER}/timeline", params={"cursor": token})
        assert_error_shape(response, 422, "cursor")


def test_a_deep_note_is_refused_and_a_note_at_the_limit_is_stored_read_and_deleted(http: httpx.Client) -> None:
    assert_error_shape(http.post("/v1/notes", json={"information": "deep", "metadata": nested(150)}), 422, "body")
    assert_error_shape(http.post("/v1/notes", json={"information": "big", "metadata": {"n": 10**30}}), 422, "body")
    # the body's own two levels plus 30 nested objects: within MAX_DEPTH (32)
    stored = http.post("/v1/notes", json={"information": "Curators love 30-deep notes.", "metadata": nested(30)})
    assert stored.status_code == 201, stored.text
    note = stored.json()["event_id"]
    hits = http.post("/v1/search", json={"query": "curators love deep notes", "top_k": 3}).json()["hits"]
    assert note in {h["event_id"] for h in hits}
    assert http.get(f"/v1/events/{note}").status_code == 200
    assert http.delete(f"/v1/notes/{note}").status_code == 204
    assert http.get(f"/v1/events/{note}").status_code == 404


async def test_a_websocket_client_subscribes_and_receives_new_events(served: Served) -> None:
    new = [{**e, "event_id": f"ws-{e['event_id']}", "occurred_at": "2030-01-01T00:00:00Z"} for e in season(20, seed=98)]
    async with websockets.connect(served.ws_url + "/v1/subscribe", open_timeout=10) as socket:
        await socket.send(json.dumps({"query": "game events", "min_score": -1}))
        first = json.loads(await asyncio.wait_for(socket.recv(), 30))
        assert first["type"] == "subscribed", first
        await produce(served.consumer.kafka_bootstrap_servers, served.consumer.topics[0], [encode(e) for e in new])
        got: set[str] = set()
        while len(got) < len(new):
            message = json.loads(await asyncio.wait_for(socket.recv(), 60))
            assert message["type"] == "event", message
            got.add(message["event_id"])
    assert got == {e["event_id"] for e in new}


async def test_a_bad_standing_query_gets_its_reason_and_close_code_1008(served: Served) -> None:
    for bad in [b"\x00\xff not json", json.dumps({"query": "x", "min_score": 7}).encode()]:
        async with websockets.connect(served.ws_url + "/v1/subscribe", open_timeout=10) as socket:
            await socket.send(bad)  # bytes: a binary frame
            message = json.loads(await asyncio.wait_for(socket.recv(), 30))
            assert message["type"] == "error" and message["errors"], message
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), 30)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_an_sse_client_receives_new_events(served: Served) -> None:
    new = [
        {**e, "event_id": f"sse-{e['event_id']}", "occurred_at": "2030-01-02T00:00:00Z"} for e in season(10, seed=99)
    ]
    params = {"query": "game events", "min_score": "-1"}
    before = await open_subscriptions(served)
    async with (
        httpx.AsyncClient(base_url=served.url, timeout=60) as client,
        client.stream("GET", "/v1/stream", params=params) as response,
    ):
        assert response.status_code == 200
        lines = response.aiter_lines()
        assert await asyncio.wait_for(anext(lines), 30) == "event: subscribed"
        await produce(served.consumer.kafka_bootstrap_servers, served.consumer.topics[0], [encode(e) for e in new])
        got: set[str] = set()
        while len(got) < len(new):
            line = await asyncio.wait_for(anext(lines), 60)
            if line.startswith("data: ") and "event_id" in line:
                got.add(json.loads(line[6:])["event_id"])
        assert await open_subscriptions(served) == before + 1
    assert got == {e["event_id"] for e in new}

    async def released() -> bool:  # the client left: its subscription is gone, without a message to send
        return await open_subscriptions(served) == before

    await wait_until(released, 15, "the stream's subscription to be released")


async def open_subscriptions(served: Served) -> float:
    async with httpx.AsyncClient(base_url=served.url, timeout=10) as client:
        text = (await client.get("/metrics")).text
    samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
    return sum(s.value for s in samples if s.name == "live_subscriptions")


async def test_the_mcp_sdk_client_talks_to_the_process(served: Served) -> None:
    async with Client(served.url + "/mcp") as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        assert {"qdrant-store", "qdrant-find", "related", "timeline", "forget"} <= tools
        found = await client.call_tool("qdrant-find", {"query": "expedition", "top_k": 3})
        assert sum("<entry>" in getattr(block, "text", "") for block in found.content) == 3
        odd = await client.call_tool("qdrant-find", {"query": "x", "player_id": "p", "top_k": 10**6})
        assert "Invalid arguments" in getattr(odd.content[0], "text", "")


def segment(text: str) -> str:
    """A path segment, percent-encoded; lone surrogates become bytes that are not UTF-8 (hostile)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
filters = st.fixed_dictionaries(
    {},
    optional={
        "category": st.lists(st.sampled_from(["press", "expedition", "x"]), max_size=3) | json_value,
        "action": st.lists(st.text(max_size=20), max_size=3) | json_value,
        "player_id": st.text(max_size=30) | json_value,
        "occurred_after": st.sampled_from(["2025-01-01T00:00:00Z", "yesterday", "2025-13-01T00:00:00Z"]) | json_value,
        "game_year": st.integers() | json_value,
    },
)
search_body = st.fixed_dictionaries(
    {"query": st.text(max_size=50) | json_value},
    optional={
        "top_k": st.integers() | json_value,
        "filters": filters | json_value,
        "mode": st.sampled_from(["semantic", "keyword", "hybrid", "other"]),
        "fusion": st.sampled_from(["score", "rrf", "x"]),
        "recency_half_life_days": st.floats() | json_value,
    },
)
requests = st.one_of(
    st.tuples(st.just("POST"), st.just("/v1/search"), search_body),
    st.tuples(st.just("POST"), st.just("/v1/facets"), search_body | json_value),
    st.tuples(
        st.just("POST"),
        st.just("/v1/notes"),
        st.fixed_dictionaries({"information": st.text(max_size=40) | json_value, "metadata": json_value}),
    ),
    st.tuples(st.just("GET"), st.text(max_size=40).map(lambda t: f"/v1/events/{segment(t)}/related"), st.none()),
    st.tuples(
        st.just("GET"),
        st.sampled_from(["player", "scholar", "expedition", "x"]).map(lambda k: f"/v1/entities/{k}/{PLAYER}/timeline"),
        st.text(max_size=60),
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(request=requests)
def test_no_request_gets_a_server_error(request: tuple[str, str, Any], http: httpx.Client) -> None:
    method, path, body = request
    if method == "POST":
        # json.dumps writes NaN/Infinity and lone surrogates as Python does: hostile on purpose
        response = http.post(path, content=json.dumps(body), headers={"content-type": "application/json"})
    elif path.endswith("/timeline"):
        response = http.get(path, params={"cursor": body, "limit": "5"})
    else:
        response = http.get(path, params={"top_k": "3"})
    assert response.status_code < 500, (request, response.status_code, response.text)


def test_schemathesis_finds_no_server_error(served: Served, tmp_path: Path) -> None:
    """Every operation of the OpenAPI spec but the endless SSE stream, with generated valid and invalid
    inputs, bounded in count (SCHEMATHESIS_MAX_EXAMPLES per operation and phase)."""
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "run",
            served.url + "/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "60"),
            "--request-timeout",
            "30",
            "--generation-database",
            "none",
            # an SSE stream never ends by itself (the SSE test reads it); the rest is every operation
            "--exclude-path",
            "/v1/stream",
            "--phases",
            "examples,coverage,fuzzing",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,  # where it keeps its cache
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


async def test_sigterm_with_open_streams_exits_cleanly_within_10_s(kafka_bootstrap: str, tmp_path: Path) -> None:
    consumer = await fresh_topics(kafka_bootstrap)
    await produce(kafka_bootstrap, consumer.topics[0], [encode(e) for e in EVENTS[:20]])
    served = await asyncio.to_thread(start_service, tmp_path / "data", consumer)
    try:
        await until_indexed(served, 20)
        async with (
            websockets.connect(served.ws_url + "/v1/subscribe", open_timeout=10) as socket,
            httpx.AsyncClient(base_url=served.url, timeout=60) as client,
            client.stream("GET", "/v1/stream", params={"query": "anything"}) as stream,
        ):
            await socket.send(json.dumps({"query": "anything"}))
            assert json.loads(await asyncio.wait_for(socket.recv(), 30))["type"] == "subscribed"
            lines = stream.aiter_lines()
            assert await asyncio.wait_for(anext(lines), 30) == "event: subscribed"
            # events keep arriving while it stops: the batch in flight must still commit
            await produce(kafka_bootstrap, consumer.topics[0], [encode(e) for e in season(300, seed=100)])
            started = time.monotonic()
            served.process.send_signal(signal.SIGTERM)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(socket.recv(), 15)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
            told = [line async for line in _until_closed(lines)]
            assert "event: end" in told
            code = await asyncio.to_thread(served.process.wait, 15)
            took = time.monotonic() - started
    finally:
        await asyncio.to_thread(stop_service, served)
    log = served.log_text()
    assert code == 0, log[-3000:]
    assert took < 10, f"exit took {took:.1f} s"
    assert "consumer_stopped" in log and "Traceback" not in log, log[-3000:]


async def _until_closed(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    try:
        while True:
            yield await asyncio.wait_for(anext(lines), 15)
    except (StopAsyncIteration, httpx.HTTPError):
        return


async def test_an_api_without_its_consumer_survives_unusable_notices(
    kafka_bootstrap: str, tmp_path: Path, embedder: FastembedEmbedder
) -> None:
    """RUN_CONSUMER=false: live pushes come from the consumer's notices topic; a notice with a
    10-dimensional vector (a consumer on another model), or one that is not a notice at all, is
    skipped and the next good one still reaches the subscriber."""
    consumer = await fresh_topics(kafka_bootstrap)
    served = await asyncio.to_thread(start_service, tmp_path / "data", consumer, RUN_CONSUMER="false")
    try:
        async with websockets.connect(served.ws_url + "/v1/subscribe", open_timeout=10) as socket:
            await socket.send(json.dumps({"query": "a comet", "min_score": -1}))
            assert json.loads(await asyncio.wait_for(socket.recv(), 30))["type"] == "subscribed"
            event = GameEvent.model_validate(
                {"event_id": "n-1", "action": "comet_sighted", "occurred_at": "2025-03-01T00:00:00Z"}
            )
            document = project(event)
            [vector] = await embedder.embed_documents([document.embedding_text])
            bad = [encode_notice(document, [0.1] * 10), b"not a notice", b'{"document": {}, "vector": "AAAA"}']

            async def round_of(n: int) -> None:  # the bad notices, then a good one
                good = encode_notice(document.model_copy(update={"event_id": f"good-{n}"}), vector)
                await produce(kafka_bootstrap, consumer.kafka_indexed_topic, [(None, v) for v in [*bad, good]])

            # The relay reads from the end, from whenever it joined: send rounds until one is heard...
            for n in range(30):
                await round_of(n)
                try:
                    first = json.loads(await asyncio.wait_for(socket.recv(), 2))
                    break
                except TimeoutError:
                    continue
            else:
                pytest.fail("no notice reached the subscriber")
            assert first["event_id"].startswith("good-"), first
            # ...then one more, wholly read by a joined relay: its bad notices skipped, its good one pushed
            await round_of(99)
            while (message := json.loads(await asyncio.wait_for(socket.recv(), 30)))["event_id"] != "good-99":
                assert message["event_id"].startswith("good-"), message
        async with httpx.AsyncClient(base_url=served.url, timeout=10) as client:
            assert (await client.get("/readyz")).status_code == 200
        assert served.process.poll() is None
    finally:
        await asyncio.to_thread(stop_service, served)
    assert "background_task_failed" not in served.log_text()
