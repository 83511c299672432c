// Calls to the server's REST API with the session cookie. Requests that change anything
// carry the CSRF token (the readable cookie) in X-CSRF-Token, as the server requires for
// cookie-authenticated requests.

export const API = "/api/v1";
const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export class ApiError extends Error {
  constructor(status, body) {
    const detail = body && typeof body === "object" ? body.detail : body;
    super(typeof detail === "string" && detail ? detail : `The server answered ${status}.`);
    this.status = status;
    this.body = body;
    this.problems = (body && body.problems) || [];
  }
}

function csrfToken() {
  for (const part of document.cookie.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === "headrace_csrf") return decodeURIComponent(rest.join("="));
  }
  return "";
}

/**
 * Call `path` below /api/v1. Options: method, json (a body sent as JSON), form (an
 * object sent as a URL-encoded form), text (answer as text).
 */
export async function api(path, options = {}) {
  const method = (options.method || "GET").toUpperCase();
  const headers = { Accept: "application/json" };
  let body;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.json);
  } else if (options.form !== undefined) {
    body = new URLSearchParams(options.form);
  }
  if (UNSAFE.has(method)) headers["X-CSRF-Token"] = csrfToken();
  const response = await fetch(API + path, {
    method,
    headers,
    body,
    credentials: "same-origin",
  });
  if (response.status === 401 && !options.allowUnauthenticated) {
    window.dispatchEvent(new CustomEvent("headrace:unauthenticated"));
  }
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  const payload = type.includes("application/json") ? await response.json() : await response.text();
  if (!response.ok) throw new ApiError(response.status, payload);
  return payload;
}

/** Every item of a paged list (up to `limit`). */
export async function listAll(path, limit = 1000) {
  const join = path.includes("?") ? "&" : "?";
  const page = await api(`${path}${join}size=${Math.min(limit, 10000)}`);
  return page.items || [];
}
