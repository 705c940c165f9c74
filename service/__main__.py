"""`python -m service`: the API (and, by default, the consumer) on uvicorn. uvicorn handles SIGTERM/SIGINT:
it stops accepting, then the lifespan stops the consumer after its batch and closes the store. If
background work fails (service/background.py), the server stops the same way and the process exits 1."""

from __future__ import annotations

import contextlib
import sys

import uvicorn

from knowledge.logs import configure_logging
from knowledge.tracing import TracingSettings, configure_tracing
from service.app import create_app
from service.settings import AppSettings


def main() -> None:
    settings = AppSettings()
    configure_logging(settings.logs.log_level, settings.logs.log_json)
    configure_tracing(TracingSettings())
    failed = False
    server: uvicorn.Server | None = None

    def stop_serving() -> None:
        nonlocal failed
        failed = True
        if server is not None:
            server.should_exit = True

    config = uvicorn.Config(
        create_app(settings, on_fatal=stop_serving),
        host=settings.service.api_host,
        port=settings.service.api_port,
        log_config=None,
        access_log=False,  # service/middleware.py logs each request with its id
        timeout_graceful_shutdown=30,
    )
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if failed or not server.started:  # background work failed, or start-up did
        sys.exit(1)


if __name__ == "__main__":
    main()
