import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  ACCESS_CLOCK_SKEW_SECONDS,
  accessTokenFrom,
  KEYS_REFETCH_INTERVAL_MS,
  KEYS_RETRY_AFTER_FAILURE_MS,
  MAX_ACCESS_TOKEN_LENGTH,
  resetAccessKeyCache,
  verifyAccessJwt,
  type AccessCheck,
  type AccessVerification,
} from "../../src/auth/access-jwt";
import {
  accessCerts,
  accessPayload,
  base64UrlEncode,
  certsFetcher,
  createAccessKeyPair,
  signAccessJwt,
  signJwt,
  type AccessCerts,
  type AccessKeyPair,
} from "../support/access-keys";

const TEAM = "https://acme.cloudflareaccess.com";
const AUD = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";
const EMAIL = "alice.verifier@example.com";
const NOW = Date.UTC(2026, 10, 1, 12, 0, 0);
const SECONDS = Math.floor(NOW / 1000);

let keyA: AccessKeyPair;
let keyB: AccessKeyPair;
let impostor: AccessKeyPair;

beforeAll(async () => {
  [keyA, keyB, impostor] = await Promise.all([createAccessKeyPair("kid-a"), createAccessKeyPair("kid-b"), createAccessKeyPair("kid-a")]);
});

beforeEach(() => resetAccessKeyCache());

function serving(certs: () => AccessCerts | Response, hold?: Promise<unknown>) {
  return certsFetcher(certs, hold);
}

function options(fetcher: typeof fetch, extra: { now?: number; teamDomain?: string; audience?: string; fetchTimeoutMs?: number } = {}) {
  return { teamDomain: TEAM, audience: AUD, now: NOW, fetcher, ...extra };
}

function token(pair: AccessKeyPair, overrides: Record<string, unknown> = {}, header: Record<string, unknown> = {}) {
  return signAccessJwt(pair, accessPayload(TEAM, AUD, EMAIL, NOW, overrides), header);
}

/** Asserts a failure of `check` whose detail repeats neither the token, its segments nor the email. */
function expectFailure(result: AccessVerification, check: AccessCheck, jwt?: string): string {
  expect(result.ok).toBe(false);
  if (result.ok) throw new Error("unreachable");
  expect(result.check).toBe(check);
  expect(result.detail.length).toBeGreaterThan(10);
  expect(result.detail).not.toContain(EMAIL);
  if (jwt) {
    expect(result.detail).not.toContain(jwt);
    for (const segment of jwt.split(".")) if (segment.length >= 8) expect(result.detail).not.toContain(segment);
  }
  return result.detail;
}

