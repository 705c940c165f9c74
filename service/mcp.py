"""The MCP server for AI agents: a drop-in for mcp-server-qdrant, with more.

`qdrant-store(information, metadata)` and `qdrant-find(query)` keep mcp-server-qdrant's names,
arguments and answer shape (`<entry><content>…</content><metadata>…</metadata></entry>`), so an
agent configured for it only changes its command or URL. Added: filters on `qdrant-find`, scores,
event ids, categories and timestamps in each entry's metadata, and the tools `related`, `timeline`
and `forget`.

Reachable as streamable HTTP at `/mcp` on the API, and over stdio with `python -m service.mcp`.
Over HTTP, where API keys are configured, the SDK's own bearer-token verification asks for one (any
scope may call the read tools; `qdrant-store` and `forget` need `write`, rules `admin`); the stdio
server, run by a local agent, needs none. `QDRANT_READ_ONLY=true` (mcp-server-qdrant's own setting)
leaves the write tools out.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import structlog
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AnyHttpUrl, ValidationError
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from knowledge.metrics import AUTH_DECISIONS
from knowledge.notes import forget_note, is_rule, store_note
from knowledge.search import related, search, timeline
from schemas.search import EntityKind, SearchFilters, SearchHit, SearchRequest, StoredDocument
from service.auth import OPEN, KeyRing, Principal, Scope
from service.deps import Runtime, refused
from service.settings import McpSettings

log = structlog.get_logger(__name__)

INSTRUCTIONS = (
    "Knowledge of The Great Work: every game event (expeditions, scholars, press, symposia, game state) "
    "and what agents chose to remember. Use qdrant-find to search in words, with optional filters; "
    "related for events like a given one; timeline for a player's, scholar's or expedition's history; "
    "qdrant-store to remember a note (metadata.category='mechanics' for a rule); forget to delete a note."
)


def _entry(document: StoredDocument, score: float | None = None) -> str:
    """One entry as mcp-server-qdrant writes it. A note's metadata is the agent's own, as it stored it,
    at the top level; this service's fields join it where the agent did not use the name."""
    metadata: dict[str, Any] = {
        "event_id": document.event_id,
        "category": document.category.value,
        "action": document.action,
        "occurred_at": document.occurred_at.isoformat(),
    }
    if score is not None:
        metadata["score"] = round(score, 4)
    for key in ("player_ids", "scholar_ids", "expedition_code"):
        if document.document.get(key):
            metadata[key] = document.document[key]
    own = document.document.get("metadata")
    if isinstance(own, dict):
        metadata = {**metadata, **own}
    return f"<entry><content>{document.content}</content><metadata>{json.dumps(metadata)}</metadata></entry>"


def _hits_text(header: str, hits: list[SearchHit]) -> list[str]:
    if not hits:
        return [f"{header}: nothing found"]
    return [header, *(_entry(hit, hit.score) for hit in hits)]


def _filters(
    category: list[str] | None,
    action: list[str] | None,
    player_id: str | None,
    scholar_id: str | None,
    expedition_code: str | None,
    occurred_after: str | None,
    occurred_before: str | None,
) -> SearchFilters:
    return SearchFilters.model_validate(
        {
            "category": category,
            "action": action,
            "player_id": player_id,
            "scholar_id": scholar_id,
            "expedition_code": expedition_code,
            "occurred_after": occurred_after,
            "occurred_before": occurred_before,
        }
    )


def _problem(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors())


class KeyVerifier:
    """The MCP SDK's TokenVerifier over this service's API keys: the bearer token is an API key."""

    def __init__(self, keys: KeyRing) -> None:
        self._keys = keys

    async def verify_token(self, token: str) -> AccessToken | None:
        principal = self._keys.verify(token)
        if principal is None:
            return None
        scopes = [scope.name.lower() for scope in Scope if principal.may(scope)]
        return AccessToken(token=token, client_id=principal.name, scopes=scopes)


def caller() -> Principal:
    """Who calls this tool: the key of the HTTP request, or (stdio, or a service running open) anyone."""
    token = get_access_token()
    if token is None:
        return OPEN
    return Principal(token.client_id, max(Scope.named(s) for s in token.scopes))


def _not_allowed(needed: Scope) -> str | None:
    principal = caller()
    if principal.may(needed):
        return None
    AUTH_DECISIONS.labels(principal.name, "403").inc()
    return f"Not allowed: {refused(principal, needed)}"


