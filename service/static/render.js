// Building the page's parts from API answers. Text goes in through textContent only: nothing the
// game or a user wrote is ever parsed as HTML.
import { toQueryString } from "./state.js";

export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name === "className") node.className = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// The query's words (3 letters or more), to highlight.
export function termsOf(query) {
  return [...new Set((query || "").toLowerCase().match(/[\p{L}\p{N}][\p{L}\p{N}'-]{2,}/gu) || [])];
}

export function highlighted(text, terms) {
  const fragment = document.createDocumentFragment();
  if (!terms.length) {
    fragment.append(text);
    return fragment;
  }
  const pattern = new RegExp(`(${terms.map(escapeRegExp).join("|")})`, "giu");
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    fragment.append(text.slice(last, match.index), element("mark", { text: match[0] }));
    last = match.index + match[0].length;
  }
  fragment.append(text.slice(last));
  return fragment;
}

const ABSOLUTE = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

export function realTime(iso) {
  const at = new Date(iso);
  return element("time", { datetime: iso, title: iso, text: Number.isNaN(at.getTime()) ? iso : ABSOLUTE.format(at) });
}

export function gameTime(document) {
  const year = document && document.game_year;
  if (year === undefined || year === null) return null;
  const day = document.game_day;
  return element("span", { className: "game-time", text: day === undefined || day === null ? `Year ${year}` : `Year ${year}, day ${day}` });
}

// How long ago (or after) something happened, in words.
export function delay(seconds) {
  const s = Math.abs(seconds);
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} days`;
}

export function viewLink(patch, text, className) {
  const href = toQueryString({ ...blank(), ...patch });
  return element("a", { href, className, text, "data-nav": JSON.stringify(patch) });
}

function blank() {
  return { q: "", mode: "hybrid", category: [], action: [], player: "", scholar: "", expedition: "", after: "",
    before: "", event: "", view: "search", kind: "", id: "", order: "oldest", live: "" };
}

export function timelineLink(kind, id) {
  return viewLink({ view: "timeline", kind, id }, id, `entity ${kind}`);
}

function entities(document) {
  const links = [];
  for (const player of document.player_ids || []) links.push(timelineLink("player", player));
  for (const scholar of document.scholar_ids || []) links.push(timelineLink("scholar", scholar));
  if (document.expedition_code) links.push(timelineLink("expedition", document.expedition_code));
  if (!links.length) return null;
  const list = element("span", { className: "entities" });
  list.append(...links);
  return list;
}

// One result: title (opens the event), the content with the query's words marked, chips, entity
// links, both times, the score.
export function card(hit, { terms = [], state, isNew = false, note = "", full = false } = {}) {
  const document = hit.document || {};
  const open = element("a", { className: "open", href: toQueryString({ ...state, event: hit.event_id }),
    "data-event": hit.event_id, text: hit.title || hit.event_id });
  const content = hit.content || "";
  const shown = full || content.length <= 420 ? content : `${content.slice(0, 420)}…`;
  const meta = element("div", { className: "meta" },
    element("span", { className: `chip category ${hit.category}`, text: hit.category }),
    element("span", { className: "chip action", text: hit.action }),
    gameTime(document), realTime(hit.occurred_at),
    hit.score !== undefined ? element("span", { className: "score", text: `score ${Number(hit.score).toFixed(3)}` }) : null);
  const item = element("li", { className: `card${isNew ? " new" : ""}`, "data-id": hit.event_id },
    isNew ? element("span", { className: "new-mark", text: note || "new" }) : null,
    element("h3", {}, open),
    element("p", { className: "content" }, highlighted(shown, terms)),
    meta, entities(document));
  return item;
}

// A small histogram of `times` (ms); dragging across it calls onSelect(fromMs, untilMs).
export function histogram(svg, times, onSelect) {
  svg.replaceChildren();
  const width = 1000;
  const height = 60;
  svg.setAttribute("viewBox", `0 0 ${width} ${height + 14}`);
  if (!times.length) return;
  const start = Math.min(...times);
  const end = Math.max(...times) + 1000;
  const buckets = 30;
  const counts = new Array(buckets).fill(0);
  for (const t of times) counts[Math.min(buckets - 1, Math.floor(((t - start) / (end - start)) * buckets))] += 1;
  const most = Math.max(...counts);
  const ns = "http://www.w3.org/2000/svg";
  const make = (tag, attributes) => {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v);
    return node;
  };
  const step = width / buckets;
  counts.forEach((count, i) => {
    const h = count ? Math.max(2, (count / most) * height) : 0;
    const bar = make("rect", { x: i * step + 1, y: height - h, width: step - 2, height: h, class: "bar" });
    const at = new Date(start + (i / buckets) * (end - start));
    bar.append(make("title", {}));
    bar.firstChild.textContent = `${count} from ${ABSOLUTE.format(at)}`;
    svg.append(bar);
  });
  const label = (x, anchor, text) => {
    const node = make("text", { x, y: height + 12, "text-anchor": anchor, class: "axis" });
    node.textContent = text;
    svg.append(node);
  };
  const day = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
  label(0, "start", day.format(new Date(start)));
  label(width, "end", day.format(new Date(end)));
  const selection = make("rect", { x: 0, y: 0, width: 0, height, class: "selection" });
  svg.append(selection);
  const toX = (event) => {
    const box = svg.getBoundingClientRect();
    return Math.max(0, Math.min(width, ((event.clientX - box.left) / box.width) * width));
  };
  let from = null;
  svg.onpointerdown = (event) => {
    from = toX(event);
    svg.setPointerCapture(event.pointerId);
  };
  svg.onpointermove = (event) => {
    if (from === null) return;
    const x = toX(event);
    selection.setAttribute("x", Math.min(from, x));
    selection.setAttribute("width", Math.abs(x - from));
  };
  svg.onpointerup = (event) => {
    if (from === null) return;
    const x = toX(event);
    const [a, b] = [Math.min(from, x), Math.max(from, x)];
    from = null;
    if (b - a < 3) {
      selection.setAttribute("width", 0);
      return;
    }
    const at = (px) => start + (px / width) * (end - start);
    onSelect(at(a), at(b));
  };
}