describe("verifyAccessJwt", () => {
  it("accepts a valid token and returns its claims, fetching the keys from the team's certs URL", async () => {
    const certs = serving(() => accessCerts(keyA));
    const result = await verifyAccessJwt(await token(keyA), options(certs.fetcher));
    expect(result).toEqual({
      ok: true,
      claims: {
        email: EMAIL,
        sub: "7335d417-61da-459d-899c-0a01c76a2f94",
        iss: TEAM,
        aud: [AUD],
        exp: SECONDS + 600,
        nbf: SECONDS,
        iat: SECONDS,
        identityNonce: "nonce-0123456789",
        type: "app",
        country: "CH",
      },
    });
    expect(certs.urls).toEqual([`${TEAM}/cdn-cgi/access/certs`]);
    // Cached: a second token needs no fetch.
    expect((await verifyAccessJwt(await token(keyA, { email: "bob@example.com" }), options(certs.fetcher))).ok).toBe(true);
    expect(certs.calls).toBe(1);
  });

  it("accepts a string aud and a trailing slash on either issuer", async () => {
    const certs = serving(() => accessCerts(keyA));
    const result = await verifyAccessJwt(await token(keyA, { aud: AUD, iss: `${TEAM}/` }), options(certs.fetcher, { teamDomain: `${TEAM}/` }));
    expect(result.ok && result.claims.aud).toEqual([AUD]);
    expect(certs.urls).toEqual([`${TEAM}/cdn-cgi/access/certs`]);
  });

  it("rejects a signature made by another key under the same kid", async () => {
    const certs = serving(() => accessCerts(keyA));
    const forged = await token(impostor);
    expectFailure(await verifyAccessJwt(forged, options(certs.fetcher)), "signature", forged);
  });

  it("rejects a token whose payload was altered after signing", async () => {
    const certs = serving(() => accessCerts(keyA));
    const [h, , s] = (await token(keyA)).split(".");
    const altered = `${h}.${base64UrlEncode(JSON.stringify(accessPayload(TEAM, AUD, "mallory@example.com", NOW)))}.${s}`;
    expectFailure(await verifyAccessJwt(altered, options(certs.fetcher)), "signature", altered);
  });

  it("refetches once for an unknown kid and finds the rotated key", async () => {
    let published = accessCerts(keyA);
    const certs = serving(() => published);
    expect((await verifyAccessJwt(await token(keyA), options(certs.fetcher))).ok).toBe(true);
    published = accessCerts(keyA, keyB);
    const later = NOW + KEYS_REFETCH_INTERVAL_MS;
    const rotated = await signAccessJwt(keyB, accessPayload(TEAM, AUD, EMAIL, later));
    expect((await verifyAccessJwt(rotated, options(certs.fetcher, { now: later }))).ok).toBe(true);
    expect(certs.calls).toBe(2);
    expect((await verifyAccessJwt(rotated, options(certs.fetcher, { now: later + 1000 }))).ok).toBe(true);
    expect(certs.calls).toBe(2);
  });

  it("drops keys the issuer withdrew once it refetches", async () => {
    let published = accessCerts(keyA);
    const certs = serving(() => published);
    expect((await verifyAccessJwt(await token(keyA), options(certs.fetcher))).ok).toBe(true);
    published = accessCerts(keyB);
    const later = NOW + KEYS_REFETCH_INTERVAL_MS;
    expect((await verifyAccessJwt(await signAccessJwt(keyB, accessPayload(TEAM, AUD, EMAIL, later)), options(certs.fetcher, { now: later }))).ok).toBe(true);
    const old = await signAccessJwt(keyA, accessPayload(TEAM, AUD, EMAIL, later));
    expectFailure(await verifyAccessJwt(old, options(certs.fetcher, { now: later + 1 })), "key", old);
  });

  it("shares one fetch among concurrent verifications with unknown kids", async () => {
    let release!: () => void;
    const hold = new Promise<void>((resolve) => (release = resolve));
    const certs = serving(() => accessCerts(keyA), hold);
    const forged = await Promise.all(Array.from({ length: 20 }, (_, i) => token(keyA, {}, { kid: `forged-${i}` })));
    const pending = [...forged, await token(keyA)].map((t) => verifyAccessJwt(t, options(certs.fetcher)));
    release();
    const results = await Promise.all(pending);
    expect(certs.calls).toBe(1);
    results.slice(0, 20).forEach((r, i) => expectFailure(r, "key", forged[i]));
    expect(results[20]?.ok).toBe(true);
  });

  it("refetches for unknown kids at most once per interval", async () => {
    const certs = serving(() => accessCerts(keyA));
    expect((await verifyAccessJwt(await token(keyA), options(certs.fetcher))).ok).toBe(true);
    for (let i = 0; i < 10; i++) {
      const forged = await token(keyA, {}, { kid: `flood-${i}` });
      expectFailure(await verifyAccessJwt(forged, options(certs.fetcher, { now: NOW + i * 1000 })), "key", forged);
    }
    expect(certs.calls).toBe(1);
    const forged = await token(keyA, {}, { kid: "still-unknown" });
    expectFailure(await verifyAccessJwt(forged, options(certs.fetcher, { now: NOW + KEYS_REFETCH_INTERVAL_MS })), "key", forged);
    expect(certs.calls).toBe(2);
    expectFailure(await verifyAccessJwt(forged, options(certs.fetcher, { now: NOW + KEYS_REFETCH_INTERVAL_MS + 1000 })), "key", forged);
    expect(certs.calls).toBe(2);
  });

  it("keeps each issuer's keys apart", async () => {
    const certs = serving(() => accessCerts(keyA));
    const other = "https://other.cloudflareaccess.com";
    expect((await verifyAccessJwt(await token(keyA), options(certs.fetcher))).ok).toBe(true);
    const otherToken = await signAccessJwt(keyA, accessPayload(other, AUD, EMAIL, NOW));
    expect((await verifyAccessJwt(otherToken, options(certs.fetcher, { teamDomain: other }))).ok).toBe(true);
    expect(certs.urls).toEqual([`${TEAM}/cdn-cgi/access/certs`, `${other}/cdn-cgi/access/certs`]);
  });

  it("rejects alg none and HS256 before looking up any key", async () => {
    const certs = serving(() => accessCerts(keyA));
    const payload = base64UrlEncode(JSON.stringify(accessPayload(TEAM, AUD, EMAIL, NOW)));
    const none = `${base64UrlEncode(JSON.stringify({ alg: "none", typ: "JWT", kid: "kid-a" }))}.${payload}.`;
    expect(expectFailure(await verifyAccessJwt(none, options(certs.fetcher)), "algorithm", none)).toContain("none");
    const hs256 = await signJwt(keyA.privateKey, { alg: "HS256", typ: "JWT", kid: "kid-a" }, accessPayload(TEAM, AUD, EMAIL, NOW));
    expect(expectFailure(await verifyAccessJwt(hs256, options(certs.fetcher)), "algorithm", hs256)).toContain("HS256");
    const odd = await token(keyA, {}, { alg: "x-custom-alg-name" });
    expect(expectFailure(await verifyAccessJwt(odd, options(certs.fetcher)), "algorithm", odd)).not.toContain("x-custom");
    expectFailure(await verifyAccessJwt(await token(keyA, {}, { alg: undefined }), options(certs.fetcher)), "algorithm");
    expect(certs.calls).toBe(0);
  });

  it("rejects a typ other than JWT and a missing kid", async () => {
    const certs = serving(() => accessCerts(keyA));
    expect((await verifyAccessJwt(await token(keyA, {}, { typ: undefined }), options(certs.fetcher))).ok).toBe(true);
    const typ = await token(keyA, {}, { typ: "at+jwt" });
    expectFailure(await verifyAccessJwt(typ, options(certs.fetcher)), "malformed", typ);
    const noKid = await token(keyA, {}, { kid: undefined });
    expectFailure(await verifyAccessJwt(noKid, options(certs.fetcher)), "key", noKid);
  });

  it("rejects the wrong issuer, naming both", async () => {
    const certs = serving(() => accessCerts(keyA));
    const wrong = await token(keyA, { iss: "https://evil.cloudflareaccess.com" });
    const detail = expectFailure(await verifyAccessJwt(wrong, options(certs.fetcher)), "issuer", wrong);
    expect(detail).toContain("https://evil.cloudflareaccess.com");
    expect(detail).toContain(TEAM);
    expectFailure(await verifyAccessJwt(await token(keyA, { iss: undefined }), options(certs.fetcher)), "issuer");
  });

  it("checks the audience, as a string or in a list", async () => {
    const certs = serving(() => accessCerts(keyA));
    const otherAud = "0000000000000000000000000000000000000000000000000000000000000000";
    const mismatch = await token(keyA, { aud: [otherAud] });
    const detail = expectFailure(await verifyAccessJwt(mismatch, options(certs.fetcher)), "audience", mismatch);
    expect(detail).toContain(AUD);
    expectFailure(await verifyAccessJwt(await token(keyA, { aud: otherAud }), options(certs.fetcher)), "audience");
    expectFailure(await verifyAccessJwt(await token(keyA, { aud: [] }), options(certs.fetcher)), "audience");
    expectFailure(await verifyAccessJwt(await token(keyA, { aud: undefined }), options(certs.fetcher)), "audience");
    expectFailure(await verifyAccessJwt(await token(keyA, { aud: [AUD, 7] }), options(certs.fetcher)), "audience");
    const listed = await verifyAccessJwt(await token(keyA, { aud: [otherAud, AUD] }), options(certs.fetcher));
    expect(listed.ok && listed.claims.aud).toEqual([otherAud, AUD]);
  });

  it("rejects a token expired beyond the clock skew and accepts one within it", async () => {
    const certs = serving(() => accessCerts(keyA));
    const within = await token(keyA, { exp: SECONDS - ACCESS_CLOCK_SKEW_SECONDS + 1 });
    expect((await verifyAccessJwt(within, options(certs.fetcher))).ok).toBe(true);
    const expired = await token(keyA, { exp: SECONDS - ACCESS_CLOCK_SKEW_SECONDS - 1 });
    expectFailure(await verifyAccessJwt(expired, options(certs.fetcher)), "expired", expired);
    const atEdge = await token(keyA, { exp: SECONDS - ACCESS_CLOCK_SKEW_SECONDS });
    expectFailure(await verifyAccessJwt(atEdge, options(certs.fetcher)), "expired", atEdge);
  });

  it("requires a numeric exp", async () => {
    const certs = serving(() => accessCerts(keyA));
    expectFailure(await verifyAccessJwt(await token(keyA, { exp: undefined }), options(certs.fetcher)), "malformed");
    expectFailure(await verifyAccessJwt(await token(keyA, { exp: String(SECONDS + 600) }), options(certs.fetcher)), "malformed");
    expectFailure(await verifyAccessJwt(await token(keyA, { nbf: "soon" }), options(certs.fetcher)), "malformed");
  });

  it("rejects nbf or iat in the future beyond the clock skew and accepts them within it", async () => {
    const certs = serving(() => accessCerts(keyA));
    const within = await token(keyA, { nbf: SECONDS + ACCESS_CLOCK_SKEW_SECONDS, iat: SECONDS + ACCESS_CLOCK_SKEW_SECONDS });
    expect((await verifyAccessJwt(within, options(certs.fetcher))).ok).toBe(true);
    const early = await token(keyA, { nbf: SECONDS + ACCESS_CLOCK_SKEW_SECONDS + 5 });
    expectFailure(await verifyAccessJwt(early, options(certs.fetcher)), "not_yet_valid", early);
    const issuedLater = await token(keyA, { iat: SECONDS + ACCESS_CLOCK_SKEW_SECONDS + 5 });
    expectFailure(await verifyAccessJwt(issuedLater, options(certs.fetcher)), "not_yet_valid", issuedLater);
  });

  it("requires an email claim (service tokens carry none)", async () => {
    const certs = serving(() => accessCerts(keyA));
    const service = await token(keyA, { email: undefined, common_name: "abc.access" });
    expectFailure(await verifyAccessJwt(service, options(certs.fetcher)), "email", service);
    expectFailure(await verifyAccessJwt(await token(keyA, { email: ["x@example.com"] }), options(certs.fetcher)), "email");
    expectFailure(await verifyAccessJwt(await token(keyA, { email: "" }), options(certs.fetcher)), "email");
  });

  it("rejects malformed tokens without throwing or fetching", async () => {
    const certs = serving(() => accessCerts(keyA));
    const good = await token(keyA);
    const [h, p, s] = good.split(".") as [string, string, string];
    const json = (value: unknown) => base64UrlEncode(JSON.stringify(value));
    const cases = [
      "",
      "abc",
      `${h}.${p}`,
      `${h}.${p}.${s}.${s}`,
      `${h}!.${p}.${s}`,
      `${h}.${p}.${s}=`,
      `${h}.${p}.${s}+`,
      `${h}.${base64UrlEncode("not json")}.${s}`,
      `${base64UrlEncode("[1,2]")}.${p}.${s}`,
      `${h}.${json("a string")}.${s}`,
      `${h}.${json(null)}.${s}`,
      `${h}.${base64UrlEncode(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))}.${s}`,
      `${h}.${p}.A`,
      `${h}.${p.slice(0, 1)}.${s}`,
      `${h}.${p}.${s}${"A".repeat(MAX_ACCESS_TOKEN_LENGTH)}`,
    ];
    for (const bad of cases) expectFailure(await verifyAccessJwt(bad, options(certs.fetcher)), "malformed", bad);
    expectFailure(await verifyAccessJwt(undefined as unknown as string, options(certs.fetcher)), "malformed");
    expectFailure(await verifyAccessJwt(await token(keyA, {}, { crit: ["b64"] }), options(certs.fetcher)), "malformed");
    expect(certs.calls).toBe(0);
  });

  it("rejects a bad configuration before reading the token", async () => {
    const certs = serving(() => accessCerts(keyA));
    const good = await token(keyA);
    for (const teamDomain of ["http://acme.cloudflareaccess.com", "ftp://acme.cloudflareaccess.com", "acme.cloudflareaccess.com", "", "https://acme.cloudflareaccess.com/app", "https://u:p@acme.cloudflareaccess.com"]) {
      expectFailure(await verifyAccessJwt(good, options(certs.fetcher, { teamDomain })), "config", good);
    }
    expectFailure(await verifyAccessJwt("garbage", options(certs.fetcher, { teamDomain: "http://acme.example" })), "config");
    expectFailure(await verifyAccessJwt(good, options(certs.fetcher, { audience: " " })), "config", good);
    expect(certs.calls).toBe(0);
  });

  it("allows http:// for localhost and 127.0.0.1", async () => {
    const certs = serving(() => accessCerts(keyA));
    for (const teamDomain of ["http://127.0.0.1:8787", "http://localhost:9000"]) {
      const local = await signAccessJwt(keyA, accessPayload(teamDomain, AUD, EMAIL, NOW));
      expect((await verifyAccessJwt(local, options(certs.fetcher, { teamDomain }))).ok).toBe(true);
    }
    expect(certs.urls).toEqual(["http://127.0.0.1:8787/cdn-cgi/access/certs", "http://localhost:9000/cdn-cgi/access/certs"]);
  });

  it("reports keys it cannot fetch, retries after a short pause, and keeps known keys through an outage", async () => {
    let status = 500;
    const certs = serving(() => (status === 200 ? accessCerts(keyA) : new Response("oops", { status })));
    const good = await token(keyA);
    const detail = expectFailure(await verifyAccessJwt(good, options(certs.fetcher)), "keys_unavailable", good);
    expect(detail).toContain("500");
    expect(detail).toContain(`${TEAM}/cdn-cgi/access/certs`);
    // Within the retry pause: no new fetch, same answer.
    expectFailure(await verifyAccessJwt(good, options(certs.fetcher, { now: NOW + 1000 })), "keys_unavailable", good);
    expect(certs.calls).toBe(1);
    status = 200;
    expect((await verifyAccessJwt(good, options(certs.fetcher, { now: NOW + KEYS_RETRY_AFTER_FAILURE_MS }))).ok).toBe(true);
    expect(certs.calls).toBe(2);
    // An outage later leaves the cached key usable; only unknown kids learn of it.
    status = 503;
    const later = NOW + KEYS_RETRY_AFTER_FAILURE_MS + KEYS_REFETCH_INTERVAL_MS;
    const forged = await token(keyA, {}, { kid: "new-kid" });
    expectFailure(await verifyAccessJwt(forged, options(certs.fetcher, { now: later })), "keys_unavailable", forged);
    expect((await verifyAccessJwt(good, options(certs.fetcher, { now: later }))).ok).toBe(true);
  });

  it("reports certs that are not JSON, lack keys, or whose fetch throws", async () => {
    const good = await token(keyA);
    const bodies: (() => AccessCerts | Response)[] = [
      () => new Response("<html>", { status: 200 }),
      () => Response.json({ public_cert: {} }),
      () => Response.json({ keys: [{ kty: "EC", kid: "kid-a", crv: "P-256", x: "x", y: "y" }] }),
      () => Response.json({ keys: [{ ...keyA.publicJwk, alg: "RS512" }] }),
      () => {
        throw new Error("connection refused");
      },
    ];
    for (const body of bodies) {
      resetAccessKeyCache();
      expectFailure(await verifyAccessJwt(good, options(serving(body).fetcher)), "keys_unavailable", good);
    }
  });

  it("gives up on a certs endpoint that does not answer in time", async () => {
    const never = new Promise<never>(() => {});
    const certs = serving(() => accessCerts(keyA), never);
    const good = await token(keyA);
    const results = await Promise.all([0, 1, 2].map(() => verifyAccessJwt(good, options(certs.fetcher, { fetchTimeoutMs: 50 }))));
    for (const result of results) expect(expectFailure(result, "keys_unavailable", good)).toContain("50 ms");
    expect(certs.calls).toBe(1);
  });
});

