/**
 * A tenant's own schema extensions: undeclared data kept as sent, declared extensions validated,
 * served in discovery, stored, returned, projected and filtered, unique values kept unique.
 */
import { describe, expect, it } from "vitest";
import { admin, newIntegration, scim } from "./helpers";

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
      [{ name: "x", type: "integer", uniqueness: "server" }],
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
