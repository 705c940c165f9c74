"""API settings, and the bundle of every settings class the service reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from consumers.settings import ConsumerSettings
from knowledge.logs import LogSettings
from knowledge.settings import KnowledgeSettings
from service.rate import parse_rate


class ServiceSettings(BaseSettings):
    """How the API runs."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    api_host: str = Field(default="127.0.0.1")
    api_port: int = Field(default=8000, ge=1, le=65535)
    run_consumer: bool = Field(
        default=True,
        description="Run the Kafka consumer inside the API process (required for the embedded store).",
    )
    readiness_timeout_s: float = Field(default=2.0, gt=0)
    live_notices: bool = Field(
        default=True, description="Without an in-process consumer: read its notices topic for live subscriptions."
    )


class SecuritySettings(BaseSettings):
    """Who may call the API, from where, and how much (docs/SECURITY.md)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    api_keys: str | None = Field(default=None, description='JSON list of {"name", "sha256", "scope"}.')
    api_keys_file: Path | None = Field(default=None, description="A file holding the same JSON list.")
    auth_disabled: bool = Field(default=False, description="Run open even on a public address (logged).")
    qdrant_read_only: bool = Field(default=False, description="No writes at all: REST 403, MCP write tools gone.")
    allowed_hosts: str = Field(
        default="127.0.0.1:*,localhost:*,[::1]:*",
        validation_alias=AliasChoices("ALLOWED_HOSTS", "MCP_ALLOWED_HOSTS"),
        description="Host headers every route accepts (DNS-rebinding guard), comma-separated; `*`: any.",
    )
    allowed_origins: str | None = Field(
        default=None, description="Origin headers accepted (browsers); default: http(s):// of each allowed host."
    )
    max_body_bytes: int = Field(default=1_000_000, ge=1024, description="Larger request bodies get 413.")
    rate_limit: str = Field(default="1200/minute", description="Requests per key (or client address when open).")
    live_max_subscriptions: int = Field(default=1000, ge=1, description="Open live subscriptions in all.")
    live_max_subscriptions_per_key: int = Field(default=100, ge=1, description="Open live subscriptions per key.")

    @field_validator("rate_limit")
    @classmethod
    def _rate_limit_reads(cls, value: str) -> str:
        parse_rate(value)  # refused at start, with the reason, rather than by the first request
        return value

    @property
    def hosts(self) -> list[str]:
        return [h.strip() for h in self.allowed_hosts.split(",") if h.strip()]

    @property
    def origins(self) -> list[str]:
        if self.allowed_origins is not None:
            return [o.strip() for o in self.allowed_origins.split(",") if o.strip()]
        return [f"{scheme}://{host}" for host in self.hosts for scheme in ("http", "https")]


class McpSettings(BaseSettings):
    """mcp-server-qdrant's own settings for its tools, read under the same names, so its configuration
    block works unchanged (docs/ai/qdrant_usage_guide.md: every one of its settings and what we do)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    tool_store_description: str = Field(
        default="Keep a piece of information (a note) for later, when you are asked to remember something.",
        min_length=1,
        max_length=4000,
        description="The `qdrant-store` tool's description, as the agent reads it.",
    )
    tool_find_description: str = Field(
        default="Look up game events and notes by meaning and by exact words (names, codes like FD-004). "
        "Optional filters narrow the search; times are ISO 8601 with a timezone; mode is hybrid (default), "
        "semantic or keyword. Returns entries with scores, ids, categories and times.",
        min_length=1,
        max_length=4000,
        description="The `qdrant-find` tool's description.",
    )
    qdrant_search_limit: int = Field(
        default=10, ge=1, le=100, description="Entries `qdrant-find` returns when the agent does not say (`top_k`)."
    )
    embedding_provider: str = Field(default="fastembed", description="Only `fastembed` (refused otherwise).")

    @model_validator(mode="after")
    def _our_model_only(self) -> McpSettings:
        if self.embedding_provider.lower() != "fastembed":
            raise ValueError(f"EMBEDDING_PROVIDER={self.embedding_provider!r}: this service embeds with fastembed only")
        return self  # EMBEDDING_MODEL is the store's setting: KnowledgeSettings checks it


@dataclass(frozen=True)
class AppSettings:
    """Everything `create_app` needs; read from the environment once, in `__main__`."""

    service: ServiceSettings = field(default_factory=ServiceSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    mcp: McpSettings = field(default_factory=McpSettings)
    knowledge: KnowledgeSettings = field(default_factory=KnowledgeSettings)
    consumer: ConsumerSettings = field(default_factory=ConsumerSettings)
    logs: LogSettings = field(default_factory=LogSettings)
