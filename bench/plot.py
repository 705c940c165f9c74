"""PNG plots: search latency distributions, and model throughput against batch size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def plot(results: dict[str, Any], path: Path) -> Path:
    """Write the figure to `path`."""
    figure, (latency, throughput) = plt.subplots(1, 2, figsize=(14, 5.5))
    for store, measured in results.get("search", {}).items():
        for run in measured["runs"]:
            values = np.sort(np.asarray(run["latencies_s"]) * 1000)
            if values.size:
                label = f"{store}, {run['clients']} client(s){', filtered' if run['filters'] else ''}"
                latency.plot(values, np.linspace(0, 1, values.size), label=label)
    fresh = results.get("ingest", {}).get("freshness", {}).get("delays_s")
    if fresh:
        values = np.sort(np.asarray(fresh) * 1000)
        latency.plot(values, np.linspace(0, 1, values.size), "k--", label="freshness: produce -> searchable")
    latency.set_xscale("log")
    latency.set_xlabel("milliseconds (log)")
    latency.set_ylabel("fraction of requests at or below")
    latency.set_title("Search latency over HTTP, and ingest freshness")
    latency.legend(fontsize=7)
    latency.grid(True, which="both", alpha=0.3)
    curve = results.get("ingest", {}).get("model", {}).get("by_batch_size", [])
    if curve:
        sizes = [row["batch_size"] for row in curve]
        throughput.plot(sizes, [row["plain_texts_per_s"] for row in curve], "o-", label="fastembed, plain batches")
        throughput.plot(
            sizes, [row["sorted_dedup_texts_per_s"] for row in curve], "s-", label="the service's embedder (dedup)"
        )
        throughput.set_xscale("log", base=2)
        throughput.set_xlabel("batch size")
        throughput.set_ylabel("texts per second")
        throughput.set_title("Embedding throughput against batch size")
        throughput.legend()
        throughput.grid(True, alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
