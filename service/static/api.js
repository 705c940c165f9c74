// The service's public API, as the page calls it: one place for the key, errors in words.
const KEY = "greatwork.apiKey";

export class ApiError extends Error {
  constructor(status, body, message, retryAfterS = 1) {
    super(message);
    this.status = status;
    this.body = body;
    this.retryAfterS = retryAfterS;
  }
}

export function apiKey() {
  return sessionStorage.getItem(KEY) || "";
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

function reasons(body) {
  const errors = (body && Array.isArray(body.errors)) ? body.errors : [];
  return errors.map((e) => (e.field ? `${e.field}: ${e.reason}` : e.reason)).filter(Boolean).join("; ");
}

function describe(status, body) {
  const why = reasons(body);
  if (status === 401) return "An API key is needed, or the one given was refused.";
  if (status === 429) return `Too many requests: try again in a moment.${why ? " (" + why + ")" : ""}`;
  if (status === 503) return `The service cannot answer now${why ? ": " + why : ""}.`;
  if (status === 404) return why || "Not found.";
  return why ? `The request was refused: ${why}` : `The service answered ${status}.`;
}

export async function call(path, { method = "GET", body, signal } = {}) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  const key = apiKey();
  if (key) headers["x-api-key"] = key;
  let response;
  try {
    response = await fetch(path, { method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, null, "The service cannot be reached. Is it running?");
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    const retryAfterS = Math.min(30, Math.max(1, Number(response.headers.get("retry-after")) || 1));
    throw new ApiError(response.status, data, describe(response.status, data), retryAfterS);
  }
  return data;
}

export async function readiness() {
  try {
    const response = await fetch("/readyz", { headers: { accept: "application/json" } });
    const data = await response.json();
    return { ready: response.ok && data.ready, checks: data.checks || {} };
  } catch {
    return { ready: false, checks: { service: "cannot be reached" } };
  }
}
