// The analyst's page: search, narrow, follow, watch. It uses only the public API (api.js).
import { ApiError, apiKey, call, readiness, setApiKey } from "./api.js";
import { card, delay, element, histogram, termsOf, timelineLink } from "./render.js";
import { filterParams, filtersOf, hasFilters, readState, toQueryString } from "./state.js";

const $ = (id) => document.getElementById(id);
const DEBOUNCE_MS = 250;
const PAGE = 20;
const FACETS = [["category", "Category", "category"], ["action", "Action", "action"], ["player", "Player", "player"]];

let state = readState();
let shown = { search: null, timeline: null, event: null, live: null };
let searchAbort = null;
let stream = null;
let timelineCursor = null;
let waitingForReady = null;

// ---- navigation: every change goes through the URL ---------------------------------------------

function navigate(patch, { replace = false } = {}) {
  state = { ...state, ...patch };
  const url = toQueryString(state);
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  render();
}

window.addEventListener("popstate", () => {
  state = readState();
  render();
});

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-nav], a[data-event]");
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  if (link.dataset.event) navigate({ event: link.dataset.event });
  else navigate({ ...JSON.parse(link.dataset.nav), event: "" });
});

// ---- honest states ----------------------------------------------------------------------------

function showError(message) {
  $("error").hidden = !message;
  $("error").textContent = message || "";
}

function askForKey(refused) {
  $("key-prompt").hidden = false;
  $("key-message").textContent = refused
    ? "The API key was refused. Enter another one."
    : "This service needs an API key.";
  $("key").focus();
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  setApiKey($("key").value.trim());
  $("key").value = "";
  $("key-prompt").hidden = true;
  shown = { search: null, timeline: null, event: null, live: null };
  render();
});

async function untilReady() {
  if (waitingForReady) return waitingForReady;
  waitingForReady = (async () => {
    for (;;) {
      const { ready, checks } = await readiness();
      if (ready) break;
      const failing = Object.entries(checks).filter(([, v]) => v !== "ok").map(([k, v]) => `${k}: ${v}`);
      $("not-ready").hidden = false;
      $("not-ready").textContent = `The service is not ready yet (${failing.join("; ")}). This page will carry on when it is.`;
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    $("not-ready").hidden = true;
    waitingForReady = null;
  })();
  return waitingForReady;
}

// Calls the API; on 401 asks for a key, on 503 (or no answer) waits for readiness and for what
// Retry-After says, then tries again, a few times at most.
const RETRIES = 5;

async function api(path, options) {
  for (let attempt = 1; ; attempt++) {
    try {
      const answer = await call(path, options);
      showError("");
      return answer;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 401) {
        askForKey(Boolean(apiKey()));
        throw error;
      }
      if ((error.status === 503 || error.status === 0) && attempt <= RETRIES) {
        showError(error.message);
        await untilReady();
        await new Promise((resolve) => setTimeout(resolve, error.retryAfterS * 1000));
        continue;
      }
      showError(error.message);
      throw error;
    }
  }
}

// ---- search -----------------------------------------------------------------------------------

function searchKey() {
  return JSON.stringify([state.q, state.mode, filtersOf(state)]);
}

async function runSearch() {
  const key = searchKey();
  if (shown.search === key) return;
  shown.search = key;
  if (searchAbort) searchAbort.abort();
  searchAbort = new AbortController();
  const { signal } = searchAbort;
  const filters = filtersOf(state);
  const status = $("status");
  $("results").setAttribute("aria-busy", "true");
  status.textContent = state.q ? "Searching…" : "Counting…";
  try {
    const [found, counted] = await Promise.all([
      state.q ? api("/v1/search", { method: "POST", signal, body: { query: state.q, mode: state.mode, top_k: 50, filters } }) : null,
      api("/v1/facets", { method: "POST", signal, body: { ...(state.q ? { query: state.q, top_k: 100 } : {}), filters, limit: 50 } }),
    ]);
    renderFacets(counted);
    renderHits(found ? found.hits : null, counted.total);
  } catch (error) {
    if (error.name === "AbortError") return;
    shown.search = null;
    status.textContent = error instanceof ApiError ? "The search could not be run." : `Something went wrong: ${error.message}`;
  } finally {
    $("results").removeAttribute("aria-busy");
  }
}

