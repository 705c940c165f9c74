"""`python -m service`: the API (and, by default, the consumer) on uvicorn.

SIGTERM/SIGINT: at once, the consumer stops fetching and every live stream (WebSocket, SSE) is ended
(service/app.py `request_shutdown`); uvicorn stops accepting, lets open requests finish (at most
`SHUTDOWN_GRACE_S`), then the lifespan waits for the batch in flight to commit and closes the store.
The process exits within seconds, with open listeners too. If background work fails
(service/background.py), the server stops the same way and the process exits 1."""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from types import FrameType
from typing import NoReturn

import structlog
import uvicorn
from fastapi import FastAPI

from knowledge.logs import configure_logging
from knowledge.settings import refusing_bad_settings
from knowledge.tracing import TracingSettings, configure_tracing
from service.app import create_app, request_shutdown
from service.auth import KeyConfigError, KeyRing, is_loopback, refusal
from service.settings import AppSettings

log = structlog.get_logger(__name__)

#: How long open HTTP requests may take to finish once shutdown began (live streams end at once).
SHUTDOWN_GRACE_S = 5


class RedactKeys(logging.Filter):
    """uvicorn logs each WebSocket handshake with its query string, where a browser's API key may be
    (`?api_key=`): the key is masked before the line is written."""

    _KEY = re.compile(r"(api_key=)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any("api_key=" in str(a) for a in record.args):
            record.args = tuple(self._KEY.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str) and "api_key=" in record.msg:
            record.msg = self._KEY.sub(r"\1***", record.msg)
        return True


class _Server(uvicorn.Server):
    """uvicorn's server, which also begins the app's own shutdown the moment a signal arrives."""

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self._app = app
        self._ending = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit or self._ending:  # a second signal: uvicorn's own (SIGINT forces the exit)
            self._stop(sig, frame)
        else:  # the live streams end first, then uvicorn stops (and closes what is left)
            self._ending = True
            request_shutdown(self._app, then=lambda: self._stop(sig, frame))

    def _stop(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        # uvicorn re-raises a captured signal once it has shut down, so the process dies of it (exit
        # -15). A shutdown that went as planned exits 0 here; a failed one exits 1 (below).
        self._captured_signals.clear()


def _refuse(reason: str) -> NoReturn:
    """Stop before serving (exit 2): the reason logged, and said in a sentence on stderr."""
    log.error("configuration_refused", reason=reason)
    print(f"python -m service: {reason}", file=sys.stderr)
    sys.exit(2)


def check_access(settings: AppSettings) -> None:
    """Refuse to start open on a public address (exit 2, saying why); say so when running open."""
    security, host = settings.security, settings.service.api_host
    try:
        keys = KeyRing.load(security.api_keys, security.api_keys_file)
    except KeyConfigError as exc:
        _refuse(f"bad configuration: {exc}")
    reason = refusal(keys, host, security.auth_disabled)
    if reason is not None:
        _refuse(reason)
    if keys.enabled:
        log.info("api_keys_loaded", keys=keys.names())
    elif security.auth_disabled and not is_loopback(host):
        log.warning(
            "auth_disabled", host=host, reason="AUTH_DISABLED=true: anyone who reaches this port may do anything"
        )
    else:
        log.warning("running_open", host=host, reason="no API key configured: open to this machine (loopback) only")


def main() -> None:
    with refusing_bad_settings("python -m service"):
        settings = AppSettings()
        tracing = TracingSettings()
    configure_logging(settings.logs.log_level, settings.logs.log_json)
    configure_tracing(tracing)
    check_access(settings)
    logging.getLogger("uvicorn.error").addFilter(RedactKeys())
    failed = False
    server: uvicorn.Server | None = None

    def stop_serving() -> None:
        nonlocal failed
        failed = True
        if server is not None:
            server.should_exit = True

    app = create_app(settings, on_fatal=stop_serving)
    config = uvicorn.Config(
        app,
        host=settings.service.api_host,
        port=settings.service.api_port,
        log_config=None,
        access_log=False,  # service/middleware.py logs each request with its id
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        ws="websockets-sansio",
        http="httptools",  # named, not "auto": a missing parser fails the start instead of falling back to h11
        loop="uvloop",  # named too: the live streams' writes and wake-ups cost less on libuv
    )
    server = _Server(config, app)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if failed or not server.started:  # background work failed, or start-up did
        sys.exit(1)


if __name__ == "__main__":
    main()
