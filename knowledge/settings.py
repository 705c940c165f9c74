"""Settings of what the consumer and the API share: the store and the embedding model."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from knowledge.model_files import DEFAULT_MODEL, MODELS, Model, model_named

#: Parts of a variable's name that say its value is a secret, never repeated in a message.
_SECRET_NAMES = ("KEY", "SECRET", "PASSWORD", "TOKEN", "SASL")
#: Characters of a bad value repeated in a message, at most.
_MOST_SHOWN = 200


def settings_problem(exc: ValidationError) -> str:
    """What is wrong with the environment, in words: each bad variable by its name, with its value
    (unless it is a secret) and why (`API_PORT='abc': Input should be a valid integer, ...`)."""
    said = []
    for error in exc.errors(include_url=False):
        name = ".".join(str(part) for part in error["loc"]).upper() or "a setting"
        reason = error["msg"].removeprefix("Value error, ")
        if not reason.startswith(name):  # a validator's own message names the variable already
            given = error.get("input")
            shown = isinstance(given, str | int | float) and not any(word in name for word in _SECRET_NAMES)
            if shown:
                value = repr(given)
                value = value if len(value) <= _MOST_SHOWN else value[:_MOST_SHOWN] + "..."
                reason = f"{name}={value}: {reason}"
            else:
                reason = f"{name}: {reason}"
        said.append(reason)
    return "; ".join(said)


@contextmanager
def refusing_bad_settings(program: str) -> Iterator[None]:
    """Settings read inside are checked: a bad environment variable stops `program` with exit 2 and a
    sentence naming it (on stderr), not a traceback. Only the settings' own errors are turned so."""
    try:
        yield
    except ValidationError as exc:
        if not exc.title.endswith("Settings"):
            raise
        print(f"{program}: bad configuration: {settings_problem(exc)}", file=sys.stderr)
        raise SystemExit(2) from None


