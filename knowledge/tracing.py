"""OpenTelemetry tracing, off by default. When on, spans cover consume -> embed -> upsert and each
API request, exported over OTLP/HTTP (`OTEL_EXPORTER_OTLP_ENDPOINT`) or, without an endpoint, to the log.

Code opens spans through `tracer()` whether tracing is on or not: without a configured provider the
OpenTelemetry API hands out no-op spans, which cost next to nothing.
"""

from __future__ import annotations

from opentelemetry import trace
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class TracingSettings(BaseSettings):
    """Whether and where to send traces."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    tracing_enabled: bool = Field(default=False, description="Export OpenTelemetry traces.")
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None, description="OTLP/HTTP collector, e.g. http://otel-collector:4318; unset: spans go to stderr."
    )
    otel_service_name: str = Field(default="greatwork-knowledge")


def configure_tracing(settings: TracingSettings) -> None:
    """Install a tracer provider with a batch exporter, when tracing is enabled."""
    if not settings.tracing_enabled:
        return
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

    exporter: SpanExporter
    if settings.otel_exporter_otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=settings.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces")
    else:
        exporter = ConsoleSpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": settings.otel_service_name}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)


def tracer() -> trace.Tracer:
    """The tracer every span of this service comes from."""
    return trace.get_tracer("greatwork.knowledge")
