"""The analyst page in a real browser: Debian's Chromium, headless, driven by Playwright (the browser
binary is the system package's, never a download), against `python -m service` on the dev season's
own rows, with API keys configured, over real sockets. Each test is one thing an analyst does."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, async_playwright, expect

from knowledge.projector import project
from scripts.chromium import launch
from scripts.dev_season import dev_season, dev_season_records
from service.auth import new_key
from tests.conftest import encode, produce
from tests.process import Served, fresh_topics, start_service, stop_service, until_indexed

ROWS_PER_TABLE = 250
DOCUMENTS = [project(e) for e in dev_season(ROWS_PER_TABLE)]
SECRET, ENTRY = new_key("analyst", "read")
#: Long enough for a page on a busy 2-core CI machine; the live test measures its own delay.
WAIT_MS = 15_000
CATEGORY_FACETS = "#facets section[aria-label='Counts by category'] button.facet"


@dataclass
class Service:
    """The running service; `restart` replaces the process on the same port and data."""

    served: Served
    data_dir: Path

    @property
    def url(self) -> str:
        return self.served.url


@pytest.fixture(scope="module")
async def service(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Service]:
    consumer = await fresh_topics(kafka_bootstrap)
    await produce(kafka_bootstrap, consumer.topics[0], [(None, v) for v in dev_season_records(ROWS_PER_TABLE)])
    data_dir = tmp_path_factory.mktemp("page") / "data"
    served = await asyncio.to_thread(start_service, data_dir, consumer, API_KEYS=json.dumps([ENTRY.model_dump()]))
    running = Service(served, data_dir)
    try:
        await until_indexed(served, len(DOCUMENTS), headers={"x-api-key": SECRET})
        yield running
    finally:
        await asyncio.to_thread(stop_service, running.served)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched: Browser = await launch(playwright)
        try:
            yield launched
        finally:
            await launched.close()


async def new_context(browser: Browser, key: str | None = SECRET) -> BrowserContext:
    """A fresh browser profile; with `key`, the analyst has already given the page their key."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    if key is not None:
        await context.add_init_script(f"sessionStorage.setItem('greatwork.apiKey', {json.dumps(key)})")
    return context


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await new_context(browser)
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield opened
    finally:
        await context.close()
    assert not errors, f"the page threw: {errors}"


def busiest_player() -> str:
    return Counter(p for d in DOCUMENTS for p in d.player_ids).most_common(1)[0][0]


async def test_typing_a_query_shows_the_expected_hit_with_its_words_marked(page: Page, service: Service) -> None:
    target = next(d for d in DOCUMENTS if d.action == "expedition_resolved")
    await page.goto(service.url + "/")
    await page.get_by_label("Search the game's events").fill(f"{target.expedition_code} resolved")
    first = page.locator("#results li.card").first
    await expect(first.locator("h3")).to_have_text(target.title, timeout=WAIT_MS)
    await expect(first.locator("mark").first).to_be_visible()
    await expect(page).to_have_url(re.compile(r"[?&]q=" + re.escape(target.expedition_code or "")))
    assert await first.locator(".chip.category").inner_text() == target.category.value


async def test_a_facet_click_narrows_the_results_and_changes_the_counts(page: Page, service: Service) -> None:
    await page.goto(service.url + "/?q=expedition")
    await expect(page.locator("#results li.card").first).to_be_visible(timeout=WAIT_MS)
    categories = page.locator(CATEGORY_FACETS)
    before = {
        await b.locator(".value").inner_text(): await b.locator(".count").inner_text() for b in await categories.all()
    }
    assert len(before) > 1, before
    actions_before = await page.locator("#facets section[aria-label='Counts by action'] button.facet").all_inner_texts()
    chosen = next(name for name in before if name != "press")
    await categories.filter(has_text=chosen).click()
    await expect(page).to_have_url(re.compile(rf"category={chosen}"))
    chips = page.locator("#results li.card .chip.category")
    await expect(chips.first).to_have_text(chosen, timeout=WAIT_MS)
    await expect(page.locator(CATEGORY_FACETS)).to_have_count(1)
    assert set(await chips.all_inner_texts()) == {chosen}
    actions = page.locator("#facets section[aria-label='Counts by action'] button.facet")
    assert await actions.all_inner_texts() != actions_before, "the other facets count the narrowed hits"
    pressed = page.locator("#facets button.facet[aria-pressed=true]")
    await expect(pressed).to_have_count(1)
    await pressed.click()  # and off again: every category is back
    await expect(categories).to_have_count(len(before), timeout=WAIT_MS)


