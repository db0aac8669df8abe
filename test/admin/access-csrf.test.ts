/**
 * The CSRF guard of Cloudflare Access sign-in: Access adds its assertion to any request the
 * browser sends with the Access cookie, a cross-site one included, so a change (anything but
 * GET/HEAD/OPTIONS) is accepted only when it says it comes from this origin: `Origin` equal to
 * it, or, without `Origin`, `Sec-Fetch-Site: same-origin`. Each header is pinned on its own, so
 * removing either check (or accepting a change that carries neither) fails a test here.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { resetAccessKeyCache } from "../../src/auth/access-jwt";
import { admin, fetchWithEnv, newIntegration, ORIGIN, scim } from "../support/helpers";
import { accessCerts, accessPayload, certsFetcher, createAccessKeyPair, signAccessJwt, type AccessKeyPair } from "../support/access-keys";

const TEAM = "https://acme.cloudflareaccess.com";
const AUD = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";
const ACCESS = { ACCESS_TEAM_DOMAIN: TEAM, ACCESS_AUD: AUD };

let keys: AccessKeyPair;

beforeAll(async () => {
  keys = await createAccessKeyPair("kid-csrf");
});
beforeEach(() => {
  resetAccessKeyCache();
  const serve = certsFetcher(() => accessCerts(keys));
  vi.stubGlobal("fetch", async (input: RequestInfo | URL) => {
    const url = String(input instanceof Request ? input.url : input);
    if (url === `${TEAM}/cdn-cgi/access/certs`) return serve.fetcher(url);
    throw new Error(`unexpected fetch of ${url}`);
  });
});
afterEach(() => vi.unstubAllGlobals());

/** An admin API call carrying Ada's Access cookie and exactly the given extra headers. */
async function asAda(method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const jwt = await signAccessJwt(keys, accessPayload(TEAM, AUD, "ada@example.com", Date.now()));
  const all: Record<string, string> = { Cookie: `CF_Authorization=${jwt}`, ...headers };
  if (body !== undefined) all["Content-Type"] = "application/json";
  const res = await fetchWithEnv(new Request(`${ORIGIN}/api/v1${path}`, { method, headers: all, body: body === undefined ? undefined : JSON.stringify(body) }), ACCESS);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text ? JSON.parse(text) : {} };
}

/** A tenant that provisioned Ada and lets her manage roles; `victim` is a role she may change. */
async function world() {
  const i = await newIntegration();
  const ada = (await scim(i, "POST", "/Users", { userName: "ada@example.com" })).json.id;
  const manager = await admin("POST", `/${i.tenant}/roles`, { name: "Role manager", permissions: { USERS: ["READ"], ROLES: ["READ", "CREATE", "UPDATE", "DELETE"] } });
  await admin("POST", `/${i.tenant}/bindings`, { roleId: manager.json.id, subjectType: "USER", subjectId: ada });
  const victim = (await admin("POST", `/${i.tenant}/roles`, { name: "Victim", permissions: { USERS: ["READ"] } })).json.id as string;
  return { tenant: i.tenant, victim };
}

async function roleNames(tenant: string): Promise<string[]> {
  return ((await admin("GET", `/${tenant}/roles`)).json.results as { name: string }[]).map((r) => r.name).sort();
}

const newRole = (name: string) => ({ name, permissions: { USERS: ["READ"] } });

