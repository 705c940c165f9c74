"""Load: many searchers, related events, many live subscribers, against `python -m service`.

    python -m bench.load [--sizes 10000,100000] [--subscribers 300] [--live-events 3000] [--rounds 2]
                         [--out bench/results/<date>]

1. Search and related events at each store size (the stores of bench/search_latency.py, never
   optimized; a store due for it (`optimize_due`, from 2,000 points) is measured once the service has
   optimized it in the background, as it does by itself): p50/p99 with 1 and 8 closed-loop clients,
   and p99(8)/p99(1) beside 8/C (8 clients on C cores); the CPU time per call of the service and of
   the bench's clients, and what the CPU allows 8 clients: a mean latency of 8 x (CPU per call) / C
   (a call that uses more than one core at a time, as a search does, makes 8/C an underestimate).
2. Memory under concurrency: a fresh API per level, 8 and 200 concurrent clients sending
   2,000-character queries; peak RSS of each, and how many were answered or refused (503).
3. Live: the API with its consumer on a fresh topic, `--live-events` produced; ingest rate with no
   subscriber, then with `--subscribers` SSE subscribers, 8 searching clients, and both; delivery
   delay (the message's `indexed_at` -> received) per message, and what each subscriber received;
   the CPU seconds the service and this process (the clients: listeners, searchers, the producer)
   used from the first event produced to the last indexed. The listeners read raw sockets and only
   count messages and read their `indexed_at` (an HTTP library parsing 900,000 messages on the same
   cores cost 2-3 s of CPU a run, taken from the service being measured).
   Every configuration runs once per round (`--rounds`); the ratios are of the medians. The store is
   not optimized in the background during these runs (`EDGE_OPTIMIZE_AFTER=0`; bench.optimize
   measures that).
Results: `load.json` and `load.txt` in the output folder. Needs a broker (KAFKA_BOOTSTRAP_SERVERS).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.ingest import produce_events
from bench.report import RESULTS, cpu_of, cpu_since, metric_samples, peak_rss_mb, percentiles, table, write
from bench.search_latency import QUERIES, ROOT, _free_port, _wait_ready, fill_store
from knowledge.embedder import FastembedEmbedder
from knowledge.settings import KnowledgeSettings
from knowledge.store.edge_optimizer import optimize_due
from scripts.sample_season import PLACES, SURNAMES, season

_INDEXED_AT = re.compile(rb'"indexed_at": "([^"]+)"')

#: Calls per run: p99 is then the 10th-worst, not the 2nd-worst as with 200.
SEARCH_REQUESTS = 1000
_RUNS = itertools.count()


async def start_api(env: dict[str, str]) -> tuple[asyncio.subprocess.Process, str]:
    port = _free_port()
    full = {**os.environ, "API_PORT": str(port), "LOG_LEVEL": "WARNING", "RATE_LIMIT": "1000000/minute", **env}
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "service", cwd=ROOT, env=full)
    base_url = f"http://127.0.0.1:{port}"
    await _wait_ready(base_url, process)
    return process, base_url


async def stop_api(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        async with asyncio.timeout(60):
            await process.wait()


async def closed_loop(base_url: str, clients: int, requests: int, call: Any, pid: int | None = None) -> dict[str, Any]:
    """`clients` loops each sending `requests // clients` calls back to back: latencies and statuses,
    and with the service's `pid` the CPU time per call of the service and of these clients.
    Every call of every run has its own seed, so no run's queries come from the cache of an earlier one."""
    seeds = 1000 + 1_000_000 * next(_RUNS)
    latencies: list[float] = []
    statuses: list[int] = []
    limits = httpx.Limits(max_connections=max(clients, 10))
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
        for n in range(5):  # warm-up
            await call(client, n)

        async def loop(first: int) -> None:
            for n in range(first, first + requests // clients):
                started = time.perf_counter()
                statuses.append((await call(client, n)).status_code)
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        before = cpu_of(pid)
        async with asyncio.TaskGroup() as group:
            for c in range(clients):
                group.create_task(loop(seeds + c * requests))
        elapsed = time.perf_counter() - started
        cpu = cpu_since(pid, before)
    per_call = {"service_cpu_ms_per_call": round(cpu[0] * 1000 / len(latencies), 2),
                "client_cpu_ms_per_call": round(cpu[1] * 1000 / len(latencies), 2)} if pid else {}  # fmt: skip
    return {"clients": clients, "requests": len(latencies), "ok": statuses.count(200), **per_call,
            "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
            "refused_503": statuses.count(503), "other": len(statuses) - statuses.count(200) - statuses.count(503),
            "requests_per_s": round(len(latencies) / elapsed, 1), **percentiles(latencies)}  # fmt: skip


def search_call(query_chars: int = 0) -> Any:
    async def call(client: httpx.AsyncClient, n: int) -> httpx.Response:
        rng = random.Random(n)
        query = f"{rng.choice(QUERIES)} {rng.choice(SURNAMES).title()} {rng.choice(PLACES)}"
        if query_chars:
            query = (query + " ") * (query_chars // (len(query) + 1))
        return await client.post("/v1/search", json={"query": query[:2000], "top_k": 10})

    return call


def related_call(event_ids: list[str]) -> Any:
    async def call(client: httpx.AsyncClient, n: int) -> httpx.Response:
        return await client.get(f"/v1/events/{event_ids[n % len(event_ids)]}/related", params={"top_k": 10})

    return call


async def latency_at(model: FastembedEmbedder, data_dir: Path, size: int) -> list[dict[str, Any]]:
    settings = KnowledgeSettings(data_dir=data_dir, collection_name=f"load-{size}-{uuid.uuid4().hex[:6]}")
    started = time.perf_counter()
    await fill_store(model, settings, size, 2000)
    print(f"store of {size} filled in {time.perf_counter() - started:.0f} s", flush=True)
    ids = [e["event_id"] for e in season(size, seed=99)]
    random.Random(3).shuffle(ids)
    env = {"RUN_CONSUMER": "false", "LIVE_NOTICES": "false", "DATA_DIR": str(data_dir),
           "COLLECTION_NAME": settings.collection_name, "EDGE_OPTIMIZE_CHECK_S": "1"}  # fmt: skip
    process, base_url = await start_api(env)
    rows: list[dict[str, Any]] = []
    try:
        if optimize_due(size, 0, settings.edge_optimize_after):  # as a user meets it: once it optimized itself
            print(f"store of {size} optimized itself in {await until_optimized(base_url):.0f} s", flush=True)
            # ... and closed and deleted the shard it replaced (QDRANT_TIMEOUT_S after the switch)
            async with asyncio.timeout(settings.qdrant_timeout_s + 120):
                while True:
                    if _shards(data_dir / "edge", settings.collection_name) == 1:
                        break
                    await asyncio.sleep(0.5)
        for name, call in (("search (hybrid)", search_call()), ("related", related_call(ids[:500]))):
            one = await closed_loop(base_url, 1, SEARCH_REQUESTS, call, process.pid)
            eight = await closed_loop(base_url, 8, SEARCH_REQUESTS, call, process.pid)
            cores = len(os.sched_getaffinity(0))
            for run in (one, eight):
                cpu_ms = run["service_cpu_ms_per_call"] + run["client_cpu_ms_per_call"]
                rows.append({"store": size, "call": name, "clients": run["clients"], "requests": run["requests"],
                             "ok": run["ok"], "p50_ms": run["p50_ms"], "p99_ms": run["p99_ms"],
                             "requests_per_s": run["requests_per_s"],
                             "service_cpu_ms_per_call": run["service_cpu_ms_per_call"],
                             "client_cpu_ms_per_call": run["client_cpu_ms_per_call"],
                             # what the CPU allows once N >= C clients keep the C cores busy (Little's
                             # law): a mean latency of N x (CPU per call) / C
                             "cpu_bound_mean_ms": round(run["clients"] * cpu_ms / cores, 1)
                             if run["clients"] >= cores else float("nan"),
                             "mean_ms": run["mean_ms"]})  # fmt: skip
            rows[-2]["p99_ratio_8_over_1"] = rows[-1]["p99_ratio_8_over_1"] = round(eight["p99_ms"] / one["p99_ms"], 1)
            rows[-2]["cpu_bound_ratio"] = rows[-1]["cpu_bound_ratio"] = round(8 / cores, 1)
    finally:
        await stop_api(process)
    return rows


async def memory_under_concurrency(data_dir: Path) -> list[dict[str, Any]]:
    rows = []
    for clients in (8, 200):
        process, base_url = await start_api({"RUN_CONSUMER": "false", "LIVE_NOTICES": "false",
                                             "DATA_DIR": str(data_dir / f"mem-{clients}")})  # fmt: skip
        try:
            idle = peak_rss_mb(process.pid)
            run = await closed_loop(base_url, clients, clients * 5, search_call(2000))
            rows.append({"clients": clients, "query_chars": 2000, "requests": run["requests"], "ok": run["ok"],
                         "refused_503": run["refused_503"], "other": run["other"], "p50_ms": run["p50_ms"],
                         "p99_ms": run["p99_ms"], "idle_rss_mb": idle,
                         "peak_rss_mb": peak_rss_mb(process.pid)})  # fmt: skip
        finally:
            await stop_api(process)
    for row in rows:
        row["rss_ratio_vs_8"] = round(row["peak_rss_mb"] / rows[0]["peak_rss_mb"], 2)
    return rows


def optimized_count(metrics: str) -> float:
    """Background optimizations of the embedded store that switched to their copy, from `/metrics`."""
    return sum(metric_samples(metrics, "store_optimizations_total", outcome="switched"))


def _shards(edge_dir: Path, collection: str) -> int:
    """The collection's shard directories: the one served, and a copy or a replaced one."""
    return sum(1 for p in edge_dir.iterdir() if p.is_dir() and p.name.startswith(collection))


async def until_optimized(base_url: str) -> float:
    """Wait for the service's first background optimization of its store; the seconds waited."""
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client, asyncio.timeout(1800):
        while True:
            if optimized_count((await client.get("/metrics")).text) >= 1:
                return time.perf_counter() - started
            await asyncio.sleep(0.5)


async def indexed_so_far(client: httpx.AsyncClient) -> tuple[float, float]:
    """(events indexed, when the last batch was stored) from the service's `/metrics`."""
    metrics = (await client.get("/metrics")).text
    done = sum(metric_samples(metrics, "events_indexed_total"))
    return done, max(metric_samples(metrics, "events_last_indexed_timestamp_seconds"), default=0.0)


async def indexed_total(client: httpx.AsyncClient) -> float:
    return (await indexed_so_far(client))[0]


async def ingest_rate(client: httpx.AsyncClient, events: int) -> float:
    """Events per second from the first stored batch to the last, timed by the service itself
    (`events_last_indexed_timestamp_seconds`): `/metrics` is read every 50 ms only until the first
    batch is stored, then every 0.5 s, so that rendering it does not take from the ingest measured
    (at 20 reads a second it took about 7 % of the event loop)."""
    first = await indexed_so_far(client)
    while first[0] == 0:
        await asyncio.sleep(0.05)
        first = await indexed_so_far(client)
    last = first
    while last[0] < events:
        await asyncio.sleep(0.5)
        last = await indexed_so_far(client)
    if last[1] <= first[1]:
        raise RuntimeError(f"all {events} events were indexed in one batch: too few to time")
    return (last[0] - first[0]) / (last[1] - first[1])


class _Listener(asyncio.Protocol):
    """An SSE subscriber that reads the stream as bytes and hands on complete messages only: it counts
    messages and reads each one's `indexed_at` with one regular expression per read, nothing more
    (an HTTP client library parsing 900,000 messages on the same 2 cores takes CPU from the service
    being measured; the run reports this client's CPU time beside the service's)."""

    def __init__(self, on_messages: Callable[[bytes], None]) -> None:
        self._on_messages = on_messages
        self._tail = b""
        self.status: asyncio.Future[tuple[int, float]] = asyncio.get_running_loop().create_future()
        self.ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        buffer = self._tail + data if self._tail else data
        if not self.status.done():  # the head: status line and headers
            head, found, body = buffer.partition(b"\r\n\r\n")
            if not found:
                self._tail = buffer
                return
            status = int(head.split(b" ", 2)[1])
            wait = re.search(rb"(?im)^retry-after: *([0-9.]+)", head)
            self.status.set_result((status, float(wait.group(1)) if wait else 1.0))
            buffer = body
        cut = buffer.rfind(b"\n\n") + 2  # complete messages only (the chunk sizes between them do not matter)
        if cut < 2:
            self._tail = buffer
            return
        self._tail = buffer[cut:]
        self._on_messages(buffer[:cut])

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.status.done():
            self.status.set_exception(ConnectionError("the stream closed before its head"))
        if not self.ended.done():
            self.ended.set_result(None)


async def _sse_listener(base_url: str, target: str, on_messages: Callable[[bytes], None]) -> tuple[int, float]:
    """Subscribe at `target` and read until the stream ends (or the task is cancelled); returns the
    response's status and its `Retry-After` (the stream is read only on 200)."""
    host = base_url.removeprefix("http://")
    address, _, port = host.rpartition(":")
    transport, listener = await asyncio.get_running_loop().create_connection(
        lambda: _Listener(on_messages), address, int(port)
    )
    try:
        transport.write(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
        status, retry_after = await listener.status
        if status == 200:
            await listener.ended
        return status, retry_after
    finally:
        transport.close()


async def ingest_with_listeners(
    data_dir: Path, bootstrap: str, subscribers: int, searchers: int, events: int
) -> dict[str, Any]:
    """Events/s from the first to the last indexed, with `subscribers` SSE listeners and `searchers`
    closed-loop searching clients; the delivery delay of every message the listeners received."""
    topic = f"load.{uuid.uuid4().hex[:10]}"  # the service creates its topics (KAFKA_CREATE_TOPICS)
    env = {"DATA_DIR": str(data_dir / f"live-{subscribers}-{searchers}"), "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
           "KAFKA_TOPICS": topic, "KAFKA_DLQ_TOPIC": topic + ".dlq", "KAFKA_INDEXED_TOPIC": topic + ".indexed",
           "KAFKA_GROUP_ID": f"g-{topic}", "CONSUMER_POLL_MS": "100",
           "LIVE_MAX_SUBSCRIPTIONS_PER_KEY": str(subscribers + 10),
           # The store's own indexing (at 2,000 points, in each run's fresh store) is bench.optimize's
           # to measure: here it would fall at another moment of each run and blur what the readers take.
           "EDGE_OPTIMIZE_AFTER": "0"}  # fmt: skip
    process, base_url = await start_api(env)
    delays: list[float] = []
    received = [0] * subscribers
    subscribed = asyncio.Event()
    ready = [0]
    stop = asyncio.Event()  # the searchers stop; the listeners are cancelled

    def heard(k: int, done: bytes) -> None:
        """Complete messages one subscriber received: count them, and each one's delivery delay."""
        if b"event: subscribed" in done:
            ready[0] += 1
            if ready[0] == subscribers:
                subscribed.set()
        now = time.time()
        stamps = Counter(_INDEXED_AT.findall(done))
        for stamp, count in stamps.items():
            delays.extend([now - datetime.fromisoformat(stamp.decode()).timestamp()] * count)
        received[k] += stamps.total()

    async def listen(k: int) -> None:
        while True:  # as a client does: on 503 (the query embedder's queue full) come back after Retry-After
            status, retry_after = await _sse_listener(base_url, "/v1/stream?query=anything+that+happens&min_score=-1",
                                                      lambda done: heard(k, done))  # fmt: skip
            if status != 503:
                return
            await asyncio.sleep(retry_after)

    searched: list[float] = []  # the searchers' latencies while ingest runs
    refused = [0]

    async def search(client: httpx.AsyncClient) -> None:
        call, n = search_call(), 0
        while not stop.is_set():
            started = time.perf_counter()
            if (await call(client, n)).status_code == 200:
                searched.append(time.perf_counter() - started)
            else:
                refused[0] += 1
            n += 1

    limits = httpx.Limits(max_connections=searchers + 2)
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as client:
            tasks = [asyncio.create_task(listen(k)) for k in range(subscribers)]
            if subscribers:
                async with asyncio.timeout(120):
                    await subscribed.wait()
            tasks += [asyncio.create_task(search(client)) for _ in range(searchers)]
            before = cpu_of(process.pid)
            await produce_events(bootstrap, topic, list(season(events, seed=123)))
            rate = await ingest_rate(client, events)
            cpu = cpu_since(process.pid, before)
            await asyncio.sleep(2)  # the last messages reach the listeners
            stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await stop_api(process)
    return {"subscribers": subscribers, "searching_clients": searchers, "events": events,
            "ingest_events_per_s": round(rate, 1), "delivered_messages": len(delays),
            "service_cpu_s": round(cpu[0], 1), "bench_clients_cpu_s": round(cpu[1], 1),
            "per_subscriber_min": min(received, default=0), "per_subscriber_max": max(received, default=0),
            **{f"delivery_{k}": v for k, v in percentiles(delays).items()},
            "searches": len(searched), "searches_refused": refused[0],
            **{f"search_{k}": v for k, v in percentiles(searched).items() if k in ("p50_ms", "p99_ms")}}  # fmt: skip


async def live_rounds(data_dir: Path, bootstrap: str, subscribers: int, events: int, rounds: int) -> dict[str, Any]:
    """Every configuration (none, subscribers, searchers, both) once per round, rounds one after the
    other (a machine's slow minute falls on all of them alike); each configuration's median rate
    against the median with none, and its worst delivery p99."""
    configurations = ((0, 0), (subscribers, 0), (0, 8), (subscribers, 8))
    runs: list[dict[str, Any]] = []
    for round_ in range(1, rounds + 1):
        for n, searchers in configurations:
            run = await ingest_with_listeners(data_dir / f"round-{round_}", bootstrap, n, searchers, events)
            runs.append({"round": round_, **run})
            print(runs[-1], flush=True)

    def of(n: int, searchers: int) -> list[dict[str, Any]]:
        return [r for r in runs if (r["subscribers"], r["searching_clients"]) == (n, searchers)]

    none = statistics.median(r["ingest_events_per_s"] for r in of(0, 0))
    summary = [
        {"subscribers": n, "searching_clients": searchers, "runs": len(of(n, searchers)),
         "ingest_events_per_s_median": statistics.median(r["ingest_events_per_s"] for r in of(n, searchers)),
         "ingest_ratio_vs_none": round(statistics.median(r["ingest_events_per_s"] for r in of(n, searchers)) / none, 2),
         "delivery_p99_ms_worst": max(r["delivery_p99_ms"] for r in of(n, searchers)),
         "every_message_delivered": all(r["per_subscriber_min"] == (events if n else 0) for r in of(n, searchers))}
        for n, searchers in configurations
    ]  # fmt: skip
    for run in runs:
        run["ingest_ratio_vs_none"] = round(run["ingest_events_per_s"] / none, 2)
    return {"runs": runs, "summary": summary}


async def main(sizes: list[int], subscribers: int, live_events: int, rounds: int, out: Path) -> None:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    model = FastembedEmbedder.load(KnowledgeSettings(data_dir=Path(tempfile.mkdtemp()) / "model"))
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        live = await live_rounds(data_dir, bootstrap, subscribers, live_events, rounds)
        print(table("Live", live["runs"]), flush=True)
        memory = await memory_under_concurrency(data_dir)
        print(table("Memory", memory), flush=True)
        latency: list[dict[str, Any]] = []
        for size in sizes:
            latency += await latency_at(model, data_dir, size)
            print(table("Latency", latency), flush=True)
    results = {"latency": latency, "memory": memory, "live": live}
    write("load", results, out)
    text = "\n\n".join(
        [
            table("Search and related events over HTTP (query embedding included)", latency),
            table("Memory under concurrency (2,000-character queries)", memory),
            table(
                "Ingest and live delivery (SSE subscribers, 8 searching clients beside them), each run", live["runs"]
            ),
            table(
                "Ingest and live delivery: median of the rounds (ratio: median rate / median rate with none)",
                live["summary"],
            ),
        ]
    )
    (out / "load.txt").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--subscribers", type=int, default=300)
    parser.add_argument("--live-events", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / datetime.now(UTC).strftime("%Y-%m-%d"))
    args = parser.parse_args()
    asyncio.run(
        main([int(s) for s in args.sizes.split(",")], args.subscribers, args.live_events, args.rounds, args.out)
    )
