/** The PATCH engine on documents, without storage: normalization and application. */
import { describe, expect, it } from "vitest";
import { ScimError } from "../../../src/scim/model/errors";
import { applyPatch } from "../../../src/scim/model/patch/apply";
import { splitMemberOperations } from "../../../src/scim/model/patch/members";
import { normalizePatch } from "../../../src/scim/model/patch/normalize";
import { RESOURCE_TYPES } from "../../../src/scim/model/schemas";

const USER = RESOURCE_TYPES.find((t) => t.id === "User")!;
const GROUP = RESOURCE_TYPES.find((t) => t.id === "Group")!;
const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

const base = () => ({
  externalId: "ext-1",
  userName: "bjensen@example.com",
  name: { givenName: "Barbara", familyName: "Jensen" },
  emails: [
    { value: "bjensen@example.com", type: "work", primary: true },
    { value: "babs@jensen.org", type: "home" },
  ],
  phoneNumbers: [{ value: "555-555-8377", type: "work" }],
  active: true,
  [ENTERPRISE]: { employeeNumber: "701984", manager: { value: "boss-id" } },
});

function run(...Operations: unknown[]) {
  return applyPatch(USER, base(), normalizePatch(USER, { schemas: [PATCH], Operations }));
}

function rejects(body: unknown, scimType: string, detail?: RegExp, doc = base()) {
  try {
    applyPatch(USER, doc, normalizePatch(USER, body));
  } catch (error) {
    expect(error).toBeInstanceOf(ScimError);
    expect((error as ScimError).status).toBe(400);
    expect((error as ScimError).scimType).toBe(scimType);
    if (detail) expect((error as ScimError).detail).toMatch(detail);
    return;
  }
  throw new Error("expected a rejection");
}

describe("PATCH normalization", () => {
  it("accepts op names and keys in any case", () => {
    for (const op of ["add", "Add", "ADD", "replace", "Replace", "remove", "Remove"]) {
      const ops = normalizePatch(USER, { schemas: [PATCH], operations: [{ OP: op, Path: "title", value: "x" }] });
      expect(ops[0]!.op).toBe(op.toLowerCase());
    }
  });

  it("expands a path-less value into one operation per key (dotted and URN keys)", () => {
    const ops = normalizePatch(USER, {
      schemas: [PATCH],
      Operations: [{ op: "replace", value: { "name.givenName": "B", [`${ENTERPRISE}:department`]: "R&D", id: "ignored", meta: {} } }],
    });
    expect(ops.map((o) => o.path!.text)).toEqual(["name.givenName", `${ENTERPRISE}:department`]);
  });

  it.each([
    [{}, "invalidSyntax", /Operations/],
    [{ schemas: [PATCH], Operations: [] }, "invalidSyntax", /non-empty/],
    [{ schemas: ["urn:wrong"], Operations: [{ op: "add", path: "title", value: "x" }] }, "invalidSyntax", /PatchOp/],
    [{ schemas: [PATCH], Operations: [{ op: "merge", path: "title", value: "x" }] }, "invalidSyntax", /add, replace or remove/],
    [{ schemas: [PATCH], Operations: [{ op: "remove" }] }, "noTarget", /needs a path/],
    [{ schemas: [PATCH], Operations: [{ op: "add", value: "x" }] }, "invalidValue", /object value/],
    [{ schemas: [PATCH], Operations: [{ op: "add", path: "nope", value: "x" }] }, "invalidPath", /not an attribute/],
    [{ schemas: [PATCH], Operations: [{ op: "add", path: "name.nope", value: "x" }] }, "invalidPath", /no sub-attribute/],
    [{ schemas: [PATCH], Operations: [{ op: "add", path: 'urn:example:other:attr[value eq "x"]', value: "x" }] }, "invalidPath", /declared schema extension/],
    [{ schemas: [PATCH], Operations: [{ op: "replace", path: "id", value: "x" }] }, "mutability", /read-only/],
    [{ schemas: [PATCH], Operations: [{ op: "replace", path: "meta.created", value: "x" }] }, "mutability", /read-only/],
    [{ schemas: [PATCH], Operations: [{ op: "add", path: "groups", value: [{ value: "g" }] }] }, "mutability", /read-only/],
    [{ schemas: [PATCH], Operations: [{ op: "replace", value: { groups: [] } }] }, "mutability", /read-only/],
    [{ schemas: [PATCH], Operations: [{ op: "add", path: 'emails[type eq "work"', value: "x" }] }, "invalidPath", /not closed/],
    [{ schemas: [PATCH], Operations: [{ op: "add", path: 'emails[type eq]', value: "x" }] }, "invalidFilter", /needs a value/],
    [{ schemas: [PATCH], Operations: [{ op: "add", path: 'title[value eq "x"]', value: "x" }] }, "invalidPath", /not multi-valued/],
  ])("rejects %j", (body, scimType, detail) => rejects(body, scimType, detail));
});

