"""Consumer settings (Kafka side)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from aiokafka.helpers import create_ssl_context
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsumerSettings(BaseSettings):
    """Where events come from and where bad ones go."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    kafka_bootstrap_servers: str = Field(default="127.0.0.1:9092", description="Comma-separated host:port list.")
    kafka_topics: str = Field(default="greatwork.events", description="Comma-separated topics to consume.")
    kafka_dlq_topic: str = Field(default="greatwork.events.dlq", description="Where bad records go, with reasons.")
    kafka_indexed_topic: str = Field(
        default="greatwork.events.indexed",
        description="Notices of indexed events, read by every API instance for live subscriptions.",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="How every Kafka client of this service talks to the brokers."
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(default="PLAIN")
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = Field(default=None, description="CA bundle that signed the brokers' certificates.")
    kafka_group_id: str = Field(default="greatwork-knowledge", min_length=1)
    kafka_request_timeout_s: float = Field(default=10.0, gt=0)
    kafka_session_timeout_ms: int = Field(
        default=10_000, ge=1000, description="A consumer silent this long leaves the group; its partitions move."
    )
    kafka_transactional_id: str | None = Field(
        default=None, description="Stable id of this instance's transactions; default `<group>.<hostname>`."
    )
    consumer_max_batch: int = Field(default=256, ge=1, le=10_000, description="Records per pipeline batch.")
    consumer_poll_ms: int = Field(default=200, ge=1, le=60_000)
    max_message_bytes: int = Field(default=1_000_000, ge=1024, description="Larger records go to the DLQ.")
    kafka_create_topics: bool = Field(
        default=True, description="Create missing topics (and the DLQ) at start-up, for local runs."
    )
    kafka_topic_partitions: int = Field(default=3, ge=1, description="Partitions of topics this service creates.")
    kafka_topic_replication: int = Field(
        default=1, ge=1, description="Replicas of each topic this service creates; 3 on a production cluster."
    )
    kafka_retention_ms: int = Field(
        default=-1, ge=-1, description="Retention of the events topics and the DLQ it creates; -1: kept until deleted "
        "(the events topics are what `reindex` rebuilds from, the DLQ the only copy of bad records).",
    )  # fmt: skip
    kafka_notices_retention_ms: int = Field(
        default=86_400_000, ge=-1, description="Retention of the indexed-notices topic (live fan-out only): a day."
    )
    metrics_port: int = Field(
        default=9108, ge=0, le=65535, description="Prometheus /metrics of a standalone consumer; 0: off."
    )
    lag_interval_s: float = Field(default=5.0, gt=0, description="How often lag is measured against the broker.")
    retry_initial_s: float = Field(default=0.2, gt=0)
    retry_max_s: float = Field(default=10.0, gt=0)

    def topic_configs(self, topic: str) -> dict[str, str]:
        """The configuration a topic this service creates gets: retention (the notices topic is only a
        fan-out), and, when replicated, writes acknowledged by at least two replicas."""
        retention = self.kafka_notices_retention_ms if topic == self.kafka_indexed_topic else self.kafka_retention_ms
        configs = {"retention.ms": str(retention)}
        if self.kafka_topic_replication > 1:
            configs["min.insync.replicas"] = "2"
        return configs

    def client_options(self) -> dict[str, Any]:
        """The connection options every aiokafka client of this service is made with: the brokers and,
        where configured, SASL and TLS."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.kafka_bootstrap_servers,
            "security_protocol": self.kafka_security_protocol,
        }
        if self.kafka_security_protocol.startswith("SASL_"):
            options |= {
                "sasl_mechanism": self.kafka_sasl_mechanism,
                "sasl_plain_username": self.kafka_sasl_username,
                "sasl_plain_password": self.kafka_sasl_password.get_secret_value()
                if self.kafka_sasl_password
                else None,
            }
        if self.kafka_security_protocol.endswith("SSL"):
            options["ssl_context"] = create_ssl_context(
                cafile=str(self.kafka_ssl_cafile) if self.kafka_ssl_cafile else None
            )
        return options

    @property
    def topics(self) -> list[str]:
        return [t.strip() for t in self.kafka_topics.split(",") if t.strip()]
