/**
 * Console and admin API sign-in through Cloudflare Access: a signed assertion (header or
 * CF_Authorization cookie) of a provisioned person opens the admin API within that person's
 * bindings in each tenant that provisioned them; forged, expired, wrong-audience and
 * deactivated cases are refused. The certs endpoint is a stand-in for `fetch`.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { resetAccessKeyCache } from "../../src/auth/access-jwt";
import { admin, fetchWithEnv, newIntegration, ORIGIN, scim, type TestIntegration } from "../support/helpers";
import { accessCerts, accessPayload, certsFetcher, createAccessKeyPair, signAccessJwt, type AccessKeyPair } from "../support/access-keys";

const TEAM = "https://acme.cloudflareaccess.com";
const AUD = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ACCESS = { ACCESS_TEAM_DOMAIN: TEAM, ACCESS_AUD: AUD };

let keys: AccessKeyPair;
let forger: AccessKeyPair;

beforeAll(async () => {
  keys = await createAccessKeyPair("kid-1");
  forger = await createAccessKeyPair("kid-1"); // the same kid, another key
});
beforeEach(() => {
  resetAccessKeyCache();
  const serve = certsFetcher(() => accessCerts(keys));
  vi.stubGlobal("fetch", async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input instanceof Request ? input.url : input);
    if (url === `${TEAM}/cdn-cgi/access/certs`) return serve.fetcher(url);
    throw new Error(`unexpected fetch of ${url}`);
  });
});
afterEach(() => vi.unstubAllGlobals());

const assertion = (email: string, overrides: Record<string, unknown> = {}, pair = keys) => signAccessJwt(pair, accessPayload(TEAM, AUD, email, Date.now(), overrides));

/** An admin API call carrying an Access assertion (header by default, or the cookie). */
async function asPerson(method: string, path: string, jwt: string, options: { cookie?: boolean; body?: unknown; headers?: Record<string, string>; env?: Partial<Env> } = {}) {
  const headers: Record<string, string> = { ...(options.cookie ? { Cookie: `theme=dark; CF_Authorization=${jwt}` } : { "Cf-Access-Jwt-Assertion": jwt }), ...options.headers };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetchWithEnv(new Request(`${ORIGIN}/api/v1${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) }), options.env ?? ACCESS);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text ? JSON.parse(text) : {} };
}

/** A tenant whose Entra provisioned Ada (userName) and Grace (work email only), Ada in "Admins". */
async function world(): Promise<{ i: TestIntegration; ada: string; grace: string; group: string }> {
  const i = await newIntegration();
  const ada = (await scim(i, "POST", "/Users", { userName: "ada@example.com" })).json.id;
  const grace = (await scim(i, "POST", "/Users", { userName: "ghopper", emails: [{ value: "Grace@Example.com", type: "work", primary: true }, { value: "g@home.example", type: "home" }] })).json.id;
  const group = (await scim(i, "POST", "/Groups", { displayName: "Admins", members: [{ value: ada }] })).json.id;
  const reader = await admin("POST", `/${i.tenant}/roles`, { name: "Directory reader", permissions: { USERS: ["READ"], GROUPS: ["READ"], ROLES: ["READ", "CREATE"], AUDIT_LOGS: ["READ"] } });
  await admin("POST", `/${i.tenant}/bindings`, { roleId: reader.json.id, subjectType: "GROUP", subjectId: group });
  const viewer = await admin("POST", `/${i.tenant}/roles`, { name: "Viewer", permissions: { USERS: ["READ"] } });
  await admin("POST", `/${i.tenant}/bindings`, { roleId: viewer.json.id, subjectType: "USER", subjectId: grace });
  return { i, ada, grace, group };
}

describe("Cloudflare Access sign-in", () => {
  it("opens the admin API within the person's bindings, by header or cookie, in the tenants that provisioned them", async () => {
    const { i, ada } = await world();
    const jwt = await assertion("Ada@Example.com");
    const me = await asPerson("GET", "/me", jwt);
    expect(me.status).toBe(200);
    expect(me.json.kind).toBe("user");
    expect(me.json.email).toBe("Ada@Example.com");
    expect(me.json.tenants.filter((t: any) => t.tenant === i.tenant)).toEqual([
      { tenant: i.tenant, userId: ada, userName: "ada@example.com", permissions: ["AUDIT_LOGS:READ", "GROUPS:READ", "ROLES:CREATE", "ROLES:READ", "USERS:READ"] },
    ]);
    expect((await asPerson("GET", `/${i.tenant}/users`, jwt)).status).toBe(200);
    expect((await asPerson("GET", `/${i.tenant}/users`, jwt, { cookie: true })).status).toBe(200);
    const denied = await asPerson("GET", `/${i.tenant}/integrations`, jwt);
    expect(denied.status).toBe(403);
    expect(denied.json.detail).toContain("INTEGRATIONS:READ");
    // Tenant management stays with the admin token.
    expect((await asPerson("POST", "/tenants", jwt, { body: { id: "mine" }, headers: { Origin: ORIGIN } })).status).toBe(403);
    expect((await asPerson("GET", "/tenants", jwt)).status).toBe(403);
  });

  it("maps a work email this tenant provisioned, not another kind of email", async () => {
    const { i, grace } = await world();
    const byWork = await asPerson("GET", "/me", await assertion("grace@example.com"));
    // (Other tests' tenants provision the same people: look at this one.)
    expect(byWork.json.tenants.filter((t: any) => t.tenant === i.tenant)).toEqual([{ tenant: i.tenant, userId: grace, userName: "ghopper", permissions: ["USERS:READ"] }]);
    expect((await asPerson("GET", `/${i.tenant}/users`, await assertion("grace@example.com"))).status).toBe(200);
    expect((await asPerson("GET", `/${i.tenant}/users`, await assertion("g@home.example"))).status).toBe(403);
  });

  it("is not changed by another tenant's provisioning", async () => {
    const { i } = await world();
    // Another tenant provisions someone under Ada's address and makes them powerful there.
    const other = await newIntegration();
    const impostor = (await scim(other, "POST", "/Users", { userName: "mallory", emails: [{ value: "boss@example.com", type: "work" }] })).json.id;
    const all = await admin("POST", `/${other.tenant}/roles`, { name: "All", permissions: { INTEGRATIONS: ["READ"] } });
    await admin("POST", `/${other.tenant}/bindings`, { roleId: all.json.id, subjectType: "USER", subjectId: impostor });
    const jwt = await assertion("boss@example.com");
    expect((await asPerson("GET", `/${i.tenant}/users`, jwt)).status).toBe(403);
    expect((await asPerson("GET", `/${other.tenant}/integrations`, jwt)).status).toBe(200);
    expect((await asPerson("GET", "/me", jwt)).json.tenants.map((t: any) => t.tenant)).toEqual([other.tenant]);
    // A tenant that does not exist answers like one that does not know the person.
    const missing = await asPerson("GET", "/no-such-tenant/users", jwt);
    expect(missing.status).toBe(403);
  });

  it("stops working on the next request once Entra deactivates the person or removes them from the granting group", async () => {
    const { i, ada, group } = await world();
    const jwt = await assertion("ada@example.com");
    expect((await asPerson("GET", `/${i.tenant}/groups`, jwt)).status).toBe(200);
    await scim(i, "PATCH", `/Groups/${group}`, { schemas: [PATCH], Operations: [{ op: "remove", path: `members[value eq "${ada}"]` }] });
    expect((await asPerson("GET", `/${i.tenant}/groups`, jwt)).status).toBe(403);
    await scim(i, "PATCH", `/Groups/${group}`, { schemas: [PATCH], Operations: [{ op: "add", path: "members", value: [{ value: ada }] }] });
    expect((await asPerson("GET", `/${i.tenant}/groups`, jwt)).status).toBe(200);
    expect((await scim(i, "PATCH", `/Users/${ada}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "active", value: false }] })).status).toBe(200);
    const off = await asPerson("GET", `/${i.tenant}/groups`, jwt);
    expect(off.status).toBe(403);
    expect(off.json.detail).toContain("deactivated");
    expect((await asPerson("GET", "/me", jwt)).json.tenants.map((t: any) => t.tenant)).not.toContain(i.tenant);
  });

  it("refuses forged, expired, not yet valid, wrong-audience and wrong-issuer assertions with 401 naming the check, never echoing the token", async () => {
    await world();
    const cases: [string, Promise<string>, string][] = [
      ["signature", assertion("ada@example.com", {}, forger), "signature"],
      ["expired", assertion("ada@example.com", { exp: Math.floor(Date.now() / 1000) - 120 }), "expired"],
      ["not yet valid", assertion("ada@example.com", { nbf: Math.floor(Date.now() / 1000) + 300 }), "not_yet_valid"],
      ["audience", assertion("ada@example.com", { aud: ["another-app"] }), "audience"],
      ["issuer", assertion("ada@example.com", { iss: "https://evil.cloudflareaccess.com" }), "issuer"],
      ["malformed", Promise.resolve("not.a.jwt"), "malformed"],
    ];
    for (const [name, pending, check] of cases) {
      const jwt = await pending;
      const res = await asPerson("GET", "/me", jwt);
      expect(res.status, name).toBe(401);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      expect(res.json.check, name).toBe(check);
      expect(res.json.detail).toContain(`(${check})`);
      for (const part of jwt.split(".").filter((p) => p.length > 8)) expect(res.text.includes(part), `${name} echoes the token`).toBe(false);
    }
  });

  it("records changes under the person, and refuses a change sent from another origin", async () => {
    const { i, ada } = await world();
    const jwt = await assertion("ada@example.com");
    const crossSite = await asPerson("POST", `/${i.tenant}/roles`, jwt, { body: { name: "Sneaky", permissions: { USERS: ["READ"] } }, headers: { Origin: "https://evil.example", "Sec-Fetch-Site": "cross-site" } });
    expect(crossSite.status).toBe(403);
    const created = await asPerson("POST", `/${i.tenant}/roles`, jwt, { body: { name: "Readers", permissions: { USERS: ["READ"] } }, headers: { Origin: ORIGIN, "Sec-Fetch-Site": "same-origin" } });
    expect(created.status).toBe(201);
    // Not more than the person holds.
    const stronger = await asPerson("POST", `/${i.tenant}/roles`, jwt, { body: { name: "Owners", permissions: { INTEGRATIONS: ["DELETE"] } }, headers: { Origin: ORIGIN } });
    expect(stronger.status).toBe(403);
    expect(stronger.json.detail).toContain("which you do not hold");
    const events = await admin("GET", `/${i.tenant}/audit-logs?resourceType=ROLE&action=CREATE`);
    expect(events.json.results.find((e: any) => e.resourceId === created.json.id)?.actor).toEqual({ type: "USER", id: ada });
  });

  it("mints a service account's token only if the account holds nothing beyond the person's bindings, namespaced ones included", async () => {
    const { i, ada, group } = await world();
    const jwt = await assertion("ada@example.com");
    const bind = async (permissions: Record<string, string[]>, subjectType: string, subjectId: string, namespace?: string) => {
      const role = await admin("POST", `/${i.tenant}/roles`, { name: `R-${crypto.randomUUID().slice(0, 8)}`, permissions });
      const res = await admin("POST", `/${i.tenant}/bindings`, { roleId: role.json.id, subjectType, subjectId, ...(namespace ? { namespace } : {}) });
      expect(res.status).toBe(201);
    };
    const account = async (permissions: Record<string, string[]>, namespace: string) => {
      const created = await admin("POST", `/${i.tenant}/service-accounts`, { name: `sa-${crypto.randomUUID().slice(0, 8)}` });
      await bind(permissions, "SERVICE_ACCOUNT", created.json.id, namespace);
      return created.json.id as string;
    };
    const mint = (id: string) => asPerson("POST", `/${i.tenant}/service-accounts/${id}/tokens`, jwt, { body: {}, headers: { Origin: ORIGIN } });
    await bind({ SERVICE_ACCOUNTS: ["CREATE"] }, "USER", ada);

    const refused = await mint(await account({ SECRETS: ["DELETE"] }, "prod"));
    expect(refused.status).toBe(403);
    expect(refused.json.detail).toContain("carries SECRETS:DELETE on namespace 'prod', which you do not hold");
    // AUDIT_LOGS:READ comes tenant-wide through her group: it covers every namespace.
    expect((await mint(await account({ AUDIT_LOGS: ["READ"] }, "prod"))).status).toBe(201);
    // SECRETS:DELETE on prod through her group covers prod.eu.
    await bind({ SECRETS: ["DELETE"] }, "GROUP", group, "prod");
    expect((await mint(await account({ SECRETS: ["DELETE"] }, "prod.eu"))).status).toBe(201);
  });

  it("is off unless both variables are set, and a bearer token wins over an assertion", async () => {
    const { i } = await world();
    const jwt = await assertion("ada@example.com");
    const off = await asPerson("GET", "/me", jwt, { env: { ACCESS_TEAM_DOMAIN: TEAM, ACCESS_AUD: "" } });
    expect(off.status).toBe(401);
    expect(off.json.detail).toContain("Authorization: Bearer");
    const both = await asPerson("GET", "/me", jwt, { headers: { Authorization: `Bearer ${i.token}` } });
    expect(both.json.kind).toBe("service-account");
    expect(env.ACCESS_TEAM_DOMAIN).toBeUndefined(); // the test worker itself has Access off
  });
});