function renderHits(hits, total) {
  const list = $("results");
  const status = $("status");
  if (hits === null) {
    list.replaceChildren();
    $("histogram-box").hidden = true;
    status.textContent = `${total} events${hasFilters(state) ? " match the filters" : " indexed"}. Type in the search box to find some.`;
    return;
  }
  const terms = termsOf(state.q);
  list.replaceChildren(...hits.map((hit) => card(hit, { terms, state })));
  $("histogram-box").hidden = hits.length === 0;
  histogram($("histogram"), hits.map((h) => Date.parse(h.occurred_at)).filter(Number.isFinite), (from, until) =>
    navigate({ after: new Date(from).toISOString(), before: new Date(until).toISOString() }));
  if (hits.length) {
    status.textContent = `${hits.length} best hits for “${state.q}”${hasFilters(state) ? " with the filters" : ""}.`;
    return;
  }
  const hints = [];
  if (hasFilters(state)) hints.push("remove a filter");
  if (state.mode !== "hybrid") hints.push("try the hybrid mode");
  else hints.push("try another mode in Options");
  hints.push("or use other words");
  status.textContent = `Nothing found for “${state.q}”. Hint: ${hints.join(", ")}.`;
}

function facetButton(field, value, count) {
  const active = field === "player" ? state.player === value : state[field].includes(value);
  const button = element("button", { type: "button", className: "facet", "aria-pressed": String(active) },
    element("span", { className: "value", text: value }), element("span", { className: "count", text: String(count) }));
  button.addEventListener("click", () => {
    if (field === "player") navigate({ player: active ? "" : value });
    else navigate({ [field]: active ? state[field].filter((v) => v !== value) : [...state[field], value] });
  });
  return element("li", {}, button);
}

function renderFacets(counted) {
  const box = $("facets");
  const counting = state.q ? `Counts among the ${counted.total} best hits` : `Counts among all ${counted.total} matching events`;
  const sections = [element("p", { className: "total", text: counting })];
  for (const [name, title, field] of FACETS) {
    const counts = { ...(counted.facets[name] || {}) };
    const chosen = field === "player" ? (state.player ? [state.player] : []) : state[field];
    for (const value of chosen) if (!(value in counts)) counts[value] = 0;  // so a chosen value can be removed
    const list = element("ul", { className: "facet-list" });
    list.append(...Object.entries(counts).map(([value, count]) => facetButton(field, value, count)));
    sections.push(element("section", { "aria-label": `Counts by ${title.toLowerCase()}` }, element("h3", { text: title }), list));
  }
  box.replaceChildren(...sections);
}

// ---- one event ----------------------------------------------------------------------------------

async function showEvent() {
  const dialog = $("event");
  if (!state.event) {
    shown.event = null;
    if (dialog.open) dialog.close();
    return;
  }
  if (shown.event === state.event && dialog.open) return;
  shown.event = state.event;
  $("event-title").textContent = "Loading…";
  $("event-body").replaceChildren();
  $("related").replaceChildren();
  $("related-status").textContent = "";
  if (!dialog.open) dialog.showModal();
  const id = encodeURIComponent(state.event);
  try {
    const document = await api(`/v1/events/${id}`);
    $("event-title").textContent = document.title;
    const item = card(document, { terms: termsOf(state.q), state, full: true });
    item.querySelector("h3").remove();
    const details = element("details", {}, element("summary", { text: "The whole stored document" }),
      element("pre", { text: JSON.stringify(document.document, null, 2) }));
    $("event-body").replaceChildren(element("ul", { className: "results" }, item),
      element("h3", { text: "Payload, as the game wrote it" }), element("pre", { className: "payload", tabindex: "0", "aria-label": "Payload", text: JSON.stringify(document.payload, null, 2) }),
      details, timelineLinks(document.document));
  } catch (error) {
    $("event-title").textContent = error instanceof ApiError && error.status === 404 ? "No such event" : "The event could not be read";
    $("event-body").replaceChildren(element("p", { text: error.message }));
    return;
  }
  $("related-status").textContent = "Finding related events…";
  try {
    const related = await api(`/v1/events/${id}/related?top_k=8`);
    $("related").replaceChildren(...related.hits.map((hit) => card(hit, { state })));
    $("related-status").textContent = related.hits.length ? "" : "No related events.";
  } catch (error) {
    $("related-status").textContent = error.message;
  }
}

