/**
 * Verification of Cloudflare Access JWTs: the `Cf-Access-Jwt-Assertion` header (or the
 * `CF_Authorization` cookie) that Access adds to requests it let through.
 *
 * Self-contained on purpose: WebCrypto only, no JOSE library. Only RS256 is accepted, because that
 * is all Access signs with, and accepting less narrows the classic JWT confusions (`alg: none`,
 * HS256 keyed with the public key). Every failure is a value, never a throw, and its `detail`
 * names the check that failed without echoing the token (it may sit in logs).
 *
 * Signing keys come from `${teamDomain}/cdn-cgi/access/certs` and are cached per issuer for the
 * isolate's lifetime. Refetches happen only for an unknown `kid`, one at a time per issuer, and
 * no more often than every `KEYS_REFETCH_INTERVAL_MS`, so forged kids cannot hammer the endpoint.
 */

/** Which check a token failed. */
export type AccessCheck =
  | "malformed"
  | "algorithm"
  | "key"
  | "keys_unavailable"
  | "signature"
  | "issuer"
  | "audience"
  | "expired"
  | "not_yet_valid"
  | "email"
  | "config";

/** The claims of a verified Access token that callers may rely on. Times are NumericDates (s). */
export interface AccessClaims {
  email: string;
  sub?: string;
  iss: string;
  aud: string[];
  exp: number;
  nbf?: number;
  iat?: number;
  /** Access's `identity_nonce`: fetches the full identity from `/cdn-cgi/access/get-identity`. */
  identityNonce?: string;
  /** Access's `type`, e.g. "app". */
  type?: string;
  country?: string;
}

/**
 * The outcome of `verifyAccessJwt`: the claims, or which check failed and why, in plain English.
 */
export type AccessVerification = { ok: true; claims: AccessClaims } | { ok: false; check: AccessCheck; detail: string };

export interface AccessVerifyOptions {
  /**
   * The issuer, e.g. `https://acme.cloudflareaccess.com`; `http://` only for localhost and
   * 127.0.0.1.
   */
  teamDomain: string;
  /** The Access application's audience tag (`ACCESS_AUD`). */
  audience: string;
  /** The current time in epoch ms; defaults to `Date.now()`. Also drives the key cache's timing. */
  now?: number;
  /**
   * Fetches the keys; defaults to the global `fetch`. A fetch shared by concurrent callers uses the
   * first caller's.
   */
  fetcher?: typeof fetch;
  /**
   * How long fetching the keys may take before it counts as failed; defaults to
   * `KEYS_FETCH_TIMEOUT_MS`.
   */
  fetchTimeoutMs?: number;
}

/** Tokens longer than this are rejected unread: Access tokens are about 1 KiB. */
export const MAX_ACCESS_TOKEN_LENGTH = 16 * 1024;
/** Tolerated clock skew between Access and this Worker, for `exp`, `nbf` and `iat`. */
export const ACCESS_CLOCK_SKEW_SECONDS = 60;
/** Minimum time between refetches triggered by unknown kids, after a successful fetch. */
export const KEYS_REFETCH_INTERVAL_MS = 30_000;
/** Minimum time between fetches after a failed one: short, since no key may be usable meanwhile. */
export const KEYS_RETRY_AFTER_FAILURE_MS = 5_000;
/** Default limit on fetching the keys. */
export const KEYS_FETCH_TIMEOUT_MS = 5_000;
/** A certs document larger than this is refused (Cloudflare's is a few KiB). */
const MAX_CERTS_BYTES = 256 * 1024;
/** Smallest RSA modulus accepted, in bytes (2048 bits). */
const MIN_MODULUS_BYTES = 256;

/** Registered JWS algorithm names (RFC 7518), which a failure may name. */
const JWA_NAMES = new Set(["none", "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA", "Ed25519"]);

type Failure = { ok: false; check: AccessCheck; detail: string };

const fail = (check: AccessCheck, detail: string): Failure => ({ ok: false, check, detail });

