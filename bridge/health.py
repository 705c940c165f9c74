"""The bridge's own small HTTP endpoint (`BRIDGE_METRICS_PORT`): `/metrics` (Prometheus), `/healthz`
(the process answers) and `/readyz` (the last read-and-publish round succeeded recently: 200 with the
position and the rows behind, else 503 with the reason). A plain asyncio server: the bridge has no web
framework and needs none for three GET routes."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bridge.database import Table

log = structlog.get_logger(__name__)

READ_TIMEOUT_S = 5.0


@dataclass
class BridgeHealth:
    """What the loop last did: set by the bridge, read by `/readyz`."""

    stale_after_s: float
    position: dict[Table, int] = field(default_factory=dict)
    behind: dict[Table, int] = field(default_factory=dict)
    last_ok: float | None = None  # monotonic time of the last successful round
    last_error: str | None = None

    def succeeded(self, position: Mapping[Table, int], behind: Mapping[Table, int]) -> None:
        self.position, self.behind = dict(position), dict(behind)
        self.last_ok, self.last_error = time.monotonic(), None

    def failed(self, error: str) -> None:
        self.last_error = error

    def readiness(self) -> tuple[bool, dict[str, object]]:
        """(ready, the body of `/readyz`)."""
        age = None if self.last_ok is None else round(time.monotonic() - self.last_ok, 3)
        body: dict[str, object] = {"position": self.position, "rows_behind": self.behind, "last_round_s_ago": age}
        if self.last_error is not None:
            return False, {"status": "not_ready", "reason": f"retrying: {self.last_error}", **body}
        if age is None:
            return False, {"status": "not_ready", "reason": "no round has completed yet", **body}
        if age > self.stale_after_s:
            return False, {"status": "not_ready", "reason": f"no round completed for {age} s", **body}
        return True, {"status": "ready", **body}


def _response(status: str, content_type: str, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"Connection: close\r\n\r\n" + body


def answer(health: BridgeHealth, request_line: bytes) -> bytes:
    """The response to one request line (`GET /path HTTP/1.1`)."""
    parts = request_line.decode("latin-1").split()
    if len(parts) < 2 or parts[0] not in ("GET", "HEAD"):
        return _response("405 Method Not Allowed", "application/json", b'{"detail":"only GET"}')
    path = parts[1].split("?", 1)[0]
    if path == "/metrics":
        return _response("200 OK", CONTENT_TYPE_LATEST, generate_latest())
    if path == "/healthz":
        return _response("200 OK", "application/json", b'{"status":"ok"}')
    if path == "/readyz":
        ready, body = health.readiness()
        status = "200 OK" if ready else "503 Service Unavailable"
        return _response(status, "application/json", json.dumps(body).encode())
    return _response("404 Not Found", "application/json", b'{"detail":"not found"}')


async def _serve_one(health: BridgeHealth, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        async with asyncio.timeout(READ_TIMEOUT_S):
            request_line = await reader.readline()
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):  # the headers, unused
                pass
        writer.write(answer(health, request_line))
        async with asyncio.timeout(READ_TIMEOUT_S):
            await writer.drain()
    except (TimeoutError, ConnectionError, ValueError):  # ValueError: a line over the stream's limit
        pass
    finally:
        writer.close()


@asynccontextmanager
async def serving(health: BridgeHealth, port: int, host: str = "0.0.0.0") -> AsyncIterator[None]:
    """Serve the endpoint on `port` (0: not at all) while the block runs."""
    if port == 0:
        yield
        return

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _serve_one(health, reader, writer)

    server = await asyncio.start_server(handle, host, port)
    log.info("bridge_endpoint", port=port, paths=["/metrics", "/healthz", "/readyz"])
    try:
        yield
    finally:
        server.close()
