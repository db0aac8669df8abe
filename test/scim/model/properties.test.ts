/**
 * Property-based tests (fast-check) of the parsers and of the HTTP layer: any input gives a
 * result or a clean 400, generated filters agree with an in-memory evaluator, random PATCHes
 * never corrupt a resource, and no request of any shape gets a 5xx or changes data it should not.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client";
import { queryTenantUsers } from "../../../src/iam/user-reads";
import { createUser } from "../../../src/iam/users";
import { createTenant } from "../../../src/iam/tenants";
import { ScimError } from "../../../src/scim/model/errors";
import { compileFilter } from "../../../src/scim/model/filter/compile";
import { parseFilter } from "../../../src/scim/model/filter/parse";
import { userResolver } from "../../../src/scim/model/filter/targets";
import { applyPatch } from "../../../src/scim/model/patch/apply";
import { normalizePatch } from "../../../src/scim/model/patch/normalize";
import { userFields } from "../../../src/scim/model/resources";
import { RESOURCE_TYPES } from "../../../src/scim/model/schemas";
import { call, newIntegration, scim } from "../../support/helpers";
import { checkProperty, PROPERTY_TEST_TIMEOUT_MS } from "../../support/property-runs";

const USER = RESOURCE_TYPES.find((t) => t.id === "User")!;
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
// Runs beyond each floor stop at this limit on a slow machine; the count made is printed.
const TIME_LIMIT_MS = 15_000;

function expectCleanRejection(error: unknown): void {
  expect(error).toBeInstanceOf(ScimError);
  expect((error as ScimError).status).toBe(400);
}

// ---- filters ---------------------------------------------------------------------------------

const token = fc.constantFrom(
  "userName", "title", "emails", "emails.value", "name.familyName", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
  "eq", "ne", "co", "sw", "ew", "gt", "pr", "and", "or", "not", "(", ")", "[", "]", '"x"', '"a\\"b"', "true", "null", "12", "-1.5e2",
  " ", "  ", ".", ":", "%", "_", "'", "\\", "[type eq \"work\"]", "\u0000", "😀",
);
const filterish = fc.oneof(fc.string({ maxLength: 200 }), fc.array(token, { maxLength: 40 }).map((t) => t.join(" ")), fc.array(token, { maxLength: 40 }).map((t) => t.join("")));

describe("filter parser and compiler, on any input", () => {
  it("return an AST and SQL, or a 400 invalidFilter, never another error", async () => {
    await checkProperty(
      "filters parse or are refused",
      fc.property(filterish, (input) => {
        try {
          compileFilter(parseFilter(input), userResolver("t"));
        } catch (error) {
          expectCleanRejection(error);
          expect((error as ScimError).scimType).toBe("invalidFilter");
        }
      }),
      { runs: 2000, minRuns: 500, timeLimitMs: TIME_LIMIT_MS },
    );
  }, PROPERTY_TEST_TIMEOUT_MS);
});

interface Person {
  userName: string;
  externalId: string;
  title?: string;
  active: boolean;
  familyName?: string;
  emails: { value: string; type: string }[];
}

const PEOPLE: Person[] = [
  { userName: "ann@example.com", externalId: "E1", title: "Engineer", active: true, familyName: "Archer", emails: [{ value: "ann@example.com", type: "work" }] },
  { userName: "Bob@Example.com", externalId: "e2", title: "engineering lead", active: false, familyName: "baker", emails: [{ value: "bob@home.org", type: "home" }] },
  { userName: "carl@example.org", externalId: "E3", active: true, emails: [] },
  { userName: "dana_x@example.com", externalId: "E4", title: "Manager", active: true, familyName: "Diaz", emails: [{ value: "dana@example.com", type: "work" }, { value: "d@home.org", type: "home" }] },
  { userName: "eve%1@example.net", externalId: "E5", title: "", active: false, emails: [{ value: "eve@example.net", type: "other" }] },
  { userName: "fay@example.com", externalId: "E6", title: "Designer", active: true, familyName: "Fox", emails: [{ value: "FAY@EXAMPLE.COM", type: "work" }] },
];

type Attr = { path: string; values: (p: Person) => (string | boolean | undefined)[]; caseExact: boolean; kind: "string" | "boolean" };
const ATTRS: Attr[] = [
  { path: "userName", values: (p) => [p.userName], caseExact: false, kind: "string" },
  { path: "externalId", values: (p) => [p.externalId], caseExact: true, kind: "string" },
  { path: "title", values: (p) => [p.title], caseExact: false, kind: "string" },
  { path: "name.familyName", values: (p) => [p.familyName], caseExact: false, kind: "string" },
  { path: "emails.value", values: (p) => p.emails.map((e) => e.value), caseExact: false, kind: "string" },
  { path: "emails.type", values: (p) => p.emails.map((e) => e.type), caseExact: false, kind: "string" },
  { path: "active", values: (p) => [p.active], caseExact: false, kind: "boolean" },
];

type Expr =
  | { kind: "cmp"; attr: Attr; op: "eq" | "ne" | "co" | "sw" | "ew" | "gt" | "lt"; value: string }
  | { kind: "bool"; attr: Attr; op: "eq" | "ne"; value: boolean }
  | { kind: "pr"; attr: Attr }
  | { kind: "and" | "or"; left: Expr; right: Expr }
  | { kind: "not"; inner: Expr };

const stringAttrs = ATTRS.filter((a) => a.kind === "string");
const fragment = fc.constantFrom("ann", "a", "A", "example", "EXAMPLE.COM", ".org", "e", "engineer", "E1", "e2", "work", "home", "%", "_", "", "zzz", "dana");
const leaf: fc.Arbitrary<Expr> = fc.oneof(
  fc.record({ kind: fc.constant("cmp" as const), attr: fc.constantFrom(...stringAttrs), op: fc.constantFrom("eq", "ne", "co", "sw", "ew", "gt", "lt"), value: fragment }),
  fc.record({ kind: fc.constant("bool" as const), attr: fc.constant(ATTRS.find((a) => a.kind === "boolean")!), op: fc.constantFrom("eq", "ne"), value: fc.boolean() }),
  fc.record({ kind: fc.constant("pr" as const), attr: fc.constantFrom(...ATTRS) }),
);
const expr: fc.Arbitrary<Expr> = fc.letrec<{ e: Expr }>((tie) => ({
  e: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc.record({ kind: fc.constantFrom("and" as const, "or" as const), left: tie("e"), right: tie("e") }),
    fc.record({ kind: fc.constant("not" as const), inner: tie("e") }),
  ),
})).e;

function render(e: Expr): string {
  switch (e.kind) {
    case "cmp":
      return `${e.attr.path} ${e.op} ${JSON.stringify(e.value)}`;
    case "bool":
      return `${e.attr.path} ${e.op} ${e.value}`;
    case "pr":
      return `${e.attr.path} pr`;
    case "and":
    case "or":
      return `(${render(e.left)} ${e.kind} ${render(e.right)})`;
    case "not":
      return `not (${render(e.inner)})`;
  }
}

/** SCIM semantics in memory: a multi-valued attribute matches when some value does. */
function evaluate(e: Expr, p: Person): boolean {
  switch (e.kind) {
    case "and":
      return evaluate(e.left, p) && evaluate(e.right, p);
    case "or":
      return evaluate(e.left, p) || evaluate(e.right, p);
    case "not":
      return !evaluate(e.inner, p);
    case "pr":
      return e.attr.values(p).some((v) => v !== undefined && v !== "");
    case "bool":
      return e.attr.values(p).some((v) => (e.op === "eq" ? v === e.value : v !== e.value));
    case "cmp": {
      const fold = (s: string) => (e.attr.caseExact ? s : s.toLowerCase());
      const want = fold(e.value);
      const values = e.attr.values(p);
      const test = (v: string | boolean | undefined) => {
        if (typeof v !== "string") return e.op === "ne";
        const have = fold(v);
        switch (e.op) {
          case "eq": return have === want;
          case "ne": return have !== want;
          case "co": return have.includes(want);
          case "sw": return have.startsWith(want);
          case "ew": return want === "" || have.endsWith(want);
          case "gt": return have > want;
          case "lt": return have < want;
        }
      };
      // A single-valued attribute that is absent still has one (missing) value to compare.
      return (values.length === 0 && e.attr.path.startsWith("emails") ? [] : values.length ? values : [undefined]).some(test);
    }
  }
}

