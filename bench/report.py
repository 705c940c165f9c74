"""Tables, percentiles, peak memory and the JSON results file."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from prometheus_client.parser import text_string_to_metric_families

RESULTS = Path(__file__).resolve().parent / "results"


def percentiles(samples_s: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max of latencies in seconds, as milliseconds."""
    values = np.asarray(samples_s, dtype=np.float64) * 1000
    if values.size == 0:
        return {"p50_ms": float("nan"), "p95_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan")}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"p50_ms": round(float(p50), 2), "p95_ms": round(float(p95), 2), "p99_ms": round(float(p99), 2),
            "max_ms": round(float(values.max()), 2)}  # fmt: skip


def peak_rss_mb(pid: int | None = None) -> float:
    """Peak resident memory (VmHWM) of a process, in MB."""
    status = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system, every thread) a process has used so far, in seconds."""
    fields = Path(f"/proc/{pid or os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_of(service_pid: int | None) -> tuple[float, float]:
    """CPU seconds used so far by the service (0 without its pid) and by this process (the bench's
    clients); `cpu_since` gives what a run used."""
    return cpu_seconds(service_pid) if service_pid else 0.0, cpu_seconds()


def cpu_since(service_pid: int | None, before: tuple[float, float]) -> tuple[float, float]:
    """CPU seconds the service and this process used since `cpu_of` gave `before`."""
    service, here = cpu_of(service_pid)
    return service - before[0], here - before[1]


def table(title: str, rows: Sequence[dict[str, Any]]) -> str:
    """A plain-text table of `rows` (dicts with the same keys)."""
    if not rows:
        return f"{title}: (no rows)"
    keys = list(rows[0])
    cells = [[str(row.get(k, "")) for k in keys] for row in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    line = "  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True))
    body = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join([f"## {title}", line, "-" * len(line), *body])


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "date": datetime.now(UTC).strftime("%Y-%m-%d")}  # fmt: skip


def write(name: str, results: dict[str, Any], out_dir: Path = RESULTS) -> Path:
    """Write `results` with the machine description to `out_dir/<name>.json`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **results}, indent=2, default=str))
    return path


def metric_samples(metrics: str, name: str, **labels: str) -> list[float]:
    """The values of the samples named `name` (with these labels) in a `/metrics` text."""
    return [s.value for f in text_string_to_metric_families(metrics) for s in f.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]  # fmt: skip