describe("Access CSRF guard", () => {
  it("refuses a change whose Origin is another site's, with no Sec-Fetch-Site to go by", async () => {
    const { tenant, victim } = await world();
    const before = await roleNames(tenant);
    for (const origin of ["https://evil.example", "null", `${ORIGIN}.evil.example`, "http://scim.test"]) {
      const created = await asAda("POST", `/${tenant}/roles`, { Origin: origin }, newRole(`Sneaky ${origin}`));
      expect(created.status, origin).toBe(403);
      expect(created.headers.get("content-type")).toContain("application/problem+json");
      expect(created.json.detail).toContain("own origin");
    }
    expect((await asAda("PATCH", `/${tenant}/roles/${victim}`, { Origin: "https://evil.example" }, { name: "Renamed" })).status).toBe(403);
    expect((await asAda("DELETE", `/${tenant}/roles/${victim}`, { Origin: "https://evil.example" })).status).toBe(403);
    expect(await roleNames(tenant)).toEqual(before);
  });

  it("accepts a change carrying this origin's Origin, with or without Sec-Fetch-Site", async () => {
    const { tenant, victim } = await world();
    expect((await asAda("POST", `/${tenant}/roles`, { Origin: ORIGIN }, newRole("By Origin"))).status).toBe(201);
    expect((await asAda("POST", `/${tenant}/roles`, { Origin: ORIGIN, "Sec-Fetch-Site": "same-origin" }, newRole("By both"))).status).toBe(201);
    expect((await asAda("PATCH", `/${tenant}/roles/${victim}`, { Origin: ORIGIN }, { name: "Renamed" })).status).toBe(200);
    expect(await roleNames(tenant)).toContain("Renamed");
    expect((await asAda("DELETE", `/${tenant}/roles/${victim}`, { Origin: ORIGIN })).status).toBe(204);
    expect(await roleNames(tenant)).not.toContain("Renamed");
  });

  it("refuses a change whose Sec-Fetch-Site is not this origin's, even with this origin's Origin", async () => {
    const { tenant } = await world();
    for (const site of ["cross-site", "same-site"]) {
      expect((await asAda("POST", `/${tenant}/roles`, { "Sec-Fetch-Site": site }, newRole(`Sneaky ${site}`))).status, site).toBe(403);
      expect((await asAda("POST", `/${tenant}/roles`, { Origin: ORIGIN, "Sec-Fetch-Site": site }, newRole(`Sneaky ${site} 2`))).status, site).toBe(403);
    }
    expect((await asAda("POST", `/${tenant}/roles`, { "Sec-Fetch-Site": "same-origin" }, newRole("By Sec-Fetch-Site"))).status).toBe(201);
  });

  it("refuses a change carrying neither Origin nor Sec-Fetch-Site: same-origin, naming what is missing", async () => {
    const { tenant, victim } = await world();
    const before = await roleNames(tenant);
    const neither = await asAda("POST", `/${tenant}/roles`, {}, newRole("Unvouched"));
    expect(neither.status).toBe(403);
    expect(neither.headers.get("content-type")).toContain("application/problem+json");
    expect(neither.json).toMatchObject({ status: 403, missing: "Origin" });
    expect(neither.json.detail).toBe(`A change signed in through Cloudflare Access must carry 'Origin: ${ORIGIN}' (or 'Sec-Fetch-Site: same-origin'); this request carried neither.`);
    // "none" (typed in the address bar) says nothing about which origin sent a change.
    const none = await asAda("POST", `/${tenant}/roles`, { "Sec-Fetch-Site": "none" }, newRole("Typed"));
    expect(none.status).toBe(403);
    expect(none.json.detail).toContain("no Origin and 'Sec-Fetch-Site: none'");
    expect((await asAda("PATCH", `/${tenant}/roles/${victim}`, {}, { name: "Renamed" })).status).toBe(403);
    expect((await asAda("DELETE", `/${tenant}/roles/${victim}`, {})).status).toBe(403);
    expect(await roleNames(tenant)).toEqual(before);
  });

  it("lets reads through without either header (they change nothing)", async () => {
    const { tenant } = await world();
    const read = await asAda("GET", `/${tenant}/roles`, {});
    expect(read.status).toBe(200);
    expect((read.json.results as { name: string }[]).map((r) => r.name)).toContain("Victim");
    expect((await asAda("HEAD", `/${tenant}/roles`, {})).status).toBe(200);
    expect((await asAda("GET", `/${tenant}/roles`, { Origin: "https://evil.example", "Sec-Fetch-Site": "cross-site" })).status).toBe(200);
  });

  it("leaves bearer tokens alone: no cookie, nothing for another site to ride on", async () => {
    const { tenant } = await world();
    expect((await admin("POST", `/${tenant}/roles`, newRole("By token"))).status).toBe(201);
  });
});
