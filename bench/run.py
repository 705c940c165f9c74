"""Run every benchmark once and print the tables: `python -m bench.run` (scripts/bench.sh).

Results go to bench/results/<date>/results.json with a PNG beside it. Defaults finish in a few
minutes on 2 cores; `--ingest-events 20000` is the full-size ingest run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import ingest, search_latency
from bench.plot import plot
from bench.report import RESULTS, table, write
from knowledge.embedder import FastembedEmbedder
from knowledge.settings import KnowledgeSettings


def _tables(results: dict[str, Any]) -> str:
    found = results["ingest"]
    model = found["model"]
    parts = [
        table("Model throughput (fastembed alone)", model["by_batch_size"]),
        table(
            "Ingest",
            [
                {"path": f"R: fastembed alone, best plain batch ({model['R_batch_size']})",
                 "events_per_s": model["R_texts_per_s"], "ratio": 1.0},
                {"path": "this service, end to end from Kafka (first to last commit)",
                 "events_per_s": found["end_to_end"]["events_per_s"], "ratio": found["ratios"]["ingest_over_R"]},
                {"path": "  the same, process start-up (model load, group join) included",
                 "events_per_s": found["end_to_end"]["events_per_s_with_startup"],
                 "ratio": round(found["end_to_end"]["events_per_s_with_startup"] / model["R_texts_per_s"], 2)},
                {"path": "today's path: one embed + one upsert per event",
                 "events_per_s": found["todays_path"]["events_per_s"],
                 "ratio": round(found["todays_path"]["events_per_s"] / model["R_texts_per_s"], 2)},
            ],
        ),
        table("Freshness (produce -> searchable)", [{k: v for k, v in found["freshness"].items() if k != "delays_s"}]),
    ]  # fmt: skip
    rows = []
    for store, measured in results["search"].items():
        for run in measured["runs"]:
            rows.append({"store": store, **{k: v for k, v in run.items() if k != "latencies_s"},
                         "api_peak_rss_mb": measured["api_peak_rss_mb"]})  # fmt: skip
    parts.append(table("Search over HTTP (query embedding included)", rows))
    parts.append(
        table("Memory", [{"process": "consumer process (model + embedded store), during ingest",
                          "peak_rss_mb": found["end_to_end"]["peak_rss_mb"]}]
              + [{"process": f"API, {store}", "peak_rss_mb": m["api_peak_rss_mb"]}
                 for store, m in results["search"].items()])
    )  # fmt: skip
    return "\n\n".join(parts)


async def main(args: argparse.Namespace) -> None:
    sizes = {
        "model_texts": args.model_texts,
        "ingest_events": args.ingest_events,
        "todays_path_events": args.todays_path_events,
        "freshness_events": args.freshness_events,
        "search_store_sizes": args.search_sizes,
        "search_embedded_events": 2000,
        "search_requests": args.search_requests,
    }
    with tempfile.TemporaryDirectory(prefix="gw-bench-") as tmp:
        model = await asyncio.to_thread(FastembedEmbedder.load, KnowledgeSettings(data_dir=Path(tmp)))
        try:
            results: dict[str, Any] = {"sizes": sizes}
            results["ingest"] = await ingest.run(model, args.bootstrap, Path(tmp), sizes)
            results["search"] = await search_latency.run(model, Path(tmp), sizes)
        finally:
            model.close()
    out_dir = RESULTS / datetime.now(UTC).strftime("%Y-%m-%d")
    path = write("results", results, out_dir)
    figure = plot(results, out_dir / "latency_and_throughput.png")
    summary = _tables(results)
    (out_dir / "tables.txt").write_text(summary + "\n")
    print(summary)
    print(f"\nwrote {path} and {figure}")
    print(json.dumps(results["ingest"]["ratios"]))


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    parser.add_argument("--model-texts", type=int, default=512)
    parser.add_argument("--ingest-events", type=int, default=2500)
    parser.add_argument("--todays-path-events", type=int, default=300)
    parser.add_argument("--freshness-events", type=int, default=600)
    parser.add_argument("--search-sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--search-requests", type=int, default=200)
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