/**
 * Verifies a Cloudflare Access JWT: RS256 signature against the team's published keys, issuer,
 * audience, expiry (with `ACCESS_CLOCK_SKEW_SECONDS` of skew), `nbf`, `iat` and the `email` claim.
 * Never throws; configuration errors come back as `check: "config"` before the token is read.
 */
export async function verifyAccessJwt(token: string, options: AccessVerifyOptions): Promise<AccessVerification> {
  const config = checkConfig(options);
  if (!config.ok) return config;
  const { issuer, audience } = config;
  const now = options.now ?? Date.now();
  const nowSeconds = now / 1000;

  const parsed = parseToken(token);
  if (!parsed.ok) return parsed;
  const { header, payload, signingInput, signature } = parsed;

  // The header is checked before any key is looked up, so `alg: none` or HS256 never reaches
  // crypto.
  if (header.alg !== "RS256") {
    // Only registered JWA names are repeated: the header is unverified, so anything else stays out
    // of logs.
    const named = typeof header.alg === "string" && JWA_NAMES.has(header.alg) ? `is ${header.alg}` : "is missing or unknown";
    return fail("algorithm", `the token's algorithm ${named}; only RS256 is accepted`);
  }
  if (header.typ !== undefined && (typeof header.typ !== "string" || header.typ.toUpperCase() !== "JWT")) {
    return fail("malformed", "the token header's typ is not JWT");
  }
  if (header.crit !== undefined) return fail("malformed", "the token header lists critical extensions, which this verifier does not support");
  if (typeof header.kid !== "string" || header.kid === "") return fail("key", "the token header names no key id (kid)");

  const key = await signingKey(issuer, header.kid, now, options);
  if (!key.ok) return key;
  let valid: boolean;
  try {
    valid = await crypto.subtle.verify("RSASSA-PKCS1-v1_5", key.key, signature, signingInput);
  } catch {
    valid = false;
  }
  if (!valid) return fail("signature", "the token's signature does not verify with the issuer's key for its key id");

  // Claims are judged only once the signature holds, so values named below come from Access itself.
  const iss = payload.iss;
  if (typeof iss !== "string") return fail("issuer", `the token names no issuer; expected ${quote(issuer)}`);
  if (withoutTrailingSlash(iss) !== issuer) return fail("issuer", `the token's issuer ${quote(iss)} is not the expected ${quote(issuer)}`);

  const aud = typeof payload.aud === "string" ? [payload.aud] : payload.aud;
  if (!Array.isArray(aud) || !aud.every((a): a is string => typeof a === "string")) {
    return fail("audience", `the token's audience is missing or not a string or list of strings; expected ${quote(audience)}`);
  }
  if (!aud.includes(audience)) {
    const shown = aud.slice(0, 5).map(quote).join(", ") + (aud.length > 5 ? `, … (${aud.length} in all)` : "");
    return fail("audience", `the token's audience (${shown || "empty"}) does not include the expected ${quote(audience)}`);
  }

  const { exp, nbf, iat } = payload;
  if (!isNumericDate(exp)) return fail("malformed", "the token has no numeric expiry (exp) claim");
  if (nbf !== undefined && !isNumericDate(nbf)) return fail("malformed", "the token's not-before (nbf) claim is not a number");
  if (iat !== undefined && !isNumericDate(iat)) return fail("malformed", "the token's issued-at (iat) claim is not a number");
  if (nowSeconds >= exp + ACCESS_CLOCK_SKEW_SECONDS) {
    return fail("expired", `the token expired ${Math.round(nowSeconds - exp)} s ago (${ACCESS_CLOCK_SKEW_SECONDS} s of clock skew allowed)`);
  }
  if (nbf !== undefined && nbf > nowSeconds + ACCESS_CLOCK_SKEW_SECONDS) {
    return fail("not_yet_valid", `the token is not valid for another ${Math.round(nbf - nowSeconds)} s (nbf; ${ACCESS_CLOCK_SKEW_SECONDS} s of clock skew allowed)`);
  }
  if (iat !== undefined && iat > nowSeconds + ACCESS_CLOCK_SKEW_SECONDS) {
    return fail("not_yet_valid", `the token claims to be issued ${Math.round(iat - nowSeconds)} s in the future (iat; ${ACCESS_CLOCK_SKEW_SECONDS} s of clock skew allowed)`);
  }

  // Service tokens carry `common_name` instead of an email; they are not users, so they fail here.
  if (typeof payload.email !== "string" || payload.email === "") return fail("email", "the token has no email claim");

  const claims: AccessClaims = { email: payload.email, iss, aud, exp };
  if (typeof payload.sub === "string") claims.sub = payload.sub;
  if (nbf !== undefined) claims.nbf = nbf;
  if (iat !== undefined) claims.iat = iat;
  if (typeof payload.identity_nonce === "string") claims.identityNonce = payload.identity_nonce;
  if (typeof payload.type === "string") claims.type = payload.type;
  if (typeof payload.country === "string") claims.country = payload.country;
  return { ok: true, claims };
}