describe("generated filters", () => {
  const db = createDb(env.DB);
  const tenantId = "properties";
  const ids = new Map<string, string>();

  beforeAll(async () => {
    await createTenant(db, { id: tenantId });
    for (const p of PEOPLE) {
      const doc: Record<string, unknown> = { userName: p.userName, active: p.active, emails: p.emails };
      if (p.title !== undefined) doc.title = p.title;
      if (p.familyName) doc.name = { familyName: p.familyName };
      const result = await createUser(db, { tenantId, actor: { type: "ADMIN" } }, userFields(doc, p.externalId));
      if (result.kind !== "ok") throw new Error(result.detail);
      ids.set(result.user.id, p.userName);
    }
  });

  it("select exactly the users an in-memory evaluator selects", async () => {
    await checkProperty(
      "filters select what the evaluator selects",
      fc.asyncProperty(expr, async (e) => {
        const filter = render(e);
        const { rows } = await queryTenantUsers(db, tenantId, { where: compileFilter(parseFilter(filter), userResolver(tenantId)), offset: 0, limit: 100 });
        const got = rows.map((r) => ids.get(r.id)).sort();
        const want = PEOPLE.filter((p) => evaluate(e, p)).map((p) => p.userName).sort();
        expect(got, filter).toEqual(want);
      }),
      { runs: 300, minRuns: 100, timeLimitMs: TIME_LIMIT_MS },
    );
  }, PROPERTY_TEST_TIMEOUT_MS);
});

