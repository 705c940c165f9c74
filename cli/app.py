"""`greatwork`: one command line for operators and analysts (installed by `pip install`).

    greatwork serve | consume | bridge          the long-running processes
    greatwork backfill --db PATH                publish a game database's history, then exit
    greatwork search "query" [--player ...]     search the running API, as a table (or --json)
    greatwork dlq list | dlq replay [--reason]  what the dead-letter topic holds; send it back after a fix
    greatwork reindex [--to NAME] [--switch]    rebuild the collection from the topic; switch when complete
    greatwork optimize                          build the embedded store's index (service stopped)

Every command is configured by the same environment variables as the service (README); options
override the few that a person types.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__.split("\n\n")[0])
dlq = typer.Typer(no_args_is_help=True, help="The dead-letter topic: what is there and why; replay after a fix.")
app.add_typer(dlq, name="dlq")
out = Console()
err = Console(stderr=True)


@app.command()
def serve() -> None:
    """Run the API (and, on the embedded store, the consumer in the same process)."""
    from service.__main__ import main as serve_main

    serve_main()


@app.command()
def consume() -> None:
    """Run the consumer as its own process (with a Qdrant server as the store)."""
    from consumers.__main__ import main as consume_main

    consume_main()


@app.command()
def bridge() -> None:
    """Publish the game's database (GREAT_WORK_DB) to Kafka: its history, then every new row."""
    from bridge.__main__ import main as bridge_main

    bridge_main([])


@app.command()
def backfill(
    db: Annotated[Path, typer.Option(help="The game's database file (read-only).", exists=True, dir_okay=False)],
) -> None:
    """Publish a game database's history to Kafka and exit (a progress bar when run in a terminal)."""
    from bridge.__main__ import main as bridge_main

    os.environ["GREAT_WORK_DB"] = str(db)
    bridge_main(["--until-caught-up"])


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for, in words (names and codes work too).")],
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, max=100)] = 10,
    mode: Annotated[str, typer.Option(help="hybrid, semantic or keyword.")] = "hybrid",
    category: Annotated[list[str] | None, typer.Option(help="Only these categories (repeatable).")] = None,
    player: Annotated[str | None, typer.Option(help="Only events naming this player id.")] = None,
    scholar: Annotated[str | None, typer.Option(help="Only events naming this scholar id.")] = None,
    expedition: Annotated[str | None, typer.Option(help="Only this expedition code.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The API's answer as JSON.")] = False,
    url: Annotated[str, typer.Option(envvar="API_URL", help="The running API.")] = "http://127.0.0.1:8000",
    api_key: Annotated[str | None, typer.Option(envvar="API_KEY", help="A key with the read scope.")] = None,
) -> None:
    """Search the running service and print the hits as a table."""
    filters = {"category": category, "player_id": player, "scholar_id": scholar, "expedition_code": expedition}
    body = {"query": query, "top_k": top_k, "mode": mode, "filters": {k: v for k, v in filters.items() if v}}
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.post(f"{url.rstrip('/')}/v1/search", json=body, headers=headers, timeout=30)
    except httpx.HTTPError as exc:
        err.print(f"[red]cannot reach the service at {url}:[/red] {exc}")
        raise typer.Exit(1) from None
    answer: Any = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    if response.status_code != 200:
        reasons = "; ".join(f"{e.get('field')}: {e.get('reason')}" for e in answer.get("errors", [])) or response.text
        err.print(f"[red]{response.status_code} {answer.get('error', '')}[/red] {reasons}")
        raise typer.Exit(1)
    if as_json:
        print(json.dumps(answer, indent=2))
        return
    table = Table(title=f"{len(answer['hits'])} hits for {query!r}", show_lines=False)
    for column in ("score", "when", "category", "action", "title", "event id"):
        table.add_column(column, overflow="fold")
    for hit in answer["hits"]:
        table.add_row(f"{hit['score']:.3f}", hit["occurred_at"][:16], hit["category"], hit["action"], hit["title"],
                      hit["event_id"])  # fmt: skip
    out.print(table)