def build_mcp(
    runtime: Callable[[], Runtime],
    keys: KeyRing | None = None,
    *,
    read_only: bool = False,
    url: str = "",
    tools: McpSettings | None = None,
    collection: str = "",
) -> MCPServer:
    """The MCP server; `runtime` returns the parts built by the app's (or the CLI's) lifespan. With
    `keys` that hold any key, HTTP callers must present one (`url` is this server's own address, named in
    the SDK's protected-resource metadata). `tools`: mcp-server-qdrant's tool settings; `collection`:
    the one collection served (an agent that names another is told so)."""
    tools = tools or McpSettings()

    def elsewhere(collection_name: str | None) -> str | None:
        if collection_name and collection and collection_name != collection:
            return f"This server serves the collection {collection!r} only, not {collection_name!r}"
        return None

    auth: dict[str, Any] = {}
    if keys is not None and keys.enabled:
        resource = AnyHttpUrl(url or "http://127.0.0.1")
        auth = {
            "auth": AuthSettings(issuer_url=resource, resource_server_url=resource, required_scopes=["read"]),
            "token_verifier": KeyVerifier(keys),
        }
    server: MCPServer = MCPServer(name="greatwork-knowledge", instructions=INSTRUCTIONS, **auth)

    async def qdrant_store(
        information: str, metadata: dict[str, Any] | None = None, collection_name: str | None = None
    ) -> str:
        refusal = elsewhere(collection_name) or _not_allowed(Scope.ADMIN if is_rule(metadata) else Scope.WRITE)
        if refusal:
            return refusal
        try:
            document = await store_note(runtime().embedder, runtime().store, information, metadata)
        except ValueError as exc:
            return f"Not stored: {exc}"
        log.info("rule_stored" if is_rule(metadata) else "note_stored", key=caller().name,
                 event_id=document.event_id, via="mcp")  # fmt: skip
        return f"Remembered: {information} (id {document.event_id}, category {document.category.value})"

    async def forget(event_id: str) -> str:
        refusal = _not_allowed(Scope.WRITE)
        if refusal:
            return refusal
        outcome = await forget_note(runtime().store, event_id, rules=caller().may(Scope.ADMIN))
        if outcome == "rule":
            return _not_allowed(Scope.ADMIN) or "Not allowed"
        if outcome == "absent":
            return f"No note has the id {event_id!r} (game events cannot be forgotten)"
        log.info("note_forgotten", key=caller().name, event_id=event_id, via="mcp")
        return f"Forgot {event_id}"

    if not read_only:
        server.tool(name="qdrant-store", description=tools.tool_store_description)(qdrant_store)

    @server.tool(name="qdrant-find", description=tools.tool_find_description)
    async def qdrant_find(
        query: str,
        top_k: int | None = None,
        category: list[str] | None = None,
        action: list[str] | None = None,
        player_id: str | None = None,
        scholar_id: str | None = None,
        expedition_code: str | None = None,
        occurred_after: str | None = None,
        occurred_before: str | None = None,
        mode: str = "hybrid",
        collection_name: str | None = None,
    ) -> list[str] | None:
        refusal = elsewhere(collection_name)
        if refusal:
            return [refusal]
        try:
            filters = _filters(
                category, action, player_id, scholar_id, expedition_code, occurred_after, occurred_before
            )
            request = SearchRequest.model_validate(
                {
                    "query": query,
                    "top_k": tools.qdrant_search_limit if top_k is None else top_k,
                    "filters": filters,
                    "mode": mode,
                }
            )
        except ValidationError as exc:
            return [f"Invalid arguments: {_problem(exc)}"]
        response = await search(runtime().embedder, runtime().store, request)
        if not response.hits:  # as mcp-server-qdrant answers: nothing
            return None
        return _hits_text(f"Results for the query '{query}'", response.hits)

    @server.tool(name="related", description="Events and notes most like the one with this event id.")
    async def related_events(
        event_id: str,
        top_k: int = 10,
        category: list[str] | None = None,
        occurred_after: str | None = None,
        occurred_before: str | None = None,
    ) -> list[str]:
        try:
            filters = _filters(category, None, None, None, None, occurred_after, occurred_before)
        except ValidationError as exc:
            return [f"Invalid arguments: {_problem(exc)}"]
        hits = await related(runtime().store, event_id, max(1, min(top_k, 100)), filters)
        if hits is None:
            return [f"No indexed event has the id {event_id!r}"]
        return _hits_text(f"Related to {event_id}", hits)

    @server.tool(
        name="timeline",
        description="The history of a player, scholar or expedition, oldest first. kind: player, scholar "
        "or expedition. Pass the returned cursor to get the next page.",
    )
    async def entity_timeline(kind: str, id: str, limit: int = 20, cursor: str | None = None) -> list[str]:
        try:
            page = await timeline(runtime().store, EntityKind(kind), id, max(1, min(limit, 100)), cursor)
        except ValueError as exc:  # an unknown kind or a bad cursor
            return [f"Invalid arguments: {exc}"]
        lines = [f"Timeline of {kind} {id}: {len(page.events)} events"]
        lines += [_entry(document) for document in page.events]
        lines.append(f"next_cursor: {page.next_cursor}" if page.next_cursor else "end of timeline")
        return lines

    if not read_only:
        server.tool(name="forget", description="Delete a note (or rule) stored with qdrant-store, by its id.")(forget)

    return server