// ---- PATCH -----------------------------------------------------------------------------------

const patchPath = fc.constantFrom(
  "title", "active", "userName", "nickName", "name", "name.givenName", "emails", 'emails[type eq "work"]', 'emails[type eq "work"].value',
  'emails[value co "x"].primary', "phoneNumbers", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "manager", "groups", "id", "meta.created", "nope", "emails[", "",
);
const patchValue = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.boolean(),
  fc.constantFrom("True", "False", "maybe", null),
  fc.integer(),
  fc.record({ value: fc.string({ maxLength: 10 }), type: fc.constantFrom("work", "home"), primary: fc.boolean() }, { requiredKeys: ["value"] }),
  fc.array(fc.record({ value: fc.string({ maxLength: 10 }), type: fc.constantFrom("work", "home") }), { maxLength: 3 }),
  fc.record({ givenName: fc.string({ maxLength: 8 }), department: fc.string({ maxLength: 8 }) }, { requiredKeys: [] }),
);
const operation = fc.record(
  { op: fc.constantFrom("add", "Add", "replace", "Replace", "remove", "Remove", "merge"), path: patchPath, value: patchValue },
  { requiredKeys: ["op"] },
);

describe("the PATCH engine, on random operations", () => {
  const base = {
    externalId: "x-1",
    userName: "random@example.com",
    name: { givenName: "R", familyName: "P" },
    emails: [{ value: "random@example.com", type: "work", primary: true }],
    active: true,
  };

  it("returns a valid resource or a 400, and never changes its input", async () => {
    await checkProperty(
      "PATCH gives a valid resource or a 400",
      fc.property(fc.array(operation, { minLength: 1, maxLength: 6 }), (ops) => {
        const input = structuredClone(base);
        try {
          const out = applyPatch(USER, input, normalizePatch(USER, { schemas: [PATCH], Operations: ops }));
          expect(typeof out.userName).toBe("string");
          expect((out.userName as string).trim()).not.toBe("");
          // The result is canonical: applying nothing to it gives it back.
          expect(applyPatch(USER, out, [])).toEqual(out);
          expect(Object.keys(out).filter((k) => k.includes(".") && !k.startsWith("urn:"))).toEqual([]);
        } catch (error) {
          expectCleanRejection(error);
        }
        expect(input).toEqual(base);
      }),
      { runs: 1500, minRuns: 500, timeLimitMs: TIME_LIMIT_MS },
    );
  }, PROPERTY_TEST_TIMEOUT_MS);

  it("is atomic over HTTP: a refused PATCH leaves the stored user as it was", async () => {
    const i = await newIntegration();
    const user = (await scim(i, "POST", "/Users", base)).json;
    await checkProperty(
      "refused PATCH leaves the user as it was",
      fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 5 }), async (ops) => {
        const before = (await scim(i, "GET", `/Users/${user.id}`)).json;
        const res = await scim(i, "PATCH", `/Users/${user.id}`, { schemas: [PATCH], Operations: ops });
        expect(res.status, res.text).toBeLessThan(500);
        if (res.status >= 400) expect((await scim(i, "GET", `/Users/${user.id}`)).json).toEqual(before);
      }),
      { runs: 60, minRuns: 20, timeLimitMs: TIME_LIMIT_MS },
    );
  }, PROPERTY_TEST_TIMEOUT_MS);
});

// ---- HTTP ------------------------------------------------------------------------------------

