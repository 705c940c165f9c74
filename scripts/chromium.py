"""Debian's Chromium, as the page's tests and screenshots launch it (installed by scripts/browser.sh,
which scripts/test.sh runs; no test tool downloads a browser)."""

from __future__ import annotations

import shutil
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: Without the background-networking flags Chromium keeps trying the machine's closed network;
#: --no-sandbox because CI runs as root.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip


async def launch(playwright: Any) -> Any:
    """Chromium, headless, through Playwright."""
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
