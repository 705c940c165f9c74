"""API settings, and the bundle of every settings class the service reads."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import Field
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
    mcp_allowed_hosts: str = Field(
        default="127.0.0.1:*,localhost:*,[::1]:*",
        description="Host headers /mcp accepts (DNS-rebinding guard), comma-separated; `*`: any.",
    )


@dataclass(frozen=True)
class AppSettings:
    """Everything `create_app` needs; read from the environment once, in `__main__`."""

    service: ServiceSettings = field(default_factory=ServiceSettings)
    knowledge: KnowledgeSettings = field(default_factory=KnowledgeSettings)
    consumer: ConsumerSettings = field(default_factory=ConsumerSettings)
    logs: LogSettings = field(default_factory=LogSettings)