async def test_an_opened_event_shows_its_payload_and_related_events(page: Page, service: Service) -> None:
    await page.goto(service.url + "/?q=expedition+resolved")
    first = page.locator("#results li.card a.open").first
    await expect(first).to_be_visible(timeout=WAIT_MS)
    title = await first.inner_text()
    await first.click()
    dialog = page.locator("dialog#event")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("#event-title")).to_have_text(title, timeout=WAIT_MS)
    await expect(dialog.locator("pre.payload")).to_contain_text('"')
    await expect(dialog.locator("#related li.card").first).to_be_visible(timeout=WAIT_MS)
    assert await dialog.locator("#related li.card").count() >= 2
    await expect(page).to_have_url(re.compile(r"[?&]event="))
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(page).not_to_have_url(re.compile(r"[?&]event="))


async def test_a_timeline_pages_through_a_players_story_in_either_order(page: Page, service: Service) -> None:
    player = busiest_player()
    await page.goto(service.url + f"/?q={player}")
    link = page.locator(f"#results a.entity.player:text-is('{player}')").first
    await expect(link).to_be_visible(timeout=WAIT_MS)
    await link.click()
    await expect(page.locator("#timeline-title")).to_have_text(f"Timeline of player {player}")
    timeline = page.locator("#timeline li.card")
    await expect(timeline).to_have_count(20, timeout=WAIT_MS)
    await page.locator("#more").click()
    await expect(timeline).not_to_have_count(20, timeout=WAIT_MS)
    times = [await t.get_attribute("datetime") or "" for t in await page.locator("#timeline li.card time").all()]
    assert len(times) > 20 and times == sorted(times, key=datetime.fromisoformat)
    await page.get_by_label("Order").select_option("newest")
    await expect(page).to_have_url(re.compile("order=newest"))
    await expect(timeline).to_have_count(20, timeout=WAIT_MS)
    newest = [await t.get_attribute("datetime") or "" for t in await page.locator("#timeline li.card time").all()]
    assert newest == sorted(newest, key=datetime.fromisoformat, reverse=True)
    assert datetime.fromisoformat(newest[0]) >= max(map(datetime.fromisoformat, times))
    await page.go_back()  # back to oldest first
    await expect(page.get_by_label("Order")).to_have_value("oldest")


async def test_live_shows_a_matching_event_produced_to_kafka(page: Page, service: Service) -> None:
    await page.goto(service.url + "/?q=a+comet+seen+over+the+observatory")
    await expect(page.locator("#status")).to_contain_text("for", timeout=WAIT_MS)
    await page.get_by_label("Live").check()
    await expect(page).to_have_url(re.compile("live=1"))
    await expect(page.locator("#live-status")).to_contain_text("Listening", timeout=WAIT_MS)
    event = {"event_id": "page-live-1", "action": "table_talk_post", "occurred_at": datetime.now(UTC).isoformat(),
             "payload": {"player": "amara.o", "message": "A comet was seen over the observatory tonight!"}}  # fmt: skip
    started = asyncio.get_running_loop().time()
    await produce(service.served.consumer.kafka_bootstrap_servers, service.served.consumer.topics[0], [encode(event)])
    arrived = page.locator("#live-results li.card.new")
    await expect(arrived).to_have_count(1, timeout=WAIT_MS)
    seen_after = asyncio.get_running_loop().time() - started
    await expect(arrived.locator(".new-mark")).to_contain_text("after it happened")
    await expect(arrived.locator("h3")).to_contain_text("amara.o")
    print(f"live: produced -> shown in the page in {seen_after:.2f} s")  # the issue asks for 2 s; CI load varies


