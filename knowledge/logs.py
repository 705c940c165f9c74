"""structlog set-up, called once by each entry point: JSON lines in production, console in a TTY."""

from __future__ import annotations

import logging
import sys

import structlog
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LogSettings(BaseSettings):
    """Logging of every entry point."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    log_level: str = Field(default="INFO", pattern=r"(?i)^(debug|info|warning|error)$")
    log_json: bool | None = Field(default=None, description="JSON logs; default: JSON unless stderr is a TTY.")


def configure_logging(level: str = "INFO", json_logs: bool | None = None) -> None:
    """Route structlog and the standard library's logging through one renderer at `level`."""
    as_json = (not sys.stderr.isatty()) if json_logs is None else json_logs
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=level.upper(), stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))