async function fingerprint(): Promise<string> {
  const row = await env.DB.prepare(
    `select (select count(*) || ':' || coalesce(sum(version), 0) from users) || '|' ||
            (select count(*) || ':' || coalesce(sum(version), 0) from tenant_users) || '|' ||
            (select count(*) || ':' || coalesce(sum(version), 0) from groups) || '|' ||
            (select count(*) from group_members) || '|' || (select count(*) from bindings) || '|' ||
            (select count(*) from roles) || '|' || (select count(*) from api_tokens) as f`,
  ).first<{ f: string }>();
  return row!.f;
}

const jsonish = fc.oneof(
  fc.json({ maxDepth: 3 }),
  fc.string({ maxLength: 200 }),
  fc.constantFrom("", "{", "[]", "null", '{"Operations":[{"op":"remove","path":"members"}]}', '{"userName":""}', '{"schemas":[]}'),
);

describe("the HTTP layer, on random requests", () => {
  it("never answers 5xx, and a refused request changes nothing", async () => {
    const i = await newIntegration();
    const user = (await scim(i, "POST", "/Users", { userName: "http-prop@example.com" })).json;
    const group = (await scim(i, "POST", "/Groups", { displayName: "HttpProp", members: [{ value: user.id }] })).json;
    const paths = [
      "/Users", `/Users/${user.id}`, "/Groups", `/Groups/${group.id}`, "/Users/.search", "/.search", "/Bulk", "/Schemas",
      `/Groups/${group.id}/x`, "/ServiceProviderConfig", "/Users/%00", "/Users/..%2f..",
    ];
    await checkProperty(
      "random SCIM requests",
      fc.asyncProperty(
        fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"),
        fc.constantFrom(...paths),
        fc.dictionary(fc.constantFrom("filter", "startIndex", "count", "sortBy", "sortOrder", "attributes", "excludedAttributes", "x"), fc.string({ maxLength: 40 }), { maxKeys: 3 }),
        jsonish,
        fc.constantFrom("application/scim+json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", "", "application/json;;"),
        fc.constantFrom(undefined, "*", 'W/"1.1"', "garbage"),
        async (method, path, query, body, contentType, ifMatch) => {
          const before = await fingerprint();
          const qs = new URLSearchParams(query).toString();
          const headers: Record<string, string> = {};
          if (contentType) headers["Content-Type"] = contentType;
          if (ifMatch) headers["If-Match"] = ifMatch;
          const hasBody = method !== "GET" && method !== "HEAD";
          const res = await call(method, `${i.scimPath}${path}${qs ? `?${qs}` : ""}`, {
            token: i.token,
            body: hasBody ? (typeof body === "string" ? body : JSON.stringify(body)) : undefined,
            headers,
          });
          expect(res.status, `${method} ${path}?${qs} ${res.text}`).toBeLessThan(500);
          if (res.status >= 400) expect(await fingerprint()).toBe(before);
        },
      ),
      { runs: 150, minRuns: 50, timeLimitMs: TIME_LIMIT_MS },
    );
    // The user and group are still there unless a valid random DELETE removed them.
    expect([200, 404]).toContain((await scim(i, "GET", `/Users/${user.id}`)).status);
  }, PROPERTY_TEST_TIMEOUT_MS);

  it("answers random admin requests without 5xx", async () => {
    const tenant = (await newIntegration()).tenant;
    await checkProperty(
      "random admin requests",
      fc.asyncProperty(
        fc.constantFrom("GET", "POST", "PATCH", "DELETE"),
        fc.constantFrom("/tenants", `/${tenant}/roles`, `/${tenant}/bindings`, `/${tenant}/integrations`, `/${tenant}/audit-logs`, `/${tenant}/roles/x`, "/users/x", `/${tenant}/groups/x`, `/${tenant}/service-accounts`, `/${tenant}/service-accounts/x`, `/${tenant}/service-accounts/x/tokens`),
        fc.dictionary(fc.constantFrom("limit", "cursor", "after", "subjectType", "action"), fc.string({ maxLength: 20 }), { maxKeys: 2 }),
        jsonish,
        async (method, path, query, body) => {
          const qs = new URLSearchParams(query).toString();
          const res = await call(method, `/api/v1${path}${qs ? `?${qs}` : ""}`, {
            token: (await import("../../support/helpers")).ADMIN_TOKEN,
            body: method === "GET" || method === "DELETE" ? undefined : typeof body === "string" ? body : JSON.stringify(body),
          });
          expect(res.status, `${method} ${path}?${qs} ${res.text}`).toBeLessThan(500);
        },
      ),
      { runs: 150, minRuns: 50, timeLimitMs: TIME_LIMIT_MS },
    );
  }, PROPERTY_TEST_TIMEOUT_MS);
});