async def test_a_copied_url_reproduces_the_view_and_back_and_forward_work(browser: Browser, service: Service) -> None:
    context = await new_context(browser)
    first = await context.new_page()
    await first.goto(service.url + "/?q=expedition")
    await expect(first.locator("#results li.card").first).to_be_visible(timeout=WAIT_MS)
    await first.locator(CATEGORY_FACETS).filter(has_text="expedition").click()
    await expect(first.locator("#results li.card .chip.category").first).to_have_text("expedition", timeout=WAIT_MS)
    await first.locator("#results li.card a.open").first.click()
    await expect(first.locator("#related li.card").first).to_be_visible(timeout=WAIT_MS)
    copied = first.url
    event_title = await first.locator("#event-title").inner_text()
    titles = await first.locator("#results li.card h3").all_inner_texts()

    second = await (await new_context(browser)).new_page()  # another analyst, another browser profile
    await second.goto(copied)
    await expect(second.locator("#event-title")).to_have_text(event_title, timeout=WAIT_MS)
    await expect(second.get_by_label("Search the game's events")).to_have_value("expedition")
    await expect(second.locator("#results li.card h3")).to_have_text(titles, timeout=WAIT_MS)
    await expect(second.locator("#facets button.facet[aria-pressed=true]")).to_have_text(re.compile("expedition"))

    await first.go_back()  # the event closes; then the facet goes
    await expect(first.locator("dialog#event")).to_be_hidden()
    await first.go_back()
    await expect(first.locator("#facets button.facet[aria-pressed=true]")).to_have_count(0, timeout=WAIT_MS)
    await first.go_forward()
    await expect(first.locator("#facets button.facet[aria-pressed=true]")).to_have_count(1, timeout=WAIT_MS)
    await context.close()
    await second.context.close()


async def test_the_keyboard_reaches_everything(page: Page, service: Service) -> None:
    await page.goto(service.url + "/?q=expedition")
    await expect(page.locator("#results li.card").first).to_be_visible(timeout=WAIT_MS)
    await page.locator("body").click(position={"x": 5, "y": 300})
    await page.keyboard.press("/")
    await expect(page.get_by_label("Search the game's events")).to_be_focused()
    await page.keyboard.press("ArrowDown")
    links = page.locator("#results li.card a.open")
    await expect(links.nth(0)).to_be_focused()
    await page.keyboard.press("j")
    await expect(links.nth(1)).to_be_focused()
    await page.keyboard.press("k")
    await expect(links.nth(0)).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("dialog#event")).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(page.locator("dialog#event")).to_be_hidden()
    for field in ("Player", "Scholar", "Expedition or conference code", "From", "Until", "Search mode"):
        await expect(page.get_by_label(field, exact=True)).to_have_count(1)  # every input has its label


async def test_nothing_found_says_what_to_try(page: Page, service: Service) -> None:
    await page.goto(service.url + "/?q=expedition&mode=keyword&expedition=NO-SUCH-999")
    await expect(page.locator("#status")).to_contain_text("Nothing found", timeout=WAIT_MS)
    await expect(page.locator("#status")).to_contain_text("remove a filter")


