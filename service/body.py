"""Request bodies are parsed strictly (schemas/limits.py) before any model sees them.

Starlette's `Request.json()` is Python's `json.loads`: it accepts `NaN`, lone surrogate escapes, and
integers of any size, and a deep enough body overflows the interpreter's stack. Each of those is
then a 500 somewhere later (the store, the tokenizer, the response encoder). Routes made with
`StrictJsonRoute` parse with the same rules as Kafka records, so such a body is a 422 naming the
problem instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from schemas import limits


class StrictJsonRequest(Request):
    """A request whose JSON body must be safe to store."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = limits.parse(body)
            except limits.UnsafeJson as exc:
                # FastAPI turns JSONDecodeError into a 422 (service/errors.py shows its message).
                raise json.JSONDecodeError(str(exc), "", 0) from None
        return self._json


class StrictJsonRoute(APIRoute):
    """An API route whose request body is parsed by StrictJsonRequest."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict
