// @ts-check
/**
 * The console's only way to the admin API. The token lives in sessionStorage (gone when the
 * tab closes), goes out as a bearer header, never in a URL; every failure becomes an ApiError
 * whose message a person can act on.
 */

const TOKEN_KEY = "scim-edge.token";

export const getToken = () => sessionStorage.getItem(TOKEN_KEY);
export const setToken = (/** @type {string} */ token) => sessionStorage.setItem(TOKEN_KEY, token);
export const clearToken = () => sessionStorage.removeItem(TOKEN_KEY);

/** A failed API call, with a message written for the person at the keyboard. */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0 when the service could not be reached)
   * @param {string} message
   */
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

/** Called when the token stops being accepted (401): the app signs out. */
let onUnauthorized = () => {};
export const whenUnauthorized = (/** @type {() => void} */ handler) => (onUnauthorized = handler);

/**
 * Words for a failed response. The API's own `detail` is kept: it names the field or the
 * missing permission, which is what the reader needs.
 * @param {number} status
 * @param {string | undefined} detail
 * @param {string | null} retryAfter
 */
export function describeFailure(status, detail, retryAfter) {
  const said = detail ? ` ${detail}` : "";
  switch (true) {
    case status === 400:
      return `Please check what you entered.${said}`;
    case status === 401:
      return detail?.startsWith("Cloudflare Access")
        ? `Your Cloudflare Access sign-in was not accepted.${said} Reload the page to sign in again.`
        : "Your token was not accepted. Sign in again with the admin token or a valid service-account token.";
    case status === 403:
      return `You are not allowed to do this with the token you signed in with.${said}`;
    case status === 404:
      return `Not found: it may have been deleted meanwhile.${said}`;
    case status === 409:
      return `That conflicts with what already exists.${said}`;
    case status === 412:
      return `Someone changed this at the same time. Reload and try again.${said}`;
    case status === 413:
      return "That is too large for the service to accept.";
    case status === 429 || status === 503:
      return `The service is busy right now. Try again${retryAfter ? ` in ${retryAfter} seconds` : " in a moment"}.`;
    default:
      return `The service failed to answer (HTTP ${status}). Try again; if it keeps failing, check the service's logs.${said}`;
  }
}

/**
 * Calls /api/v1. Resolves with the parsed JSON (null for 204), rejects with an ApiError.
 * @param {string} method
 * @param {string} path below /api/v1, e.g. `/tenants`
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
export async function api(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { Accept: "application/json" };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
  } catch {
    throw new ApiError(0, "Cannot reach the service. Check your connection (or that `npm start` is running) and try again.");
  }
  if (response.status === 204) return null;
  const text = await response.text();
  /** @type {any} */
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    if (response.status === 401) onUnauthorized();
    throw new ApiError(response.status, describeFailure(response.status, json?.detail, response.headers.get("Retry-After")));
  }
  return json;
}

/** Builds a query string from the defined, non-empty values. */
export function query(/** @type {Record<string, string | number | undefined | null>} */ params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : "";
}

/**
 * Every item of a paged list, up to `max` (for pickers: a role, a group to bind).
 * @param {string} path
 * @param {number} [max]
 * @returns {Promise<any[]>}
 */
export async function listAll(path, max = 1000) {
  /** @type {any[]} */
  const items = [];
  let cursor;
  do {
    const separator = path.includes("?") ? "&" : "?";
    const page = await api("GET", `${path}${separator}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    items.push(...page.results);
    cursor = page.nextCursor;
  } while (cursor && items.length < max);
  return items;
}

/**
 * Downloads a file from /api/v1 (a GET the bearer token authorizes, so a plain link would not do):
 * reads the body, then hands it to the browser as a file named as the server says.
 * @param {string} path below /api/v1
 * @param {string} fallbackName used when the response names no file
 * @returns {Promise<{ name: string, bytes: number }>}
 */
export async function download(path, fallbackName) {
  /** @type {Record<string, string>} */
  const headers = {};
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(`/api/v1${path}`, { headers, cache: "no-store" });
  } catch {
    throw new ApiError(0, "Cannot reach the service. Check your connection (or that `npm start` is running) and try again.");
  }
  if (!response.ok) {
    if (response.status === 401) onUnauthorized();
    const json = await response.json().catch(() => null);
    throw new ApiError(response.status, describeFailure(response.status, json?.detail, response.headers.get("Retry-After")));
  }
  // A transfer cut half-way rejects here: no partial file is offered as if complete.
  const blob = await response.blob().catch(() => {
    throw new ApiError(0, "The download was cut off before it finished; nothing was saved. Try again.");
  });
  const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") ?? "")?.[1] ?? fallbackName;
  const url = URL.createObjectURL(blob);
  const anchor = document.createElement("a");
  anchor.href = url;
  anchor.download = name;
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return { name, bytes: blob.size };
}
