/**
 * A tenant's own schema extensions: undeclared data kept as sent, declared extensions validated,
 * served in discovery, stored, returned, projected and filtered, unique values kept unique.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createDb, type Db } from "../../../src/db/client";
import { putDeclaredSchema } from "../../../src/iam/scim-schemas";
import { admin, newIntegration, newTenant, scim, type TestIntegration } from "../../support/helpers";

const USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const EXT = "urn:ietf:params:scim:schemas:extension:Contoso:2.0:User";
const q = encodeURIComponent;
const declaration = {
  name: "ContosoUser",
  description: "Contoso's own attributes",
  attributes: [
    { name: "costCenter", type: "string" },
    { name: "badge", type: "string", uniqueness: "server" },
    { name: "clearance", type: "integer" },
    { name: "remote", type: "boolean" },
    { name: "projects", type: "complex", multiValued: true, subAttributes: [{ name: "code", type: "string" }, { name: "lead", type: "boolean" }] },
  ],
};

describe("data under an extension the tenant has not declared", () => {
  it("is stored as sent, answered back and changed by Entra's PATCH paths, never dropped", async () => {
    const i = await newIntegration();
    const created = await scim(i, "POST", "/Users", { schemas: [USER, EXT], userName: "ext@example.com", [EXT]: { costCenter: "CC1", badge: 7 } });
    expect(created.status).toBe(201);
    expect(created.json[EXT]).toEqual({ costCenter: "CC1", badge: 7 });
    expect(created.json.schemas).toEqual([USER, EXT]);
    expect((await scim(i, "GET", `/Users/${created.json.id}`)).json[EXT]).toEqual({ costCenter: "CC1", badge: 7 });
    const patched = await scim(i, "PATCH", `/Users/${created.json.id}`, {
      schemas: [PATCH],
      Operations: [
        { op: "Replace", path: `${EXT}:costCenter`, value: "CC2" },
        { op: "Add", value: { [EXT]: { floor: "3" } } },
        { op: "Remove", path: `${EXT}:badge` },
      ],
    });
    expect(patched.status).toBe(200);
    expect(patched.json[EXT]).toEqual({ costCenter: "CC2", floor: "3" });
    expect((await scim(i, "PATCH", `/Users/${created.json.id}`, { schemas: [PATCH], Operations: [{ op: "remove", path: EXT }] })).json[EXT]).toBeUndefined();
    expect((await scim(i, "POST", "/Users", { userName: "bad-ext@example.com", [EXT]: "not an object" })).status).toBe(400);
    const huge = await scim(i, "POST", "/Users", { userName: "huge-ext@example.com", [EXT]: { blob: "x".repeat(70_000) } });
    expect(huge.status).toBe(413);
  });
});

describe("declared extensions", () => {
  it("are declared through the admin API with RFC 7643 definitions, and refused when malformed", async () => {
    const i = await newIntegration();
    const put = await admin("PUT", `/${i.tenant}/scim-schemas/${q(EXT)}`, declaration);
    expect(put.status).toBe(201);
    expect(put.json.attributes[0]).toMatchObject({ name: "costCenter", type: "string", multiValued: false, required: false, caseExact: false, mutability: "readWrite", returned: "default", uniqueness: "none" });
    expect((await admin("PUT", `/${i.tenant}/scim-schemas/${q(EXT)}`, declaration)).status).toBe(200);
    expect((await admin("GET", `/${i.tenant}/scim-schemas`)).json.results.map((s: { id: string }) => s.id)).toEqual([EXT]);
    for (const attributes of [
      [{ name: "x", type: "complex" }],
      [{ name: "x", type: "string", subAttributes: [{ name: "y", type: "string" }] }],
      [{ name: "x", type: "binary", uniqueness: "server" }],
      [{ name: "x", type: "integer", multiValued: true, uniqueness: "server" }],
      [{ name: "x", type: "complex", uniqueness: "server", subAttributes: [{ name: "y", type: "string" }] }],
      [{ name: "x", type: "complex", subAttributes: [{ name: "y", type: "string", uniqueness: "server" }] }],
      Array.from({ length: 11 }, (_, n) => ({ name: `u${n}`, type: "string", uniqueness: "server" })),
      [{ name: "x", type: "string" }, { name: "X", type: "string" }],
      [{ name: "1x", type: "string" }],
      [{ name: "x", type: "nope" }],
    ]) {
      const bad = await admin("PUT", `/${i.tenant}/scim-schemas/${q(EXT)}`, { name: "Bad", attributes });
      expect(bad.status, JSON.stringify(attributes)).toBe(400);
      expect(bad.headers.get("content-type")).toContain("application/problem+json");
    }
    expect((await admin("PUT", `/${i.tenant}/scim-schemas/${q("urn:ietf:params:scim:schemas:core:2.0:User")}`, declaration)).status).toBe(400);
    expect((await admin("PUT", `/${i.tenant}/scim-schemas/not-a-urn`, declaration)).status).toBe(400);
  });

  it("appear in the tenant's discovery only, and validate, store, return, project and filter", async () => {
    const i = await newIntegration();
    const other = await newIntegration();
    await admin("PUT", `/${i.tenant}/scim-schemas/${q(EXT)}`, declaration);
    const types = await scim(i, "GET", "/ResourceTypes/User");
    expect(types.json.schemaExtensions).toContainEqual({ schema: EXT, required: false });
    expect((await scim(i, "GET", "/Schemas")).json.Resources.map((s: { id: string }) => s.id)).toContain(EXT);
    expect((await scim(i, "GET", `/Schemas/${EXT}`)).json.attributes.map((a: { name: string }) => a.name)).toEqual(["costCenter", "badge", "clearance", "remote", "projects"]);
    expect((await scim(other, "GET", "/Schemas")).json.Resources.map((s: { id: string }) => s.id)).not.toContain(EXT);

    const wrong = await scim(i, "POST", "/Users", { userName: "typed@example.com", [EXT]: { clearance: "high" } });
    expect(wrong.status).toBe(400);
    expect(wrong.json.detail).toContain(`'${EXT}:clearance'`);
    const ada = await scim(i, "POST", "/Users", { schemas: [USER, EXT], userName: "ada@example.com", [EXT]: { costCenter: "R&D", badge: "B-1", clearance: 3, remote: "True", projects: [{ code: "engine", lead: true }] } });
    expect(ada.status).toBe(201);
    expect(ada.json[EXT]).toEqual({ costCenter: "R&D", badge: "B-1", clearance: 3, remote: true, projects: [{ code: "engine", lead: true }] });
    await scim(i, "POST", "/Users", { userName: "bob@example.com", [EXT]: { costCenter: "Ops", clearance: 1 } });
    const ids = async (filter: string) => (await scim(i, "GET", `/Users?filter=${q(filter)}`)).json.Resources?.map((r: { userName: string }) => r.userName);
    expect(await ids(`${EXT}:costCenter eq "r&d"`)).toEqual(["ada@example.com"]);
    expect(await ids(`${EXT}:clearance gt 2`)).toEqual(["ada@example.com"]);
    expect(await ids(`${EXT}:remote eq true`)).toEqual(["ada@example.com"]);
    expect(await ids(`${EXT}:projects[code sw "eng" and lead eq true]`)).toEqual(["ada@example.com"]);
    expect(await ids(`${EXT}:badge eq "b-1"`)).toEqual(["ada@example.com"]);
    expect(await ids(`${EXT}:badge pr`)).toEqual(["ada@example.com"]);
    expect(await ids(`${EXT}:costCenter pr and not (${EXT}:badge pr)`)).toEqual(["bob@example.com"]);
    const projected = await scim(i, "GET", `/Users/${ada.json.id}?attributes=${q(`${EXT}:costCenter`)}`);
    expect(projected.json).toEqual({ schemas: [USER, EXT], id: ada.json.id, [EXT]: { costCenter: "R&D" } });
    const excluded = await scim(i, "GET", `/Users/${ada.json.id}?excludedAttributes=${q(EXT)}`);
    expect(excluded.json[EXT]).toBeUndefined();
    expect(excluded.json.schemas).toEqual([USER]);
    const patched = await scim(i, "PATCH", `/Users/${ada.json.id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: `${EXT}:clearance`, value: "4" }] });
    expect(patched.json[EXT].clearance).toBe(4);
    const badPatch = await scim(i, "PATCH", `/Users/${ada.json.id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: `${EXT}:remote`, value: "maybe" }] });
    expect(badPatch.status).toBe(400);
  });

  it("keep a unique attribute unique in the tenant, from existing values on", async () => {
    const i = await newIntegration();
    // Written before the declaration: kept as sent, then indexed when declared.
    const first = (await scim(i, "POST", "/Users", { userName: "u1@example.com", [EXT]: { badge: "B-7" } })).json;
    const second = (await scim(i, "POST", "/Users", { userName: "u2@example.com", [EXT]: { badge: "b-7" } })).json;
    const refused = await admin("PUT", `/${i.tenant}/scim-schemas/${q(EXT)}`, declaration);
    expect(refused.status).toBe(409);
    expect((await admin("GET", `/${i.tenant}/scim-schemas`)).json.results).toEqual([]);
    await scim(i, "PATCH", `/Users/${second.id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: `${EXT}:badge`, value: "B-8" }] });
    expect((await admin("PUT", `/${i.tenant}/scim-schemas/${q(EXT)}`, declaration)).status).toBe(201);
    expect((await scim(i, "GET", `/Users?filter=${q(`${EXT}:badge eq "B-7"`)}`)).json.Resources.map((r: { id: string }) => r.id)).toEqual([first.id]);
    const dup = await scim(i, "POST", "/Users", { userName: "u3@example.com", [EXT]: { badge: "B-8" } });
    expect(dup.status).toBe(409);
    expect(dup.json.scimType).toBe("uniqueness");
    const steal = await scim(i, "PATCH", `/Users/${first.id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: `${EXT}:badge`, value: "b-8" }] });
    expect(steal.status).toBe(409);
    // A value frees up when its user lets go of it.
    await scim(i, "PATCH", `/Users/${second.id}`, { schemas: [PATCH], Operations: [{ op: "remove", path: `${EXT}:badge` }] });
    expect((await scim(i, "PATCH", `/Users/${first.id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: `${EXT}:badge`, value: "b-8" }] })).status).toBe(200);
    // Another tenant's values are its own.
    const other = await newIntegration();
    await admin("PUT", `/${other.tenant}/scim-schemas/${q(EXT)}`, declaration);
    expect((await scim(other, "POST", "/Users", { userName: "o@example.com", [EXT]: { badge: "b-8" } })).status).toBe(201);
  });

  it("removing a declaration keeps the values users hold, answered back as undeclared data", async () => {
    const i = await newIntegration();
    await admin("PUT", `/${i.tenant}/scim-schemas/${q(EXT)}`, declaration);
    const u = (await scim(i, "POST", "/Users", { userName: "keep@example.com", [EXT]: { costCenter: "CC", badge: "K" } })).json;
    expect((await admin("DELETE", `/${i.tenant}/scim-schemas/${q(EXT)}`)).status).toBe(204);
    expect((await admin("DELETE", `/${i.tenant}/scim-schemas/${q(EXT)}`)).status).toBe(404);
    expect((await scim(i, "GET", `/Users/${u.id}`)).json[EXT]).toEqual({ costCenter: "CC", badge: "K" });
    expect((await scim(i, "GET", `/Users?filter=${q(`${EXT}:costCenter eq "CC"`)}`)).status).toBe(400);
    const audit = await admin("GET", `/${i.tenant}/audit-logs?resourceType=SCIM_SCHEMA`);
    expect(audit.json.results.map((e: { action: string }) => e.action)).toEqual(["DELETE", "CREATE"]);
  });
});

/** The tenant's rows of the unique index, as `<attribute>=<value key>` (white box: what the rebuild wrote). */
async function indexRows(tenant: string): Promise<string[]> {
  const { results } = await env.DB.prepare("select attribute, value_key from tenant_user_values where tenant_id = ? order by attribute, value_key")
    .bind(tenant)
    .all<{ attribute: string; value_key: string }>();
  return results.map((r) => `${r.attribute}=${r.value_key}`);
}