async def test_without_a_key_the_page_asks_for_one_refuses_a_wrong_one_and_keeps_a_good_one(
    browser: Browser, service: Service
) -> None:
    context = await new_context(browser, key=None)
    page = await context.new_page()
    await page.goto(service.url + "/?q=expedition")
    await expect(page.locator("#key-prompt")).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator("#key-message")).to_have_text("This service needs an API key.")
    await page.get_by_label("API key").fill("gwk_not-a-key")
    await page.get_by_role("button", name="Use this key").click()
    await expect(page.locator("#key-message")).to_contain_text("refused", timeout=WAIT_MS)
    await page.get_by_label("API key").fill(SECRET)
    await page.get_by_role("button", name="Use this key").click()
    await expect(page.locator("#key-prompt")).to_be_hidden()
    await expect(page.locator("#results li.card").first).to_be_visible(timeout=WAIT_MS)
    await page.reload()  # kept for the session
    await expect(page.locator("#results li.card").first).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator("#key-prompt")).to_be_hidden()
    await context.close()


async def test_while_the_service_is_away_the_page_says_so_and_carries_on_when_it_is_back(
    page: Page, service: Service
) -> None:
    """The real process stopped (SIGTERM) and started again on the same port and data: the page polls
    `/readyz` and shows what it says (here: the service cannot be reached) until it is ready again."""
    await page.goto(service.url + "/?q=expedition")
    await expect(page.locator("#results li.card").first).to_be_visible(timeout=WAIT_MS)
    await asyncio.to_thread(stop_service, service.served)
    await page.get_by_label("Search the game's events").fill("expedition resolved")
    banner = page.locator("#not-ready")
    await expect(banner).to_be_visible(timeout=WAIT_MS)
    await expect(banner).to_contain_text("not ready")
    port = int(service.url.rsplit(":", 1)[1])
    service.served = await asyncio.to_thread(start_service, service.data_dir, service.served.consumer, port,
                                             API_KEYS=json.dumps([ENTRY.model_dump()]))  # fmt: skip
    await expect(banner).to_be_hidden(timeout=WAIT_MS)
    await expect(page.locator("#status")).to_contain_text("expedition resolved", timeout=WAIT_MS)


async def violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.1 A/AA findings on the page as it is now."""
    results = await Axe().run(page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21aa"]}})
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])}: {v['nodes'][0]['target']})" for v in results.response["violations"]
    ]


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}], ids=["laptop", "phone"]
)
async def test_the_page_passes_axe_and_fits_a_laptop_and_a_phone(
    browser: Browser, service: Service, viewport: ViewportSize
) -> None:
    context = await new_context(browser)
    page = await context.new_page()
    await page.set_viewport_size(viewport)
    await page.goto(service.url + "/?q=expedition")
    await expect(page.locator("#results li.card").first).to_be_visible(timeout=WAIT_MS)
    assert await violations(page) == [], "search"
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scrolling"
    await page.locator("#results li.card a.open").first.click()
    await expect(page.locator("#related li.card").first).to_be_visible(timeout=WAIT_MS)
    assert await violations(page) == [], "event"
    await page.keyboard.press("Escape")
    await page.locator("#results a.entity.player").first.click()
    await expect(page.locator("#timeline li.card").first).to_be_visible(timeout=WAIT_MS)
    assert await violations(page) == [], "timeline"
    await context.close()


async def test_dragging_across_the_histogram_keeps_that_time_range(page: Page, service: Service) -> None:
    await page.goto(service.url + "/?q=expedition")
    await expect(page.locator("#results li.card").first).to_be_visible(timeout=WAIT_MS)
    box = await page.locator("#histogram").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    await page.mouse.move(box["x"] + box["width"] * 0.05, y)
    await page.mouse.down()
    await page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=5)
    await page.mouse.up()
    await expect(page).to_have_url(re.compile(r"after=.*before="), timeout=WAIT_MS)
    state = parse_qs(urlsplit(page.url).query)
    after, before = (datetime.fromisoformat(state[k][0]) for k in ("after", "before"))
    await expect(page.get_by_label("From")).not_to_have_value("")
    await expect(page.locator("#status")).to_contain_text("with the filters", timeout=WAIT_MS)
    times = [await t.get_attribute("datetime") or "" for t in await page.locator("#results li.card time").all()]
    assert times and all(after <= datetime.fromisoformat(t) < before for t in times), (after, before, times)