class KnowledgeSettings(BaseSettings):
    """Store and model. Defaults run embedded: Qdrant Edge on disk under `DATA_DIR`, no server."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    store_backend: Literal["edge", "qdrant"] = Field(
        default="edge",
        description="`edge`: embedded Qdrant Edge; `qdrant`: a Qdrant server or local mode (the default when "
        "QDRANT_URL or QDRANT_LOCAL_PATH is set, as mcp-server-qdrant's configuration does).",
    )
    data_dir: Path = Field(default=Path("data"), description="Where the embedded store keeps its files.")
    qdrant_url: str | None = Field(
        default=None, description="Qdrant server URL, or `:memory:` for qdrant-client's local mode."
    )
    qdrant_local_path: Path | None = Field(default=None, description="qdrant-client local mode on disk.")
    qdrant_api_key: str | None = Field(default=None, repr=False)
    qdrant_timeout_s: float = Field(default=10.0, gt=0)
    qdrant_shard_number: int | None = Field(
        default=None, ge=1, description="Shards of a collection this service creates on a server; None: Qdrant's."
    )
    qdrant_replication_factor: int | None = Field(
        default=None, ge=1, description="Copies of each shard on a Qdrant cluster (production: 2 or more)."
    )
    qdrant_write_consistency_factor: int | None = Field(
        default=None, ge=1, description="Copies that must acknowledge a write (at most the replication factor)."
    )
    collection_name: str = Field(default="great-work-knowledge", min_length=1, max_length=255)
    edge_optimize_after: int = Field(
        default=20_000,
        ge=0,
        description="The embedded store is optimized in the background once as many points were written since "
        "it last was as it held then (from 2,000), and at the latest once this many were (0: never).",
    )
    edge_optimize_check_s: float = Field(default=30.0, gt=0, description="How often that is checked.")
    edge_search_threads: int = Field(
        default=1,
        ge=1,
        le=256,
        description="Threads of the embedded store's search pool (kept in the shard). A search holds Python's "
        "GIL until it returns, so more threads only pass each search around (Edge's own default, 8 here: "
        "~125 thread switches per hybrid search); more help only a shard of many segments on many cores.",
    )
    embedding_model: str = Field(
        default=DEFAULT_MODEL.id,
        description=f"The embedding model: {' or '.join(f'`{m}`' for m in MODELS)} (mcp-server-qdrant's name "
        "for it). Unset, an existing collection keeps the model it was made with; a new one gets the default.",
    )
    embed_batch_size: int = Field(
        default=8, ge=1, le=1024, description="Texts per model call; small batches are fastest on 2 CPU cores."
    )
    embed_cache_size: int = Field(default=20_000, ge=0, description="Texts whose vectors are kept for reuse.")
    embed_threads: int | None = Field(
        default=1, ge=1, description="onnxruntime threads of each document model call (None: all cores)."
    )
    embed_workers: int | None = Field(
        default=None,
        ge=1,
        description="Document model calls run side by side (each a batch of EMBED_BATCH_SIZE); None: one per core.",
    )
    embed_query_batch: int = Field(
        default=1, ge=1, le=256, description="Most search queries embedded in one model call (bounds its memory)."
    )
    embed_query_queue: int = Field(
        default=64, ge=1, description="Most queries waiting to be embedded; beyond it a search answers 503 at once."
    )
    embed_query_deadline_s: float = Field(
        default=3.0, gt=0, description="A query not embedded within this answers 503 (Retry-After), not later."
    )
    embed_query_cache_size: int = Field(default=2048, ge=0, description="Query texts whose vectors are kept.")
    embed_query_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="How much lower the CPU priority of the query-embedding thread is than ingest's (0: the same).",
    )
    embed_query_idle: bool = Field(
        default=True,
        description="The query-embedding thread runs in Linux's idle class (SCHED_IDLE): only on CPU time that "
        "ingest and the API leave; false: it competes at EMBED_QUERY_NICE.",
    )
    embed_query_threads: int | None = Field(
        default=1, ge=1, description="onnxruntime threads of the session that embeds search queries; None: all cores."
    )

    @model_validator(mode="before")
    @classmethod
    def _server_when_named(cls, data: Any) -> Any:
        """A Qdrant location alone selects the server backend: mcp-server-qdrant's own settings
        (QDRANT_URL or QDRANT_LOCAL_PATH, no STORE_BACKEND) must not run on an empty embedded store."""
        named = isinstance(data, dict) and (data.get("qdrant_url") or data.get("qdrant_local_path"))
        if named and data.get("store_backend") is None:
            return {**data, "store_backend": "qdrant"}
        return data

    @field_validator("embedding_model")
    @classmethod
    def _known_model(cls, name: str) -> str:
        try:
            return model_named(name).id
        except ValueError as exc:
            raise ValueError(f"EMBEDDING_MODEL={exc}") from None

    @model_validator(mode="after")
    def _one_qdrant_location(self) -> KnowledgeSettings:
        if self.store_backend == "qdrant":
            if self.qdrant_url and self.qdrant_local_path:
                raise ValueError("set QDRANT_URL or QDRANT_LOCAL_PATH, not both")
            if not self.qdrant_url and not self.qdrant_local_path:
                raise ValueError("STORE_BACKEND=qdrant needs QDRANT_URL (or QDRANT_LOCAL_PATH)")
        factors = (self.qdrant_write_consistency_factor, self.qdrant_replication_factor)
        if factors[0] is not None and factors[1] is not None and factors[0] > factors[1]:
            raise ValueError("QDRANT_WRITE_CONSISTENCY_FACTOR cannot exceed QDRANT_REPLICATION_FACTOR")
        return self

    @property
    def edge_alias_file(self) -> Path:
        """Names the shard that serves the collection, once a reindex switched it (`{"shard": name}`)."""
        return self.data_dir / "edge" / f"{self.collection_name}.alias"

    @property
    def edge_path(self) -> Path:
        """The Qdrant Edge shard of the collection: the one its alias file names, else its own name."""
        if self.edge_alias_file.is_file():
            shard = json.loads(self.edge_alias_file.read_text()).get("shard")
            if isinstance(shard, str) and shard and "/" not in shard:
                return self.data_dir / "edge" / shard
        return self.data_dir / "edge" / self.collection_name

    @property
    def model(self) -> Model:
        """The embedding model."""
        return MODELS[self.embedding_model]

    @property
    def model_chosen(self) -> bool:
        """Whether EMBEDDING_MODEL was set (else an existing collection's model is kept)."""
        return "embedding_model" in self.model_fields_set

    @property
    def model_dir(self) -> Path:
        """Where the model's directory is assembled from the packaged files."""
        return self.data_dir / "models" / self.model.slug
