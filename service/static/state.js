// The whole view lives in the URL: what is searched, how, the filters, the open event, the timeline.
const LISTS = ["category", "action"];
const SINGLE = { q: "", mode: "hybrid", player: "", scholar: "", expedition: "", after: "", before: "",
  event: "", view: "search", kind: "", id: "", order: "oldest", live: "" };

export function readState(search = location.search) {
  const params = new URLSearchParams(search);
  const state = {};
  for (const [name, empty] of Object.entries(SINGLE)) state[name] = params.get(name) || empty;
  for (const name of LISTS) state[name] = params.getAll(name).filter(Boolean);
  return state;
}

export function toQueryString(state) {
  const params = new URLSearchParams();
  for (const [name, empty] of Object.entries(SINGLE)) {
    if (state[name] && state[name] !== empty) params.set(name, state[name]);
  }
  for (const name of LISTS) for (const value of state[name]) params.append(name, value);
  const text = params.toString();
  return text ? `?${text}` : location.pathname;
}

// The API's SearchFilters for this state.
export function filtersOf(state) {
  const filters = {};
  if (state.category.length) filters.category = state.category;
  if (state.action.length) filters.action = state.action;
  if (state.player) filters.player_id = state.player;
  if (state.scholar) filters.scholar_id = state.scholar;
  if (state.expedition) filters.expedition_code = state.expedition;
  if (state.after) filters.occurred_after = state.after;
  if (state.before) filters.occurred_before = state.before;
  return filters;
}

// The same filters as query-string parameters (for the live stream).
export function filterParams(filters) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(filters)) {
    for (const one of Array.isArray(value) ? value : [value]) params.append(name, one);
  }
  return params;
}

export function hasFilters(state) {
  return Object.keys(filtersOf(state)).length > 0;
}
