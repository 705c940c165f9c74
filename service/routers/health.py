"""`/healthz` (the process is alive) and `/readyz` (it can serve: model, store, and broker when consuming)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from service.deps import Runtime, RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Always 200 while the event loop answers."""
    return {"status": "alive"}


async def _check(name: str, runtime: Runtime) -> tuple[str, str]:
    try:
        async with asyncio.timeout(runtime.readiness_timeout_s):
            if name == "store":
                if runtime.breaker is not None and runtime.breaker.is_open:
                    return name, "failing: circuit open (the consumer's store writes keep failing)"
                await runtime.store.ping()
            elif name == "model":
                await runtime.embedder.embed_query("ready")
            elif name == "broker" and runtime.consumer is not None:
                await runtime.consumer.topics()
        return name, "ok"
    except Exception as exc:  # a readiness probe reports every failure as "not ready", with its kind
        return name, f"failing: {type(exc).__name__}"


@router.get("/readyz")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    """200 when every part answers; 503 naming the parts that do not."""
    names = ["model", "store"] + (["broker"] if runtime.consumer is not None else [])
    checks = dict(await asyncio.gather(*(_check(name, runtime) for name in names)))
    checks |= {name: f"failing: stopped ({kind})" for name, kind in runtime.stopped.items()}
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(status_code=200 if ready else 503, content={"ready": ready, "checks": checks})
