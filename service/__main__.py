"""`python -m service`: the API (and, by default, the consumer) on uvicorn. uvicorn handles SIGTERM/SIGINT:
it stops accepting, then the lifespan stops the consumer after its batch and closes the store."""

from __future__ import annotations

import uvicorn

from knowledge.logs import configure_logging
from knowledge.tracing import TracingSettings, configure_tracing
from service.app import create_app
from service.settings import AppSettings


def main() -> None:
    settings = AppSettings()
    configure_logging(settings.logs.log_level, settings.logs.log_json)
    configure_tracing(TracingSettings())
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.service.api_host,
        port=settings.service.api_port,
        log_config=None,
        access_log=False,  # service/middleware.py logs each request with its id
        timeout_graceful_shutdown=30,
    )


if __name__ == "__main__":
    main()