function timelineLinks(document) {
  const links = [];
  for (const p of document.player_ids || []) links.push(["player", p]);
  for (const s of document.scholar_ids || []) links.push(["scholar", s]);
  if (document.expedition_code) links.push(["expedition", document.expedition_code]);
  if (!links.length) return null;
  const list = element("ul", { className: "timelines" });
  list.append(...links.map(([kind, value]) => {
    const link = timelineLink(kind, value);
    link.textContent = `Timeline of ${kind} ${value}`;
    return element("li", {}, link);
  }));
  return element("nav", { "aria-label": "Timelines" }, list);
}

$("close-event").addEventListener("click", () => $("event").close());
$("event").addEventListener("close", () => {
  if (state.event) navigate({ event: "" });
});

// ---- timelines ----------------------------------------------------------------------------------

async function showTimeline(more = false) {
  const key = JSON.stringify([state.kind, state.id, state.order]);
  if (!more && shown.timeline === key) return;
  shown.timeline = key;
  $("timeline-title").textContent = `Timeline of ${state.kind} ${state.id}`;
  $("order").value = state.order;
  if (!more) {
    $("timeline").replaceChildren();
    timelineCursor = null;
  }
  const params = new URLSearchParams({ limit: String(PAGE), order: state.order });
  if (more && timelineCursor) params.set("cursor", timelineCursor);
  $("timeline-status").textContent = "Loading…";
  try {
    const page = await api(`/v1/entities/${encodeURIComponent(state.kind)}/${encodeURIComponent(state.id)}/timeline?${params}`);
    $("timeline").append(...page.events.map((event) => card(event, { state })));
    timelineCursor = page.next_cursor;
    $("more").hidden = !timelineCursor;
    const count = $("timeline").children.length;
    $("timeline-status").textContent = count
      ? `${count} events shown, ${state.order} first${timelineCursor ? "" : " (the whole story)"}.`
      : "No events for this one yet.";
  } catch (error) {
    shown.timeline = null;
    $("timeline-status").textContent = error.message;
  }
}

$("more").addEventListener("click", () => showTimeline(true));
$("order").addEventListener("change", () => navigate({ order: $("order").value }));
$("back-to-search").addEventListener("click", (event) => {
  event.preventDefault();
  navigate({ view: "search", kind: "", id: "", order: "oldest" });
});

// ---- live -----------------------------------------------------------------------------------------

function liveKey() {
  return state.live && state.view === "search" && state.q ? JSON.stringify([state.q, filtersOf(state), apiKey()]) : null;
}

function syncLive() {
  const key = liveKey();
  $("live").checked = Boolean(state.live);
  if (key === shown.live) return;
  if (stream) stream.close();
  stream = null;
  shown.live = key;
  $("live-results").replaceChildren();
  const status = $("live-status");
  if (!key) {
    status.textContent = state.live ? "Type a query: live follows the search and its filters." : "";
    return;
  }
  status.textContent = "Connecting…";
  const params = filterParams(filtersOf(state));
  params.set("query", state.q);
  if (apiKey()) params.set("api_key", apiKey());
  stream = new EventSource(`/v1/stream?${params}`);
  stream.addEventListener("subscribed", () => { status.textContent = "Listening: new matching events appear at the top."; });
  stream.addEventListener("event", (message) => {
    const hit = JSON.parse(message.data);
    const late = (Date.now() - Date.parse(hit.occurred_at)) / 1000;
    const item = card(hit, { terms: termsOf(state.q), state, isNew: true, note: `new · ${delay(late)} after it happened` });
    $("live-results").prepend(item);
    api(`/v1/events/${encodeURIComponent(hit.event_id)}`).then((full) => {
      item.replaceWith(card({ ...full, score: hit.score }, { terms: termsOf(state.q), state, isNew: true, note: item.querySelector(".new-mark").textContent }));
    }, () => {});
  });
  stream.addEventListener("end", () => { status.textContent = "The live stream ended: the service is shutting down."; });
  stream.onerror = () => {
    status.textContent = stream && stream.readyState === EventSource.CLOSED
      ? "The live stream was refused (a key missing, or too many subscriptions)."
      : "Live stream interrupted: reconnecting…";
  };
}

