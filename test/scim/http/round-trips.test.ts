/**
 * D1 round trips per request, as the log line reports them: every read Entra makes is one round
 * trip including the token check (src/db/piggyback.ts), every write two (the integration's writer
 * checks the token in its first read's batch, then commits); the check still refuses before
 * anything read is answered. Counts are exact, so a regression shows as a failing number.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { passedToken } from "../../../src/scim/http/gate";
import { sha256Hex } from "../../../src/auth/tokens";
import { resultColumnNames } from "../../../src/db/piggyback";
import { admin, newIntegration, ORIGIN, type TestIntegration } from "../../support/helpers";

const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/** Sends a SCIM request and returns its status, body and the D1 counters of its log line. */
async function measured(i: TestIntegration, method: string, path: string, body?: unknown, token = i.token) {
  const lines: string[] = [];
  const original = console.log;
  console.log = (line: string) => lines.push(String(line));
  try {
    const res = await exports.default.fetch(`${ORIGIN}${i.scimPath}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "Content-Type": "application/scim+json" }) },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    const log = lines.map((l) => JSON.parse(l)).find((l) => l.level === "info" && l.method === method);
    return { status: res.status, text, json: text ? JSON.parse(text) : {}, d1: log.d1 as { roundTrips: number; queries: number; rowsRead: number } };
  } finally {
    console.log = original;
  }
}

async function world() {
  const i = await newIntegration();
  const user = await measured(i, "POST", "/Users", { userName: "ada@example.com", externalId: "ext-ada", emails: [{ value: "ada@work.example", type: "work", primary: true }] });
  const group = await measured(i, "POST", "/Groups", { displayName: "Engineering", members: [{ value: user.json.id }] });
  return { i, userId: user.json.id as string, groupId: group.json.id as string, created: user, group };
}

describe("round trips", () => {
  it("is one for every read Entra makes, the token check included", async () => {
    const { i, userId, groupId } = await world();
    const reads: [string, string][] = [
      ["Test Connection", `/Users?filter=${encodeURIComponent('userName eq "probe-0f3c"')}`],
      ["userName lookup", `/Users?filter=${encodeURIComponent('userName eq "ada@example.com"')}`],
      ["externalId lookup", `/Users?filter=${encodeURIComponent('externalId eq "ext-ada"')}`],
      ["work email lookup", `/Users?filter=${encodeURIComponent('emails[type eq "work"].value eq "ada@work.example"')}`],
      ["GET /Users/{id}", `/Users/${userId}`],
      ["GET /Groups/{id} without members", `/Groups/${groupId}?excludedAttributes=members`],
      ["GET /Groups/{id} with its members", `/Groups/${groupId}`],
      ["group lookup", `/Groups?filter=${encodeURIComponent('displayName eq "Engineering"')}&excludedAttributes=members`],
      ["ServiceProviderConfig", "/ServiceProviderConfig"],
    ];
    for (const [name, path] of reads) {
      const res = await measured(i, "GET", path);
      expect(res.status, name).toBe(200);
      expect(res.d1.roundTrips, name).toBe(1);
    }
  });

  it("reads only the rows a lookup needs: the token's, its integration's, and the one permission in question", async () => {
    const { i } = await world();
    // Authentication: the token, its integration, the binding and the permission's row (4); the
    // tenant's sizes the guard prices the list with (2: index and row); the user by its unique
    // key (2: index and row) with its one group (2: membership and group). D1 bills rows read.
    const hit = await measured(i, "GET", `/Users?filter=${encodeURIComponent('userName eq "ada@example.com"')}`);
    expect(hit.json.totalResults).toBe(1);
    expect(hit.d1.rowsRead).toBe(10);
    const miss = await measured(i, "GET", `/Users?filter=${encodeURIComponent('userName eq "probe-0f3c"')}`);
    expect(miss.json.totalResults).toBe(0);
    expect(miss.d1.rowsRead).toBe(6);
    // Discovery needs a valid token and no permission: the token and its integration.
    expect((await measured(i, "GET", "/ServiceProviderConfig")).d1.rowsRead).toBe(2);
  });

  it("is two for a user write: the writer's first read with the token check, then its commit", async () => {
    const { i, userId, created } = await world();
    // The first write of a token that has not passed the gate lately (in this isolate) is checked
    // by the Worker before it reaches the integration's writer: three.
    expect(created.d1.roundTrips).toBe(3);
    const second = await measured(i, "POST", "/Users", { userName: "grace@example.com", externalId: "ext-grace" });
    expect(second.status).toBe(201);
    expect(second.d1.roundTrips).toBe(2);
    const patched = await measured(i, "PATCH", `/Users/${userId}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "displayName", value: "Ada" }] });
    expect(patched.status).toBe(200);
    expect(patched.d1.roundTrips).toBe(2);
    // Entra's manager PATCH: whether the manager resolves is asked in the commit batch.
    const managed = await measured(i, "PATCH", `/Users/${userId}`, {
      schemas: [PATCH],
      Operations: [{ op: "Add", path: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", value: second.json.id }],
    });
    expect(managed.status).toBe(200);
    expect(managed.json["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].manager).toMatchObject({ value: second.json.id, $ref: expect.stringContaining(second.json.id) });
    expect(managed.d1.roundTrips).toBe(2);
    const deactivated = await measured(i, "PATCH", `/Users/${userId}`, { schemas: [PATCH], Operations: [{ op: "replace", value: { active: false } }] });
    expect(deactivated.status).toBe(200);
    expect(deactivated.d1.roundTrips).toBe(2);
    // A rename commits on the unique userName index alone; a taken name still answers 409.
    const renamed = await measured(i, "PATCH", `/Users/${userId}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "userName", value: "ada.l@example.com" }] });
    expect(renamed.status).toBe(200);
    expect(renamed.d1.roundTrips).toBe(2);
    const clash = await measured(i, "PATCH", `/Users/${userId}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "userName", value: "Grace@example.com" }] });
    expect(clash.status).toBe(409);
    expect(clash.json.scimType).toBe("uniqueness");
    // PUT reads the tenant's extension declarations with the user: still one read.
    const replaced = await measured(i, "PUT", `/Users/${userId}`, { userName: "ada.l@example.com", externalId: "ext-ada", displayName: "Ada L." });
    expect(replaced.status).toBe(200);
    expect(replaced.d1.roundTrips).toBe(2);
    const deleted = await measured(i, "DELETE", `/Users/${second.json.id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.d1.roundTrips).toBe(2);
  });

  it("is two for a group write, its answer included", async () => {
    const { i, userId, groupId, group } = await world();
    expect(group.status).toBe(201);
    expect(group.d1.roundTrips).toBe(2);
    expect(group.json.members).toEqual([{ value: userId, display: "ada@example.com", type: "User", $ref: expect.stringContaining(`/Users/${userId}`) }]);
    const other = await measured(i, "POST", "/Users", { userName: "grace@example.com" });
    const ops = (Operations: unknown[]) => ({ schemas: [PATCH], Operations });
    const writes: [string, unknown][] = [
      ["member add", ops([{ op: "add", path: "members", value: [{ value: other.json.id }] }])],
      ["member remove", ops([{ op: "remove", path: `members[value eq "${other.json.id}"]` }])],
      ["rename", ops([{ op: "replace", path: "displayName", value: "Platform" }])],
    ];
    for (const [name, body] of writes) {
      const res = await measured(i, "PATCH", `/Groups/${groupId}`, body);
      expect(res.status, name).toBe(204);
      expect(res.d1.roundTrips, name).toBe(2);
    }
    const deleted = await measured(i, "DELETE", `/Groups/${groupId}`);
    expect(deleted.status).toBe(204);
    expect(deleted.d1.roundTrips).toBe(2);
  });

  it("refuses a write whose token stopped holding in the writer's own check, with nothing changed", async () => {
    const { i, userId } = await world();
    await env.DB.prepare("update api_tokens set expires_at = 1 where service_account_id = ?").bind(i.serviceAccountId).run();
    const res = await measured(i, "PATCH", `/Users/${userId}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "displayName", value: "Mallory" }] });
    expect(res.status).toBe(401);
    expect(res.text).not.toContain("ada@example.com");
    const row = await env.DB.prepare("select profile from tenant_users where user_id = ?").bind(userId).first<{ profile: string }>();
    expect(row?.profile).not.toContain("Mallory");
    // The writer's refusal forgets the token: the next write with it is refused by the Worker,
    // without reaching the writer (no row of the user is read).
    expect(passedToken(i.tenant, i.id, await sha256Hex(i.token))).toBeUndefined();
    const again = await measured(i, "PATCH", `/Users/${userId}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "displayName", value: "Mallory" }] });
    expect(again.status).toBe(401);
    expect(again.d1).toMatchObject({ roundTrips: 1, rowsRead: 4 });
    // A token that never passed is checked by the Worker: one round trip, 401, nothing read.
    const stranger = await measured(i, "POST", "/Users", { userName: "eve@example.com" }, "not-a-token");
    expect(stranger.status).toBe(401);
    expect(stranger.d1).toMatchObject({ roundTrips: 1, rowsRead: 0 });
  });

  it("refuses a bad token, another integration's token and a missing permission before answering what was read", async () => {
    const { i } = await world();
    const lookup = `/Users?filter=${encodeURIComponent('userName eq "ada@example.com"')}`;
    const bad = await measured(i, "GET", lookup, undefined, "not-a-token");
    expect(bad.status).toBe(401);
    expect(bad.text).not.toContain("ada@example.com");
    const other = await newIntegration();
    const foreign = await measured(i, "GET", lookup, undefined, other.token);
    expect(foreign.status).toBe(401);
    expect(foreign.text).not.toContain("ada@example.com");
    // SCIMProvisioner without USERS:READ: 403, nothing returned.
    const role = await admin("GET", `/${i.tenant}/roles/${i.roleId}`);
    const permissions = { ...role.json.permissions, USERS: ["CREATE", "UPDATE"] };
    expect((await admin("PATCH", `/${i.tenant}/roles/${i.roleId}`, { permissions })).status).toBe(200);
    const denied = await measured(i, "GET", lookup);
    expect(denied.status).toBe(403);
    expect(denied.text).not.toContain("ada@example.com");
    // Discovery, which reads nothing, still checks the token.
    expect((await measured(i, "GET", "/ServiceProviderConfig", undefined, "not-a-token")).status).toBe(401);
    // A malformed write from a bad token hears 401, not what was wrong with its body.
    expect((await measured(i, "POST", "/Users", "{broken", "not-a-token")).status).toBe(401);
    expect((await measured(i, "POST", "/Users", "{broken")).status).toBe(400);
  });

  it("keeps refusing after an expired token's first query, and never counts its rows", async () => {
    const { i } = await world();
    await env.DB.prepare("update api_tokens set expires_at = 1 where service_account_id = ?").bind(i.serviceAccountId).run();
    const res = await measured(i, "GET", "/Users");
    expect(res.status).toBe(401);
  });
});

describe("resultColumnNames", () => {
  it("names a select's result columns, so a batch never merges rows whose names collide", () => {
    expect(resultColumnNames('select "users"."id", "tenant_users"."user_name", (select count(*) from x where a = 1, 2) as "n" from "users"')).toEqual(["id", "user_name", "n"]);
    expect(resultColumnNames('select "a"."id", "b"."id" from "a" join "b"')).toEqual(["id", "id"]);
    expect(resultColumnNames("select t.id as token_id, t.token_hash from api_tokens t where x = 'from'")).toEqual(["token_id", "token_hash"]);
    expect(resultColumnNames("insert into x values (1)")).toBeUndefined();
  });
});
