/**
 * Honest audit diffs: a change is a change of value, never of serialisation. Entra resends the
 * enterprise extension with its keys in another order than it created it; that changed nothing.
 */
import { describe, expect, it } from "vitest";
import { diffOf, sameValue } from "../../src/iam/audit";
import { admin, newIntegration, scim } from "../support/helpers";

const USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

describe("sameValue", () => {
  it("compares objects by members whatever their key order, arrays in order", () => {
    expect(sameValue({ a: 1, b: { c: [1, { d: 2, e: 3 }] } }, { b: { c: [1, { e: 3, d: 2 }] }, a: 1 })).toBe(true);
    expect(sameValue([1, 2], [2, 1])).toBe(false);
    expect(sameValue({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(sameValue({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(sameValue({ a: null }, { a: undefined })).toBe(false);
    expect(sameValue("1", 1)).toBe(false);
    expect(sameValue([], {})).toBe(false);
  });

  it("keeps diffOf from reporting a reordered object as changed", () => {
    expect(diffOf({ ext: { department: "R&D", employeeNumber: "7" } }, { ext: { employeeNumber: "7", department: "R&D" } })).toEqual({});
    expect(diffOf({ ext: { department: "R&D" } }, { ext: { department: "Sales" } })).toEqual({
      ext: { before: { department: "R&D" }, after: { department: "Sales" } },
    });
  });
});

describe("the audit log of Entra's first update after a create", () => {
  it("names only the fields whose values changed", async () => {
    const i = await newIntegration();
    const created = await scim(i, "POST", "/Users", {
      schemas: [USER, ENTERPRISE],
      userName: "ada@example.com",
      active: true,
      [ENTERPRISE]: { employeeNumber: "7", department: "R&D", costCenter: "42" },
    });
    expect(created.status).toBe(201);
    // The same extension, keys reordered, with one real change elsewhere.
    const put = await scim(i, "PUT", `/Users/${created.json.id}`, {
      schemas: [USER, ENTERPRISE],
      userName: "ada@example.com",
      active: true,
      title: "Engineer",
      [ENTERPRISE]: { costCenter: "42", department: "R&D", employeeNumber: "7" },
    });
    expect(put.status).toBe(200);
    const patch = await scim(i, "PATCH", `/Users/${created.json.id}`, {
      schemas: [PATCH],
      Operations: [{ op: "replace", value: { [ENTERPRISE]: { department: "R&D", costCenter: "42", employeeNumber: "7" } } }],
    });
    expect(patch.status).toBe(200);
    const events = (await admin("GET", `/${i.tenant}/audit-logs?resourceType=USER`)).json.results as { action: string; diff: Record<string, unknown> | null }[];
    const updates = events.filter((e) => e.action === "UPDATE");
    expect(updates.length).toBeGreaterThanOrEqual(1);
    // The PUT changed the title only; the PATCH changed nothing at all (no event, or an empty diff).
    const withDiff = updates.filter((e) => e.diff && Object.keys(e.diff).length > 0);
    expect(withDiff).toHaveLength(1);
    expect(Object.keys(withDiff[0]!.diff!)).toEqual(["title"]);
  });
});