async function auditCount(tenant: string): Promise<number> {
  return (await admin("GET", `/${tenant}/audit-logs?resourceType=SCIM_SCHEMA`)).json.results.length;
}

/** Provisions `count` bare users into the tenant straight in SQL (thousands of SCIM POSTs would take minutes). */
async function seedUsers(tenant: string, count: number, profile = "'{}'"): Promise<void> {
  const cte = "with recursive n(i) as (select 1 union all select i + 1 from n where i < ?)";
  await env.DB.batch([
    env.DB.prepare(`${cte} insert into users (id, user_name, user_name_key, created_at, updated_at) select ? || '-' || i, ? || '-' || i || '@seed', ? || '-' || i || '@seed', 0, 0 from n`).bind(count, tenant, tenant, tenant),
    env.DB.prepare(
      `${cte} insert into tenant_users (tenant_id, user_id, user_name, user_name_key, profile, created_at, updated_at) select ?, ? || '-' || i, ? || '-' || i || '@seed', ? || '-' || i || '@seed', ${profile}, 0, 0 from n`,
    ).bind(count, tenant, tenant, tenant, tenant),
  ]);
}

const declare = (i: TestIntegration, urn: string, body: unknown) => admin("PUT", `/${i.tenant}/scim-schemas/${q(urn)}`, body);

