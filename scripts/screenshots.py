"""The README's two pictures of the analyst page, taken in Debian's Chromium from a running service
(`scripts/run-local.sh`): search with facets, and an event with its related events.

    .venv/bin/python -m scripts.screenshots [http://127.0.0.1:8000]
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from playwright.async_api import async_playwright, expect

from scripts.chromium import launch

DOCS = Path(__file__).resolve().parent.parent / "docs"


async def take(url: str) -> None:
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        page = await browser.new_page(viewport={"width": 1280, "height": 860})
        await page.goto(f"{url}/?q=expedition+failure&category=expedition")
        await expect(page.locator("#results li.card").first).to_be_visible(timeout=30_000)
        await page.screenshot(path=DOCS / "page-search.png")
        await page.locator("#results li.card a.open").first.click()
        await expect(page.locator("#related li.card").first).to_be_visible(timeout=30_000)
        await page.set_viewport_size({"width": 1280, "height": 1500})  # the whole dialog: event, then related
        await page.screenshot(path=DOCS / "page-event.png")
        await browser.close()


if __name__ == "__main__":
    asyncio.run(take(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"))
