"""The default store stays fast as it grows: `python -m service` on a 100k-point embedded store that was
never optimized, with nothing done by hand. The service's first check (`EDGE_OPTIMIZE_CHECK_S`, 20 s
here) finds 100k points written since the last optimization and optimizes a copy in the background
(knowledge/store/edge_optimizer.py). Measured throughout, against the real process:

- a hybrid search every 250 ms and a related-events call every 250 ms (probes at a steady pace, so
  that the optimizing process gets the CPU a moderately busy service leaves): p50/p99/max per phase;
- `/healthz` every 100 ms: the event loop's longest stall;
- ingest: events produced at `--rate` per second (a busy game writes far fewer) to a fresh topic that
  the service consumes: the rate indexed per phase, and the longest time nothing was indexed while
  events were waiting.

Phases: `before` (unoptimized: from start to the copy), `during` (copy to switch: the copy appears in
the data directory, the switch in `store_optimizations_total`), `after` (`--after` seconds from the
switch). Then, settled (nothing produced any more, the backlog indexed), one closed-loop client: 200
hybrid searches, then 200 related-events calls, as `bench.load` measures them. Results:
`optimize.json` and `optimize.txt` in the output folder.

    python -m bench.optimize [--points 100000] [--rate 20] [--after 40] [--out bench/results/<date>]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.ingest import produce_events
from bench.load import closed_loop, indexed_total, optimized_count, related_call, search_call, start_api, stop_api
from bench.report import RESULTS, metric_samples, percentiles, table, write
from bench.search_latency import fill_store
from knowledge.embedder import FastembedEmbedder
from knowledge.settings import KnowledgeSettings
from scripts.sample_season import season

PHASES = ("before", "during", "after")


class Timeline:
    """When each phase began (monotonic seconds), and what was measured, by kind, with its time."""

    def __init__(self) -> None:
        self.copied: float | None = None
        self.switched: float | None = None
        self.samples: dict[str, list[tuple[float, float]]] = {"search": [], "related": [], "healthz": []}
        self.indexed: list[tuple[float, float, int]] = []  # (time, indexed so far, produced so far)

    def phase(self, at: float) -> str:
        if self.copied is None or at < self.copied:
            return "before"
        return "during" if self.switched is None or at < self.switched else "after"


async def probe(client: httpx.AsyncClient, call: Any, kind: str, every_s: float, line: Timeline,
                stop: asyncio.Event) -> None:  # fmt: skip
    """`call` every `every_s` (or right after the previous one, if it took longer)."""
    n = 0
    while not stop.is_set():
        started = time.monotonic()
        response = await call(client, n)
        took = time.monotonic() - started
        if response.status_code == 200:
            line.samples[kind].append((started, took))
        n += 1
        await asyncio.sleep(max(0.0, every_s - took))


async def watch(client: httpx.AsyncClient, data_dir: Path, collection: str, line: Timeline, stop: asyncio.Event,
                produced: list[int]) -> None:  # fmt: skip
    tick = 0
    while not stop.is_set():
        started = time.monotonic()
        await client.get("/healthz")
        line.samples["healthz"].append((started, time.monotonic() - started))
        if line.copied is None and any((data_dir / "edge").glob(f"{collection}.opt*")):
            line.copied = time.monotonic()
        if tick % 3 == 0:
            metrics = (await client.get("/metrics")).text
            if line.switched is None and optimized_count(metrics) >= 1:
                line.switched = time.monotonic()
            line.indexed.append((time.monotonic(), await indexed_total(client), produced[0]))
        tick += 1
        await asyncio.sleep(0.1)


def summary(line: Timeline, rate: float) -> list[dict[str, Any]]:
    rows = []
    for phase in PHASES:
        row: dict[str, Any] = {"phase": phase}
        for kind, samples in line.samples.items():
            took = [s for at, s in samples if line.phase(at) == phase]
            stats = percentiles(took)
            row.update({f"{kind}_n": len(took), f"{kind}_p50_ms": stats["p50_ms"], f"{kind}_p99_ms": stats["p99_ms"],
                        f"{kind}_max_ms": round(max(took, default=0) * 1000, 1)})  # fmt: skip
        points = [(t, n, p) for t, n, p in line.indexed if line.phase(t) == phase]
        if len(points) >= 2:
            row["ingest_events_per_s"] = round((points[-1][1] - points[0][1]) / (points[-1][0] - points[0][0]), 1)
            row["ingest_longest_gap_s"] = round(_longest_gap(points), 2)
        row["produced_per_s"] = rate
        rows.append(row)
    return rows


def _longest_gap(points: list[tuple[float, float, int]]) -> float:
    """The longest time without an event indexed while some were produced and not yet indexed."""
    longest, since = 0.0, points[0][0]
    for (_, n0, _), (t1, n1, p1) in itertools.pairwise(points):
        if n1 > n0 or p1 <= n1:
            since = t1
        longest = max(longest, t1 - since)
    return longest


async def run(points: int, rate: float, after_s: float, bootstrap: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gw-optimize-") as tmp:
        data_dir = Path(tmp)
        collection = f"opt-{uuid.uuid4().hex[:6]}"
        settings = KnowledgeSettings(data_dir=data_dir, collection_name=collection)
        model = await asyncio.to_thread(FastembedEmbedder.load, settings)
        started = time.perf_counter()
        await fill_store(model, settings, points, 2000)
        model.close()
        print(f"store of {points} filled in {time.perf_counter() - started:.0f} s (never optimized)", flush=True)
        topic = f"optimize.{uuid.uuid4().hex[:10]}"
        env = {"DATA_DIR": str(data_dir), "COLLECTION_NAME": collection, "EDGE_OPTIMIZE_CHECK_S": "20",
               "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_TOPICS": topic, "KAFKA_DLQ_TOPIC": topic + ".dlq",
               "KAFKA_INDEXED_TOPIC": topic + ".indexed", "KAFKA_GROUP_ID": f"g-{topic}",
               "CONSUMER_POLL_MS": "100"}  # fmt: skip
        process, base_url = await start_api(env)
        line, stop, produced = Timeline(), asyncio.Event(), [0]
        ids = [e["event_id"] for e in season(points, seed=99)]
        random.Random(3).shuffle(ids)
        events = list(season(int(rate * 600), seed=321))

        async def produce() -> None:
            for start in range(0, len(events), int(rate)):
                if stop.is_set():
                    return
                await produce_events(bootstrap, topic, events[start : start + int(rate)], rate)
                produced[0] = start + int(rate)

        try:
            async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
                tasks = [
                    asyncio.create_task(probe(client, search_call(), "search", 0.25, line, stop)),
                    asyncio.create_task(probe(client, related_call(ids[:500]), "related", 0.25, line, stop)),
                    asyncio.create_task(watch(client, data_dir, collection, line, stop, produced)),
                    asyncio.create_task(produce()),
                ]
                async with asyncio.timeout(1800):
                    while line.switched is None or time.monotonic() < line.switched + after_s:  # noqa: ASYNC110
                        await asyncio.sleep(0.5)  # the watcher sets `switched`: polled, as the phases are
                stop.set()
                await asyncio.gather(*tasks)
                while await indexed_total(client) < produced[0]:  # noqa: ASYNC110  # the backlog drains
                    await asyncio.sleep(0.5)
                copy_pause_s = metric_samples((await client.get("/metrics")).text, "store_last_copy_pause_seconds")[0]
            settled = [await closed_loop(base_url, 1, 200, call) for call in (search_call(), related_call(ids[:500]))]
        finally:
            await stop_api(process)
    assert line.copied is not None and line.switched is not None
    return {"points": points, "produced_per_s": rate, "optimization_s": round(line.switched - line.copied, 1),
            "copy_pause_s": copy_pause_s,
            "rows": summary(line, rate),
            "settled": [{"call": name, **{k: run[k] for k in ("clients", "requests", "ok", "p50_ms", "p99_ms")}}
                        for name, run in zip(("search (hybrid)", "related"), settled, strict=True)]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=20.0, help="events produced per second throughout")
    parser.add_argument("--after", type=float, default=40.0, help="seconds measured after the switch")
    parser.add_argument("--out", type=Path, default=RESULTS / datetime.now(UTC).strftime("%Y-%m-%d"))
    args = parser.parse_args()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    results = asyncio.run(run(args.points, args.rate, args.after, bootstrap))
    write("optimize", results, args.out)
    text = table(
        f"Background optimization of a never-optimized {results['points']}-point embedded store "
        f"(copy to switch {results['optimization_s']} s, writes paused {results['copy_pause_s']:.2f} s for the copy's "
        f"second pass; {results['produced_per_s']} events/s produced throughout)",
        results["rows"],
    )
    text += "\n\n" + table("Settled, one closed-loop client (nothing done by hand)", results["settled"])
    (args.out / "optimize.txt").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