describe("PATCH application", () => {
  it("add and replace of a singular attribute are the same", () => {
    expect(run({ op: "add", path: "title", value: "CEO" }).title).toBe("CEO");
    expect(run({ op: "replace", path: "title", value: "CEO" }).title).toBe("CEO");
    expect(run({ op: "add", path: "userName", value: "new@x" }).userName).toBe("new@x");
  });

  it("merges sub-attributes into a complex attribute on add and replace", () => {
    expect(run({ op: "replace", path: "name", value: { givenName: "Babs" } }).name).toEqual({ givenName: "Babs", familyName: "Jensen" });
    expect(run({ op: "add", path: "name.middleName", value: "J" }).name).toEqual({ givenName: "Barbara", familyName: "Jensen", middleName: "J" });
  });

  it("coerces Entra's string booleans and rejects anything else", () => {
    expect(run({ op: "Replace", path: "active", value: "False" }).active).toBe(false);
    expect(run({ op: "Replace", path: "active", value: "TRUE" }).active).toBe(true);
    expect(run({ op: "replace", value: { active: "false" } }).active).toBe(false);
    rejects({ schemas: [PATCH], Operations: [{ op: "replace", path: "active", value: "no" }] }, "invalidValue", /boolean/);
    rejects({ schemas: [PATCH], Operations: [{ op: "replace", path: "emails[type eq \"work\"].primary", value: "yes" }] }, "invalidValue", /boolean/);
  });

  it("leaves active unassigned on remove (or replace with null), which is inactive: false", () => {
    for (const path of ["active", "Active", "urn:ietf:params:scim:schemas:core:2.0:User:active"]) {
      expect(run({ op: "remove", path }).active, path).toBe(false);
      expect(run({ op: "Remove", path, value: true }).active, path).toBe(false);
      expect(run({ op: "replace", path, value: null }).active, path).toBe(false);
    }
    expect(run({ op: "replace", value: { active: null } }).active).toBe(false);
    // Only the User's core `active`: a later operation still decides.
    expect(run({ op: "remove", path: "active" }, { op: "replace", path: "active", value: true }).active).toBe(true);
    expect(normalizePatch(USER, { schemas: [PATCH], Operations: [{ op: "remove", path: "active" }] })).toEqual([
      { op: "replace", path: expect.objectContaining({ text: "active" }), value: false },
    ]);
  });

  it("ignores an extension's own schemas key inside its value", () => {
    const value = { schemas: [ENTERPRISE], department: "R&D" };
    for (const op of ["add", "replace"]) {
      const withPath = run({ op, path: ENTERPRISE, value });
      expect(withPath[ENTERPRISE]).toEqual({ employeeNumber: "701984", manager: { value: "boss-id" }, department: "R&D" });
      const pathless = run({ op, value: { [ENTERPRISE]: { SCHEMAS: [ENTERPRISE], department: "R&D" } } });
      expect(pathless[ENTERPRISE]).toEqual({ employeeNumber: "701984", manager: { value: "boss-id" }, department: "R&D" });
    }
    // Any other unknown key is still refused.
    rejects({ schemas: [PATCH], Operations: [{ op: "add", path: ENTERPRISE, value: { schemas: [ENTERPRISE], shoeSize: 9 } }] }, "invalidPath", /shoeSize/);
  });

  it("adds to multi-valued attributes without duplicates, and replace replaces them", () => {
    const added = run({ op: "add", path: "emails", value: [{ value: "new@x.org", type: "other" }, { value: "BJENSEN@example.com", type: "work" }] });
    expect(added.emails).toHaveLength(3);
    const replaced = run({ op: "replace", path: "emails", value: [{ value: "only@x.org" }] });
    expect(replaced.emails).toEqual([{ value: "only@x.org" }]);
  });

  it("keeps one primary when several claim it", () => {
    const doc = run({ op: "add", path: "emails", value: [{ value: "p2@x.org", primary: true }] });
    expect((doc.emails as { primary?: boolean }[]).filter((e) => e.primary)).toHaveLength(1);
  });

  it("works on value-filtered paths, and creates the element when none matches", () => {
    expect(run({ op: "replace", path: 'emails[type eq "work"].value', value: "w@x.org" }).emails).toEqual([
      { value: "w@x.org", type: "work", primary: true },
      { value: "babs@jensen.org", type: "home" },
    ]);
    expect(run({ op: "add", path: 'phoneNumbers[type eq "mobile"].value', value: "555-1" }).phoneNumbers).toEqual([
      { value: "555-555-8377", type: "work" },
      { value: "555-1", type: "mobile" },
    ]);
    expect(run({ op: "replace", path: 'addresses[type eq "work"].locality', value: "Hollywood" }).addresses).toEqual([
      { type: "work", locality: "Hollywood" },
    ]);
    expect(run({ op: "replace", path: 'emails[type eq "home"]', value: { value: "h@x.org", type: "home" } }).emails).toEqual([
      { value: "bjensen@example.com", type: "work", primary: true },
      { value: "h@x.org", type: "home" },
    ]);
    rejects(
      { schemas: [PATCH], Operations: [{ op: "replace", path: 'emails[value co "zzz"].type', value: "x" }] },
      "noTarget",
      /matches no value/,
    );
  });

  it("removes attributes, sub-attributes, filtered elements and listed values", () => {
    expect(run({ op: "remove", path: "name.givenName" }).name).toEqual({ familyName: "Jensen" });
    expect(run({ op: "remove", path: "phoneNumbers" }).phoneNumbers).toBeUndefined();
    expect(run({ op: "remove", path: 'emails[type eq "home"]' }).emails).toEqual([{ value: "bjensen@example.com", type: "work", primary: true }]);
    expect(run({ op: "Remove", path: "emails", value: [{ value: "babs@jensen.org" }] }).emails).toEqual([
      { value: "bjensen@example.com", type: "work", primary: true },
    ]);
    expect(run({ op: "remove", path: 'emails[type eq "work"].primary' }).emails).toEqual([
      { value: "bjensen@example.com", type: "work" },
      { value: "babs@jensen.org", type: "home" },
    ]);
    // Removing what is not there is not an error: Entra replays removals.
    expect(run({ op: "remove", path: 'emails[type eq "other"]' }).emails).toHaveLength(2);
    expect(run({ op: "remove", path: "title" }).title).toBeUndefined();
  });

  it("resolves URN paths by the longest schema prefix and unqualified extension attributes", () => {
    expect(run({ op: "add", path: `${ENTERPRISE}:department`, value: "R&D" })[ENTERPRISE]).toMatchObject({ department: "R&D" });
    expect(run({ op: "replace", path: "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName", value: "J" }).name).toMatchObject({ familyName: "J" });
    expect(run({ op: "replace", path: "manager", value: "other-boss" })[ENTERPRISE]).toMatchObject({ manager: { value: "other-boss" } });
    expect(run({ op: "add", path: `${ENTERPRISE}:manager`, value: [{ $ref: null, value: "b2" }] })[ENTERPRISE]).toMatchObject({ manager: { value: "b2" } });
    expect(run({ op: "remove", path: ENTERPRISE })[ENTERPRISE]).toBeUndefined();
    expect(run({ op: "add", path: ENTERPRISE, value: { costCenter: "42" } })[ENTERPRISE]).toEqual({
      employeeNumber: "701984",
      manager: { value: "boss-id" },
      costCenter: "42",
    });
    expect(run({ op: "replace", value: { [ENTERPRISE]: { division: "North" } } })[ENTERPRISE]).toMatchObject({ division: "North" });
  });

  it("never stores literal dotted or URN keys", () => {
    const doc = run({ op: "replace", value: { "name.givenName": "B", [`${ENTERPRISE}:employeeNumber`]: "9" } });
    expect(Object.keys(doc).filter((k) => k.includes(".") && k !== ENTERPRISE)).toEqual([]);
    expect(Object.keys(doc[ENTERPRISE] as object)).not.toContain(`${ENTERPRISE}:employeeNumber`);
    expect(doc).toMatchObject({ name: { givenName: "B" }, [ENTERPRISE]: { employeeNumber: "9" } });
  });

  it("refuses to remove a required attribute, and leaves the input untouched", () => {
    const doc = base();
    rejects({ schemas: [PATCH], Operations: [{ op: "remove", path: "userName" }] }, "invalidValue", /userName.*required/, doc);
    expect(doc).toEqual(base());
  });

  it("applies operations in order, atomically", () => {
    const doc = run({ op: "add", path: "title", value: "A" }, { op: "replace", path: "title", value: "B" }, { op: "remove", path: "nickName" });
    expect(doc.title).toBe("B");
    const before = base();
    rejects({ schemas: [PATCH], Operations: [{ op: "add", path: "title", value: "A" }, { op: "replace", path: "active", value: "x" }] }, "invalidValue", undefined, before);
    expect((before as Record<string, unknown>).title).toBeUndefined();
  });
});