$("live").addEventListener("change", () => navigate({ live: $("live").checked ? "1" : "" }));

// ---- the inputs ----------------------------------------------------------------------------------

function localInput(iso) {
  if (!iso) return "";
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return "";
  const local = new Date(at.getTime() - at.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 19);
}

function isoOf(local) {
  if (!local) return "";
  const at = new Date(local);
  return Number.isNaN(at.getTime()) ? "" : at.toISOString();
}

function syncInputs() {
  if (document.activeElement !== $("q")) $("q").value = state.q;
  $("mode").value = state.mode;
  $("f-player").value = state.player;
  $("f-scholar").value = state.scholar;
  $("f-expedition").value = state.expedition;
  $("f-after").value = localInput(state.after);
  $("f-before").value = localInput(state.before);
}

let typing = null;
$("q").addEventListener("input", () => {
  clearTimeout(typing);
  typing = setTimeout(() => {
    const q = $("q").value.trim();
    if (q !== state.q) navigate({ q, event: "", view: "search" }, { replace: true });
  }, DEBOUNCE_MS);
});
$("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  clearTimeout(typing);
  navigate({ q: $("q").value.trim(), event: "", view: "search" });
});
$("mode").addEventListener("change", () => navigate({ mode: $("mode").value }));
$("filters").addEventListener("submit", (event) => {
  event.preventDefault();
  navigate({ player: $("f-player").value.trim(), scholar: $("f-scholar").value.trim(),
    expedition: $("f-expedition").value.trim(), after: isoOf($("f-after").value), before: isoOf($("f-before").value),
    view: "search" });
});
$("clear").addEventListener("click", () =>
  navigate({ category: [], action: [], player: "", scholar: "", expedition: "", after: "", before: "" }));

// ---- keyboard: / focuses search, j/k or arrows move, Enter opens, Esc closes ------------------------

document.addEventListener("keydown", (event) => {
  const target = event.target;
  const typingIn = target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement;
  if (event.key === "/" && !typingIn) {
    event.preventDefault();
    $("q").focus();
    $("q").select();
    return;
  }
  if (typingIn && !(target === $("q") && event.key === "ArrowDown")) return;
  const step = { j: 1, ArrowDown: 1, k: -1, ArrowUp: -1 }[event.key];
  if (!step || $("event").open) return;
  const links = [...document.querySelectorAll(state.view === "timeline" ? "#timeline a.open" : "#live-results a.open, #results a.open")];
  if (!links.length) return;
  event.preventDefault();
  const at = links.indexOf(document.activeElement);
  links[Math.max(0, Math.min(links.length - 1, at === -1 ? 0 : at + step))].focus();
});

// ---- drawing the state ---------------------------------------------------------------------------

function render() {
  syncInputs();
  const timeline = state.view === "timeline" && state.kind && state.id;
  $("search-view").hidden = Boolean(timeline);
  $("timeline-view").hidden = !timeline;
  $("facets").hidden = Boolean(timeline);  // counts belong to a search
  document.title = timeline ? `Timeline of ${state.kind} ${state.id} · The Great Work`
    : state.q ? `${state.q} · The Great Work` : "The Great Work: event knowledge";
  if (timeline) {
    shown.search = null;
    showTimeline();
  } else {
    shown.timeline = null;
    runSearch();
  }
  syncLive();
  showEvent();
}

untilReady().then(render);
