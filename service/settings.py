"""API settings, and the bundle of every settings class the service reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from consumers.settings import ConsumerSettings
from knowledge.logs import LogSettings
from knowledge.settings import KnowledgeSettings


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

    @property
    def hosts(self) -> list[str]:
        return [h.strip() for h in self.allowed_hosts.split(",") if h.strip()]

    @property
    def origins(self) -> list[str]:
        if self.allowed_origins is not None:
            return [o.strip() for o in self.allowed_origins.split(",") if o.strip()]
        return [f"{scheme}://{host}" for host in self.hosts for scheme in ("http", "https")]


@dataclass(frozen=True)
class AppSettings:
    """Everything `create_app` needs; read from the environment once, in `__main__`."""

    service: ServiceSettings = field(default_factory=ServiceSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    knowledge: KnowledgeSettings = field(default_factory=KnowledgeSettings)
    consumer: ConsumerSettings = field(default_factory=ConsumerSettings)
    logs: LogSettings = field(default_factory=LogSettings)