describe("group member operations", () => {
  const split = (...Operations: unknown[]) => splitMemberOperations(normalizePatch(GROUP, { schemas: [PATCH], Operations }));

  it("turns Entra's member operations into row changes", () => {
    expect(split({ op: "Add", path: "members", value: [{ $ref: null, value: "u1" }, { value: "u2" }] }).members).toEqual([
      { kind: "add", userIds: ["u1", "u2"] },
    ]);
    expect(split({ op: "Remove", path: "members", value: [{ value: "u1" }] }).members).toEqual([{ kind: "remove", userIds: ["u1"] }]);
    // By id, one or several joined by `or`: removed by key, not walked as a filter.
    expect(split({ op: "remove", path: 'members[value eq "u1"]' }).members).toEqual([{ kind: "remove", userIds: ["u1"] }]);
    expect(split({ op: "remove", path: 'members[Value eq "u1" or value eq "u2"]' }).members).toEqual([{ kind: "remove", userIds: ["u1", "u2"] }]);
    expect(split({ op: "remove", path: 'members[display eq "Ada"]' }).members).toMatchObject([{ kind: "removeWhere" }]);
    expect(split({ op: "remove", path: 'members[value eq "u1" or display eq "Ada"]' }).members).toMatchObject([{ kind: "removeWhere" }]);
    expect(split({ op: "remove", path: "members" }).members).toEqual([{ kind: "removeAll" }]);
    expect(split({ op: "replace", path: "members", value: [{ value: "u3" }] }).members).toEqual([{ kind: "replace", userIds: ["u3"] }]);
    const okta = split({ op: "replace", value: { id: "g", displayName: "New", members: [{ value: "u9", display: "x" }] } });
    expect(okta.members).toEqual([{ kind: "replace", userIds: ["u9"] }]);
    expect(okta.attributes.map((a) => a.path!.text)).toEqual(["displayName"]);
  });

  it("rejects members without a value", () => {
    expect(() => split({ op: "add", path: "members", value: [{ display: "x" }] })).toThrow(/value/);
    expect(() => split({ op: "add", path: "members.value", value: "x" })).toThrow(/members/);
  });
});

describe("member change coalescing", () => {
  it("merges runs of adds and of removes, keeping order between runs", async () => {
    const { coalesceMemberChanges } = await import("../../../src/iam/member-changes");
    expect(
      coalesceMemberChanges([
        { kind: "add", userIds: ["a"] },
        { kind: "add", userIds: ["b"] },
        { kind: "remove", userIds: ["a"] },
        { kind: "remove", userIds: ["c"] },
        { kind: "removeAll" },
        { kind: "add", userIds: ["d"] },
      ]),
    ).toEqual([
      { kind: "add", userIds: ["a", "b"] },
      { kind: "remove", userIds: ["a", "c"] },
      { kind: "removeAll" },
      { kind: "add", userIds: ["d"] },
    ]);
  });
});