/**
 * The Access token of a request: the `Cf-Access-Jwt-Assertion` header, else the
 * `CF_Authorization` cookie (the first one, as a browser sends the most specific first).
 */
export function accessTokenFrom(headers: Headers): string | undefined {
  const assertion = headers.get("Cf-Access-Jwt-Assertion")?.trim();
  if (assertion) return assertion;
  const cookie = headers.get("Cookie");
  if (!cookie) return undefined;
  for (const pair of cookie.split(";")) {
    const eq = pair.indexOf("=");
    if (eq < 0 || pair.slice(0, eq).trim() !== "CF_Authorization") continue;
    let value = pair.slice(eq + 1).trim();
    // RFC 6265 allows a cookie value in double quotes.
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (value) return value;
  }
  return undefined;
}

/** For tests only: forgets every issuer's cached keys and fetch history. */
export function resetAccessKeyCache(): void {
  keyCache.clear();
}

// --- configuration -----------------------------------------------------------------------------

function checkConfig(options: AccessVerifyOptions): { ok: true; issuer: string; audience: string } | Failure {
  const { teamDomain, audience } = options;
  if (typeof audience !== "string" || audience.trim() === "") return fail("config", "no Access audience (ACCESS_AUD) is configured");
  if (typeof teamDomain !== "string" || teamDomain.trim() === "") return fail("config", "no Access team domain is configured");
  let url: URL;
  try {
    url = new URL(teamDomain.trim());
  } catch {
    return fail("config", `the Access team domain ${quote(teamDomain)} is not a URL`);
  }
  const local = url.hostname === "localhost" || url.hostname === "127.0.0.1";
  if (url.protocol !== "https:" && !(url.protocol === "http:" && local)) {
    return fail("config", `the Access team domain ${quote(teamDomain)} must use https:// (http:// only for localhost or 127.0.0.1)`);
  }
  if (url.username || url.password || url.search || url.hash || url.pathname !== "/") {
    return fail("config", `the Access team domain ${quote(teamDomain)} must be an origin such as https://<team>.cloudflareaccess.com, without a path, query or credentials`);
  }
  // The origin is the canonical issuer: lowercase host, no default port, no trailing slash.
  return { ok: true, issuer: url.origin, audience };
}

// --- parsing -----------------------------------------------------------------------------------

interface ParsedToken {
  ok: true;
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: Uint8Array;
  signature: Uint8Array;
}