def _consumer_settings() -> Any:
    from consumers.settings import ConsumerSettings

    return ConsumerSettings()


@dlq.command("list")
def dlq_list(
    examples: Annotated[int, typer.Option(min=0, max=100, help="Letters shown per reason.")] = 3,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Dead letters by reason, with examples (source offset, detail)."""
    from consumers.dead_letters import summarize

    summary = asyncio.run(summarize(_consumer_settings(), examples))
    if as_json:
        shown = {reason: [vars(x) for x in letters] for reason, letters in summary.examples.items()}
        print(json.dumps({"total": summary.total, "by_reason": dict(summary.by_reason), "examples": shown}, indent=2))
        return
    table = Table(title=f"{summary.total} dead letters")
    for column in ("reason", "count", "examples: source (topic:partition:offset) and detail"):
        table.add_column(column, overflow="fold")
    for reason, number in summary.by_reason.most_common():
        examples_text = "\n".join(f"{x.source}  {x.detail[:160]}" for x in summary.examples.get(reason, []))
        table.add_row(reason, str(number), examples_text)
    out.print(table)


@dlq.command("replay")
def dlq_replay(
    reason: Annotated[str | None, typer.Option(help="Only letters with this reason.")] = None,
    from_start: Annotated[bool, typer.Option(help="Also the letters an earlier replay already sent.")] = False,
) -> None:
    """Send dead letters back to the events topic after a fix; those that fail again are dead-lettered again."""
    from consumers.dead_letters import replay

    result = asyncio.run(replay(_consumer_settings(), reason, from_start))
    out.print(
        f"replayed {result.sent} letters" + (f", skipped {result.skipped_reason} of other reasons" if reason else "")
    )
    for found in result.not_replayable:
        out.print(f"[yellow]not replayable[/yellow] (no original value in the DLQ): read it at {found.source}")


@app.command()
def reindex(
    to: Annotated[str | None, typer.Option(help="The new collection (default: <COLLECTION_NAME>-<timestamp>).")] = None,
    switch: Annotated[
        bool, typer.Option("--switch", help="Catch up a collection built before and switch to it.")
    ] = False,
) -> None:
    """Rebuild the collection from the events topic into a new one and switch to it when complete
    (Qdrant server: an alias, at once; embedded store: when no process holds the old shard)."""
    from consumers.reindex import reindex as run_reindex
    from knowledge.errors import ConfigurationError
    from knowledge.settings import KnowledgeSettings

    try:
        knowledge = KnowledgeSettings()
        done = asyncio.run(run_reindex(knowledge, _consumer_settings(), to, switch_only=switch))
    except ConfigurationError as exc:
        err.print(f"[red]not reindexed:[/red] {exc}")
        raise typer.Exit(1) from None
    out.print(f"{done.collection}: {done.documents} documents, {done.dead_lettered} dead letters (to the .reindex DLQ)")
    if done.switched:
        out.print(f"switched: the collection now reads from {done.collection}")
        if done.replaced == knowledge.collection_name:
            out.print(f"{done.replaced} (made before aliases) was deleted: it is now an alias")
        elif done.replaced:
            out.print(f"the previous collection {done.replaced} is kept for a rollback (`--to {done.replaced} "
                      "--switch`); delete it on the server when done")  # fmt: skip
    else:
        out.print(f"not switched: a process holds the current shard. Stop it, then `greatwork reindex --to "
                  f"{done.collection} --switch`, and start it again.")  # fmt: skip


@app.command()
def optimize() -> None:
    """Build the embedded store's HNSW index and merge its segments (with the service stopped)."""
    from knowledge.store.optimize import main as optimize_main

    optimize_main()


def main() -> None:
    from knowledge.settings import refusing_bad_settings

    with refusing_bad_settings("greatwork"):
        app(prog_name="greatwork")


if __name__ == "__main__":
    main()