describe("accessTokenFrom", () => {
  it("prefers the Cf-Access-Jwt-Assertion header", () => {
    const headers = new Headers({ "Cf-Access-Jwt-Assertion": "header.token.sig", Cookie: "CF_Authorization=cookie.token.sig" });
    expect(accessTokenFrom(headers)).toBe("header.token.sig");
  });

  it("falls back to the CF_Authorization cookie among others", () => {
    expect(accessTokenFrom(new Headers({ Cookie: "theme=dark; CF_Authorization=a.b.c; other=1" }))).toBe("a.b.c");
    expect(accessTokenFrom(new Headers({ Cookie: "CF_Authorization=a.b.c" }))).toBe("a.b.c");
    expect(accessTokenFrom(new Headers({ Cookie: 'CF_Authorization="a.b.c"' }))).toBe("a.b.c");
    expect(accessTokenFrom(new Headers({ Cookie: "CF_Authorization=; CF_Authorization=d.e.f" }))).toBe("d.e.f");
  });

  it("ignores look-alike cookie names and answers undefined without a token", () => {
    expect(accessTokenFrom(new Headers({ Cookie: "XCF_Authorization=a.b.c; CF_Authorization_x=d; cf_authorization=e" }))).toBeUndefined();
    expect(accessTokenFrom(new Headers({ Cookie: "theme=dark" }))).toBeUndefined();
    expect(accessTokenFrom(new Headers({ "Cf-Access-Jwt-Assertion": "  " }))).toBeUndefined();
    expect(accessTokenFrom(new Headers())).toBeUndefined();
  });
});
