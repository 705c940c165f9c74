"""Bridge settings (the Kafka side is the consumer's own: brokers, the events topic, SASL/TLS)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class BridgeSettings(BaseSettings):
    """Where the game's database is, and how it is read."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    great_work_db: Path = Field(
        default=Path("var/state/great_work.db"), description="The game's database (the game's own variable)."
    )
    bridge_state_file: Path = Field(
        default=Path("data/bridge-state.json"), description="The last published row id per table."
    )
    bridge_poll_s: float = Field(default=0.25, gt=0, le=60, description="Wait between reads once caught up.")
    bridge_page_rows: int = Field(default=500, ge=1, le=10_000, description="Rows per read transaction.")
    bridge_busy_timeout_ms: int = Field(default=2000, ge=0, description="How long a read waits for the game's lock.")
    bridge_metrics_port: int = Field(default=9109, ge=0, le=65535, description="/metrics, /healthz, /readyz; 0: off.")