def http_routes(server: MCPServer, allowed_hosts: list[str]) -> list[BaseRoute]:
    """The MCP transports mcp-server-qdrant offers over HTTP, to add to the API: streamable HTTP at
    `/mcp` (its session manager runs in the lifespan) and SSE at `/sse` (messages posted to
    `/messages/`), which Cursor and Windsurf set-ups use. `allowed_hosts` guards against DNS
    rebinding; `["*"]` turns the check off (behind a proxy)."""
    check = allowed_hosts != ["*"]
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=check,
        allowed_hosts=allowed_hosts if check else [],
        allowed_origins=[f"http://{h}" for h in allowed_hosts] if check else [],
    )
    apps = [
        server.streamable_http_app(streamable_http_path="/mcp", transport_security=security),
        server.sse_app(sse_path="/sse", message_path="/messages/", transport_security=security),
    ]
    routes: list[BaseRoute] = []
    seen: set[str] = set()  # both apps add the protected-resource metadata route
    for app in apps:
        for route in app.routes:
            path = getattr(route, "path", "")
            if path in seen:
                continue
            seen.add(path)
            # The SDK's app-level middleware (bearer authentication, when keys are configured) must
            # wrap its routes here, since only the routes join the API.
            if isinstance(route, Route | Mount):
                wrapped: ASGIApp = route.app
                for middleware in reversed(app.user_middleware):
                    wrapped = middleware.cls(wrapped, *middleware.args, **middleware.kwargs)
                route.app = wrapped
            routes.append(route)
    return routes


async def serve_stdio() -> None:
    """Open the model and the store, then answer MCP over stdin/stdout until the client leaves."""
    from knowledge.logs import LogSettings, configure_logging
    from knowledge.runtime import open_knowledge
    from knowledge.settings import KnowledgeSettings

    log_settings = LogSettings()
    configure_logging(log_settings.log_level, json_logs=True)  # stderr only: stdout carries the protocol
    from service.settings import SecuritySettings

    read_only = SecuritySettings().qdrant_read_only
    tools = McpSettings()
    knowledge = KnowledgeSettings()
    async with open_knowledge(knowledge) as (embedder, store):
        parts = Runtime(embedder=embedder, store=store)
        server = build_mcp(lambda: parts, read_only=read_only, tools=tools, collection=knowledge.collection_name)
        await server.run_stdio_async()


def main() -> int:
    """`python -m service.mcp`: the stdio server, or (exit 2) why it cannot start, in words. The embedded
    store belongs to one process: while the API holds it, an agent uses the API's own MCP endpoints."""
    import sys

    from knowledge.errors import ConfigurationError
    from knowledge.settings import refusing_bad_settings

    try:
        with refusing_bad_settings("python -m service.mcp"):
            asyncio.run(serve_stdio())
    except ConfigurationError as exc:
        held = "WouldBlock" in str(exc) or "lock" in str(exc).lower()
        hint = (" Another process holds the embedded store (the API, most likely): point the agent at the API's "
                "MCP endpoint instead, http://<api>/mcp (streamable HTTP) or http://<api>/sse (SSE), or run "
                "both on a Qdrant server (QDRANT_URL).") if held else ""  # fmt: skip
        print(f"python -m service.mcp: {exc}.{hint}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