describe("unique attributes of any simple type", () => {
  const TYPED = "urn:example:typed";
  const typed = {
    name: "Typed",
    attributes: [
      { name: "employeeNo", type: "integer", uniqueness: "server" },
      { name: "rate", type: "decimal", uniqueness: "server" },
      { name: "hired", type: "dateTime", uniqueness: "server" },
      { name: "lead", type: "boolean", uniqueness: "server" },
      { name: "home", type: "reference", referenceTypes: ["external"], uniqueness: "server" },
    ],
  };

  it("index the values users already hold, and the values written later, under the same exact keys", async () => {
    const i = await newIntegration();
    // Written before the declaration (kept as sent): the declaration's rebuild indexes them in SQL.
    const a = await scim(i, "POST", "/Users", { userName: "a@example.com", [TYPED]: { employeeNo: 10, rate: 0.30000000000000004, hired: "2024-01-01T00:00:00Z", lead: true, home: "https://a.example" } });
    const b = await scim(i, "POST", "/Users", { userName: "b@example.com", [TYPED]: { employeeNo: 10, rate: 0.3 } });
    // Numbers past 64 bits or in exponent form: their JSON text, not SQLite's rendering of a real.
    expect((await scim(i, "POST", "/Users", { userName: "e@example.com", [TYPED]: { employeeNo: 1e20, rate: 1e-7 } })).status).toBe(201);
    expect((await declare(i, TYPED, typed)).status).toBe(409);
    await scim(i, "PATCH", `/Users/${b.json.id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: `${TYPED}:employeeNo`, value: 9 }] });
    expect((await declare(i, TYPED, typed)).status).toBe(201);
    expect(await indexRows(i.tenant)).toEqual([
      `${TYPED}:employeeno=10`,
      `${TYPED}:employeeno=100000000000000000000`,
      `${TYPED}:employeeno=9`,
      `${TYPED}:hired=2024-01-01T00:00:00Z`,
      `${TYPED}:home=https://a.example`,
      `${TYPED}:lead=true`,
      `${TYPED}:rate=0.3`,
      `${TYPED}:rate=0.30000000000000004`,
      `${TYPED}:rate=1e-7`,
    ]);
    // Each value indexed by SQL is refused to another user written through SCIM (keys computed in JS).
    for (const [attr, value] of [["employeeNo", 10], ["employeeNo", "10"], ["employeeNo", 100000000000000000000], ["rate", 0.0000001], ["rate", 0.30000000000000004], ["hired", "2024-01-01T00:00:00Z"], ["lead", "True"], ["home", "https://A.example"]] as const) {
      const dup = await scim(i, "POST", "/Users", { userName: `dup-${attr}-${String(value)}@example.com`, [TYPED]: { [attr]: value } });
      expect(dup.status, `${attr} ${String(value)}`).toBe(409);
      expect(dup.json.scimType).toBe("uniqueness");
    }
    // Exact: neighbours are other values.
    const c = await scim(i, "POST", "/Users", { userName: "c@example.com", [TYPED]: { employeeNo: 100, rate: 0.31, hired: "2024-01-01T00:00:01Z", lead: false } });
    expect(c.status).toBe(201);
    expect((await scim(i, "PATCH", `/Users/${b.json.id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: `${TYPED}:lead`, value: false }] })).status).toBe(409);
    // Numbers keep filtering as numbers (their index keys are text, so filters read the view).
    const ids = async (filter: string) => (await scim(i, "GET", `/Users?filter=${q(filter)}`)).json.Resources?.map((r: { userName: string }) => r.userName).sort();
    expect(await ids(`${TYPED}:employeeNo gt 9`)).toEqual(["a@example.com", "c@example.com", "e@example.com"]);
    expect(await ids(`${TYPED}:lead eq true`)).toEqual(["a@example.com"]);
    expect(await ids(`${TYPED}:home eq "https://A.EXAMPLE"`)).toEqual(["a@example.com"]);
    expect(a.status).toBe(201);
  });
});

describe("declarations are bounded and exact", () => {
  it("a PUT equal to the stored declaration writes nothing, and a change rebuilds only the attributes whose uniqueness changed", async () => {
    const i = await newIntegration();
    await scim(i, "POST", "/Users", { userName: "n@example.com", [EXT]: { badge: "B-1", costCenter: "CC-1" } });
    const first = await declare(i, EXT, declaration);
    expect(first.status).toBe(201);
    expect(await indexRows(i.tenant)).toEqual([`${EXT.toLowerCase()}:badge=b-1`]);
    const audits = await auditCount(i.tenant);
    // Emptied behind the server's back: a rebuild would fill it again.
    await env.DB.prepare("delete from tenant_user_values where tenant_id = ?").bind(i.tenant).run();
    const same = await declare(i, EXT, declaration);
    expect(same.status).toBe(200);
    expect(same.json).toEqual(first.json);
    expect(await auditCount(i.tenant)).toBe(audits);
    expect(await indexRows(i.tenant)).toEqual([]);
    // Another description is a change (audited), but no attribute's uniqueness changed.
    const described = await declare(i, EXT, { ...declaration, description: "changed" });
    expect(described.status).toBe(200);
    expect(described.json.description).toBe("changed");
    expect(await auditCount(i.tenant)).toBe(audits + 1);
    expect(await indexRows(i.tenant)).toEqual([]);
    // costCenter becomes unique: only its index is built.
    const attributes = declaration.attributes.map((a) => (a.name === "costCenter" ? { ...a, uniqueness: "server" } : a));
    expect((await declare(i, EXT, { ...declaration, attributes })).status).toBe(200);
    expect(await indexRows(i.tenant)).toEqual([`${EXT.toLowerCase()}:costcenter=cc-1`]);
    // badge turns case-exact: its keys change, so its index is rebuilt.
    const exact = attributes.map((a) => (a.name === "badge" ? { ...a, caseExact: true } : a));
    expect((await declare(i, EXT, { ...declaration, attributes: exact })).status).toBe(200);
    expect(await indexRows(i.tenant)).toEqual([`${EXT.toLowerCase()}:badge=B-1`, `${EXT.toLowerCase()}:costcenter=cc-1`]);
    // costCenter no longer unique: its rows go, badge's stay.
    expect((await declare(i, EXT, { ...declaration, attributes: exact.map((a) => (a.name === "costCenter" ? { ...a, uniqueness: "none" } : a)) })).status).toBe(200);
    expect(await indexRows(i.tenant)).toEqual([`${EXT.toLowerCase()}:badge=B-1`]);
  });

  it("declaring or removing urn:example:p leaves the index of urn:example:p:sub alone", async () => {
    const i = await newIntegration();
    const unique = { name: "P", attributes: [{ name: "code", type: "string", uniqueness: "server" }] };
    expect((await declare(i, "urn:example:p:sub", unique)).status).toBe(201);
    expect((await scim(i, "POST", "/Users", { userName: "s1@example.com", "urn:example:p:sub": { code: "X" } })).status).toBe(201);
    const taken = async () => (await scim(i, "POST", "/Users", { userName: `s-${crypto.randomUUID()}@example.com`, "urn:example:p:sub": { code: "x" } })).status;
    expect(await taken()).toBe(409);
    expect((await declare(i, "urn:example:p", unique)).status).toBe(201);
    expect(await taken()).toBe(409);
    expect((await declare(i, "urn:example:p", { ...unique, attributes: [{ name: "code", type: "string" }] })).status).toBe(200);
    expect(await taken()).toBe(409);
    expect((await declare(i, "urn:example:p", unique)).status).toBe(200);
    expect((await admin("DELETE", `/${i.tenant}/scim-schemas/${q("urn:example:p")}`)).status).toBe(204);
    expect(await taken()).toBe(409);
    expect(await indexRows(i.tenant)).toEqual(["urn:example:p:sub:code=x"]);
  });

  it("a tenant holds at most 20 declarations", async () => {
    const i = await newIntegration();
    const small = { name: "S", attributes: [{ name: "a", type: "string" }] };
    for (let n = 0; n < 20; n++) expect((await declare(i, `urn:example:n${n}`, small)).status).toBe(201);
    const refused = await declare(i, "urn:example:n20", small);
    expect(refused.status).toBe(409);
    expect(refused.headers.get("content-type")).toContain("application/problem+json");
    expect(refused.json.detail).toContain("already declares 20 SCIM schema extensions");
    // Replacing one is not another one.
    expect((await declare(i, "urn:example:n3", { ...small, name: "S3" })).status).toBe(200);
    expect((await admin("DELETE", `/${i.tenant}/scim-schemas/${q("urn:example:n0")}`)).status).toBe(204);
    expect((await declare(i, "urn:example:n20", small)).status).toBe(201);
  });

  it("the limits hold inside the committing batch: declarations checked at the same time cannot pass them together", async () => {
    const tenant = await newTenant("race");
    const small = { name: "S", description: null, attributes: [{ name: "a", type: "string" }] };
    for (let n = 0; n < 19; n++) expect((await admin("PUT", `/${tenant}/scim-schemas/${q(`urn:example:r${n}`)}`, small)).status).toBe(201);
    // Another declaration commits right after this PUT read the tenant's (19 then): the 20th.
    let raced = false;
    const base = createDb(env.DB);
    const racing = new Proxy(base, {
      get(target, prop, receiver) {
        if (prop !== "batch") return Reflect.get(target, prop, receiver);
        return async (statements: Parameters<Db["batch"]>[0]) => {
          const results = await target.batch(statements);
          if (!raced) {
            raced = true;
            expect((await admin("PUT", `/${tenant}/scim-schemas/${q("urn:example:other")}`, small)).status).toBe(201);
          }
          return results;
        };
      },
    }) as Db;
    const result = await putDeclaredSchema(racing, { tenantId: tenant, actor: { type: "ADMIN" } }, { urn: "urn:example:late", ...small }, () => []);
    expect(result).toMatchObject({ kind: "over_limits", perTenant: 20 });
    const listed = (await admin("GET", `/${tenant}/scim-schemas`)).json.results.map((r: { id: string }) => r.id);
    expect(listed).toHaveLength(20);
    expect(listed).not.toContain("urn:example:late");
    // Nothing of the refused PUT stayed: no audit event, no guard row.
    expect((await admin("GET", `/${tenant}/audit-logs?resourceType=SCIM_SCHEMA&resourceId=${q("urn:example:late")}`)).json.results).toEqual([]);
    expect((await env.DB.prepare("select count(*) as n from commit_guards").first<{ n: number }>())?.n).toBe(0);
  });

  it("a tenant's declarations take at most 256 KiB of definition JSON", async () => {
    const i = await newIntegration();
    // About 110 KB each: 100 attributes of 1,000-character descriptions.
    const big = (mark: string) => ({ name: "Big", attributes: Array.from({ length: 100 }, (_, n) => ({ name: `a${n}`, type: "string", description: mark.repeat(1000) })) });
    expect((await declare(i, "urn:example:big1", big("x"))).status).toBe(201);
    expect((await declare(i, "urn:example:big2", big("y"))).status).toBe(201);
    const refused = await declare(i, "urn:example:big3", big("z"));
    expect(refused.status).toBe(409);
    expect(refused.json.detail).toContain("262,144 bytes of definition JSON");
    expect((await admin("GET", `/${i.tenant}/scim-schemas`)).json.results).toHaveLength(2);
    // Multi-byte characters count as their UTF-8 bytes: a replacement of the same length in é is twice the size.
    expect((await declare(i, "urn:example:big2", big("é"))).status).toBe(409);
    // A replacement counts instead of the declaration it replaces.
    expect((await declare(i, "urn:example:big2", big("w"))).status).toBe(200);
    expect((await declare(i, "urn:example:big3", { name: "Small", attributes: [{ name: "a", type: "string" }] })).status).toBe(201);
    // A tenant past the limit (declared before it existed) may still replace a declaration with one no larger.
    const stored = await env.DB.prepare("select attributes from scim_schemas where tenant_id = ? and urn_key = 'urn:example:big1'").bind(i.tenant).first<{ attributes: string }>();
    await env.DB.prepare("insert into scim_schemas (tenant_id, urn, urn_key, name, attributes, created_at, updated_at) values (?, 'urn:example:legacy', 'urn:example:legacy', 'Big', ?, 0, 0)")
      .bind(i.tenant, stored!.attributes)
      .run();
    expect((await declare(i, "urn:example:big2", big("v"))).status).toBe(200);
    expect((await declare(i, "urn:example:big2", { ...big("v"), description: "grows" })).status).toBe(409);
  });

  it("a rebuild walks a bounded number of user rows per request", async () => {
    const i = await newIntegration();
    await seedUsers(i.tenant, 700);
    const three = { name: "T", attributes: ["a", "b", "c"].map((name) => ({ name, type: "string", uniqueness: "server" })) };
    const refused = await declare(i, "urn:example:t", three);
    expect(refused.status).toBe(409);
    expect(refused.json.detail).toContain("walk 700 users for each of 3 attributes, more than the 2,000 rows");
    expect(refused.json.detail).toContain("at most 2 attributes unique per request");
    expect((await admin("GET", `/${i.tenant}/scim-schemas`)).json.results).toEqual([]);
    // Two now, the third in a second request: each rebuilds only what changed.
    expect((await declare(i, "urn:example:t", { ...three, attributes: three.attributes.map((a) => (a.name === "c" ? { ...a, uniqueness: "none" } : a)) })).status).toBe(201);
    expect((await declare(i, "urn:example:t", three)).status).toBe(200);

    const big = await newIntegration();
    await seedUsers(big.tenant, 2_001);
    const one = { name: "O", attributes: [{ name: "a", type: "string", uniqueness: "server" }, { name: "b", type: "string" }] };
    const tooBig = await declare(big, "urn:example:o", one);
    expect(tooBig.status).toBe(409);
    expect(tooBig.json.detail).toContain("more than the 2,000 one request may walk");
    expect(tooBig.json.detail).toContain("uniqueness: none");
    // Without uniqueness nothing is walked: accepted whatever the tenant's size.
    expect((await declare(big, "urn:example:o", { ...one, attributes: one.attributes.map((a) => ({ ...a, uniqueness: "none" })) })).status).toBe(201);
  });

  it("taking uniqueness away drops a bounded number of index rows per request; the rest are inert", async () => {
    const i = await newIntegration();
    const unique = { name: "D", attributes: [{ name: "a", type: "string", uniqueness: "server" }] };
    expect((await declare(i, "urn:example:d", unique)).status).toBe(201);
    // The tenant grew past the bound after declaring: 2,001 users, each with an index row.
    await seedUsers(i.tenant, 2_001, `json_object('urn:example:d', json_object('a', 'v' || i))`);
    await env.DB.prepare("insert into tenant_user_values (tenant_id, attribute, value_key, user_id) select tenant_id, 'urn:example:d:a', json_extract(profile, '$.\"urn:example:d\".a'), user_id from tenant_users where tenant_id = ?")
      .bind(i.tenant)
      .run();
    expect(await indexRows(i.tenant)).toHaveLength(2_001);
    expect((await declare(i, "urn:example:d", { ...unique, attributes: [{ name: "a", type: "string" }] })).status).toBe(200);
    expect(await indexRows(i.tenant)).toHaveLength(1);
    // The row left over holds no value: another user may take it.
    const [left] = await indexRows(i.tenant);
    const value = left!.split("=")[1];
    expect((await scim(i, "POST", "/Users", { userName: "taker@example.com", "urn:example:d": { a: value } })).status).toBe(201);
    expect((await admin("DELETE", `/${i.tenant}/scim-schemas/${q("urn:example:d")}`)).status).toBe(204);
  });
});