function parseToken(token: unknown): ParsedToken | Failure {
  if (typeof token !== "string" || token === "") return fail("malformed", "no token was given");
  if (token.length > MAX_ACCESS_TOKEN_LENGTH) return fail("malformed", `the token is longer than ${MAX_ACCESS_TOKEN_LENGTH} characters`);
  const segments = token.split(".");
  if (segments.length !== 3) return fail("malformed", `the token has ${segments.length} dot-separated segments, not 3`);
  const [headerPart, payloadPart, signaturePart] = segments as [string, string, string];
  const header = decodeJsonObject(headerPart);
  if (!header) return fail("malformed", "the token's header is not base64url-encoded JSON object");
  const payload = decodeJsonObject(payloadPart);
  if (!payload) return fail("malformed", "the token's payload is not a base64url-encoded JSON object");
  const signature = decodeBase64Url(signaturePart);
  if (!signature) return fail("malformed", "the token's signature is not base64url-encoded");
  return { ok: true, header, payload, signingInput: new TextEncoder().encode(`${headerPart}.${payloadPart}`), signature };
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

function decodeBase64Url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!BASE64URL.test(text) || text.length % 4 === 1) return undefined;
  try {
    const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

function decodeJsonObject(text: string): Record<string, unknown> | undefined {
  const bytes = decodeBase64Url(text);
  if (!bytes) return undefined;
  try {
    const value: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes));
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isNumericDate(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

function withoutTrailingSlash(value: string): string {
  return value.endsWith("/") ? value.slice(0, -1) : value;
}

/** Quotes a configured or verified claim value for a detail: JSON-escaped and bounded. */
function quote(value: string): string {
  return JSON.stringify(value.length > 120 ? `${value.slice(0, 120)}…` : value);
}

// --- keys --------------------------------------------------------------------------------------

interface IssuerKeys {
  /** The keys of the last successful fetch, by kid; replaced whole, so withdrawn keys drop out. */
  keys: Map<string, CryptoKey>;
  /** When the last fetch started (epoch ms, on the callers' clock). */
  lastAttempt?: number;
  /** Why the last fetch failed; cleared by a success. */
  lastFailure?: string;
  /** The fetch in progress, shared by every caller (single flight). */
  inflight?: { promise: Promise<void>; startedAt: number };
}

/**
 * Per-issuer keys for the isolate's lifetime. Keyed by the configured issuer, never by anything
 * a token says, so it holds as many entries as there are configured team domains.
 */
const keyCache = new Map<string, IssuerKeys>();

async function signingKey(issuer: string, kid: string, now: number, options: AccessVerifyOptions): Promise<{ ok: true; key: CryptoKey } | Failure> {
  let state = keyCache.get(issuer);
  if (!state) keyCache.set(issuer, (state = { keys: new Map() }));
  const cached = state.keys.get(kid);
  if (cached) return { ok: true, key: cached };

  const timeoutMs = options.fetchTimeoutMs ?? KEYS_FETCH_TIMEOUT_MS;
  // Workers cancel a request's pending I/O when it ends, so a fetch started by a request that went
  // away may never settle. Past twice its timeout it is presumed dead, lest every later caller
  // wait.
  if (state.inflight && now - state.inflight.startedAt > 2 * timeoutMs) {
    state.inflight = undefined;
    state.lastFailure = "the previous fetch of the keys never finished";
  }
  if (!state.inflight) {
    const wait = state.lastFailure === undefined ? KEYS_REFETCH_INTERVAL_MS : KEYS_RETRY_AFTER_FAILURE_MS;
    const last = state.lastAttempt;
    if (last === undefined || now - last >= wait || now < last) {
      state.lastAttempt = now;
      const entry = state;
      const flight = { startedAt: now, promise: refreshKeys(entry, `${issuer}/cdn-cgi/access/certs`, options.fetcher, timeoutMs) };
      state.inflight = flight;
      void flight.promise.finally(() => {
        if (entry.inflight === flight) entry.inflight = undefined;
      });
    } else if (state.lastFailure === undefined) {
      return fail("key", `no key of the issuer matches the token's key id, and the keys were fetched less than ${KEYS_REFETCH_INTERVAL_MS / 1000} s ago`);
    }
  }
  if (state.inflight) {
    // Each caller bounds its own wait: the shared fetch may belong to a request that is gone.
    const settled = await withTimeout(state.inflight.promise.then(() => true), timeoutMs, false);
    if (!settled) return fail("keys_unavailable", `the issuer's signing keys could not be fetched: no answer within ${timeoutMs} ms`);
  }
  const key = state.keys.get(kid);
  if (key) return { ok: true, key };
  if (state.lastFailure !== undefined) return fail("keys_unavailable", `the issuer's signing keys could not be fetched: ${state.lastFailure}`);
  return fail("key", "no key of the issuer matches the token's key id");
}

/** Fetches the issuer's keys into `state`. Never rejects: a failure is recorded instead. */
async function refreshKeys(state: IssuerKeys, url: string, fetcher: typeof fetch | undefined, timeoutMs: number): Promise<void> {
  const controller = new AbortController();
  const outcome = await withTimeout(fetchKeys(url, fetcher, controller.signal), timeoutMs, {
    ok: false as const,
    detail: `${url} did not answer within ${timeoutMs} ms`,
  });
  if (outcome.ok) {
    state.keys = outcome.keys;
    state.lastFailure = undefined;
  } else {
    controller.abort();
    // Keep the keys already known: a certs outage should not reject tokens signed by them.
    state.lastFailure = outcome.detail;
  }
}

type KeysOutcome = { ok: true; keys: Map<string, CryptoKey> } | { ok: false; detail: string };

async function fetchKeys(url: string, fetcher: typeof fetch | undefined, signal: AbortSignal): Promise<KeysOutcome> {
  let text: string;
  try {
    const init = { headers: { accept: "application/json" }, signal };
    const response = fetcher ? await fetcher(url, init) : await fetch(url, init);
    if (!response.ok) {
      await response.body?.cancel();
      return { ok: false, detail: `${url} answered HTTP ${response.status}` };
    }
    const length = Number(response.headers.get("content-length") ?? "0");
    if (length > MAX_CERTS_BYTES) {
      await response.body?.cancel();
      return { ok: false, detail: `${url} served more than ${MAX_CERTS_BYTES} bytes` };
    }
    text = await response.text();
  } catch (error) {
    return { ok: false, detail: `fetching ${url} failed (${error instanceof Error ? error.message : String(error)})` };
  }
  if (text.length > MAX_CERTS_BYTES) return { ok: false, detail: `${url} served more than ${MAX_CERTS_BYTES} bytes` };
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return { ok: false, detail: `${url} did not serve JSON` };
  }
  // Cloudflare also serves `public_cert(s)` (X.509 PEM); the JWKs in `keys` carry the same keys.
  if (!isRecord(document) || !Array.isArray(document.keys)) return { ok: false, detail: `${url} served no "keys" list` };
  const keys = new Map<string, CryptoKey>();
  for (const jwk of document.keys) {
    const imported = await importRsaKey(jwk);
    if (imported) keys.set(imported.kid, imported.key);
  }
  if (keys.size === 0) return { ok: false, detail: `${url} served no usable RS256 key` };
  return { ok: true, keys };
}

/** Imports one JWK if it is an RSA signing key for RS256 with a kid; anything else is skipped. */
async function importRsaKey(jwk: unknown): Promise<{ kid: string; key: CryptoKey } | undefined> {
  if (!isRecord(jwk)) return undefined;
  const { kty, kid, n, e, alg, use } = jwk;
  if (kty !== "RSA" || typeof kid !== "string" || kid === "" || typeof n !== "string" || typeof e !== "string") return undefined;
  if ((alg !== undefined && alg !== "RS256") || (use !== undefined && use !== "sig")) return undefined;
  const modulus = decodeBase64Url(n);
  if (!modulus || modulus.length - (modulus[0] === 0 ? 1 : 0) < MIN_MODULUS_BYTES) return undefined;
  try {
    // Only the public parameters are passed on: stray members such as `key_ops` could fail the
    // import.
    const key = await crypto.subtle.importKey("jwk", { kty, n, e, alg: "RS256", ext: true }, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["verify"]);
    return { kid, key };
  } catch {
    return undefined;
  }
}

/** Settles with `promise`, or with `fallback` after `ms`, whichever comes first. */
async function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
