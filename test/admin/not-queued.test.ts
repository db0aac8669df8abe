/**
 * Admin changes of an integration are not queued behind its SCIM writes (issue 20, point 3): with
 * the integration's writer stuck on a write, rotating, disabling, removing a permission and
 * deleting still answer, and the old authority is refused on the very next request. The writer
 * is made to hang forever: a change that waited for it would never answer (the test would time out).
 */
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { createDb } from "../../src/db/client";
import { apiTokens, tenantUsers } from "../../src/db/schema";
import { rotateIntegrationToken } from "../../src/iam/integrations";
import { pausingDb } from "../support/pausing-db";
import { ADMIN_TOKEN, admin, newIntegration, ORIGIN, scim } from "../support/helpers";

/** A writer namespace whose every call never answers: an integration's writer stuck on a write. */
const stuck = {
  idFromName: (name: string) => ({ name }),
  get: () => new Proxy({}, { get: () => () => new Promise(() => undefined) }),
};
const stuckEnv = { ...env, INTEGRATION_WRITER: stuck } as unknown as Env;

/** A request through the Worker whose integration writers are stuck. */
async function withStuckWriter(method: string, path: string, token: string, body?: unknown) {
  const init: RequestInit = { method, headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) } };
  if (body !== undefined) init.body = JSON.stringify(body);
  return worker.fetch(new Request(`${ORIGIN}${path}`, init), stuckEnv, createExecutionContext());
}

const db = createDb(env.DB);

describe("admin changes while the integration's writer is busy", () => {
  it("rotate, disable, unbind and delete answer without the writer; the old authority is refused next", async () => {
    const i = await newIntegration();
    // A SCIM write now waits in the stuck writer, for ever.
    void withStuckWriter("POST", `${i.scimPath}/Users`, i.token, { userName: "waiting@example.com" });

    const rotated = await withStuckWriter("POST", `/api/v1/${i.tenant}/integrations/${i.id}/token`, ADMIN_TOKEN);
    expect(rotated.status).toBe(200);
    const fresh = ((await rotated.json()) as { secretToken: string }).secretToken;
    // The old token: a read and a new write are refused, and nothing is written.
    expect((await scim(i, "GET", "/Users")).status).toBe(401);
    expect((await scim(i, "POST", "/Users", { userName: "after-rotation@example.com" })).status).toBe(401);
    expect(await db.select().from(tenantUsers).where(eq(tenantUsers.tenantId, i.tenant))).toEqual([]);
    const renewed = { ...i, token: fresh };
    expect((await scim(renewed, "GET", "/Users")).status).toBe(200);

    expect((await withStuckWriter("PATCH", `/api/v1/${i.tenant}/integrations/${i.id}`, ADMIN_TOKEN, { enabled: false })).status).toBe(200);
    expect((await scim(renewed, "GET", "/Users")).status).toBe(403);
    expect((await withStuckWriter("PATCH", `/api/v1/${i.tenant}/integrations/${i.id}`, ADMIN_TOKEN, { enabled: true })).status).toBe(200);
    expect((await scim(renewed, "GET", "/Users")).status).toBe(200);

    const removed = await withStuckWriter("PATCH", `/api/v1/${i.tenant}/roles/${i.roleId}`, ADMIN_TOKEN, {
      permissions: { GROUPS: ["CREATE", "READ", "UPDATE", "DELETE"], USERS: ["CREATE", "UPDATE"], BINDINGS: ["CREATE", "READ", "UPDATE", "DELETE"] },
    });
    expect(removed.status).toBe(200);
    const read = await scim(renewed, "GET", "/Users");
    expect(read.status).toBe(403);
    expect(read.json.detail).toContain("USERS:READ");

    expect((await withStuckWriter("DELETE", `/api/v1/${i.tenant}/integrations/${i.id}`, ADMIN_TOKEN)).status).toBe(204);
    expect((await scim(renewed, "GET", "/Groups")).status).toBe(401);
    expect((await admin("GET", `/${i.tenant}/integrations/${i.id}`)).status).toBe(404);
  });

  it("a rotation that loses the race to the integration's delete answers not found, with no token left behind", async () => {
    const i = await newIntegration();
    const paused = pausingDb(db);
    const rotation = rotateIntegrationToken(paused.db, { tenantId: i.tenant, id: i.id, actor: { type: "ADMIN" } });
    await paused.reached; // read the integration, about to commit the new token
    expect((await admin("DELETE", `/${i.tenant}/integrations/${i.id}`)).status).toBe(204);
    paused.release();
    expect(await rotation).toEqual({ kind: "not_found" });
    expect(await db.select().from(apiTokens).where(eq(apiTokens.serviceAccountId, i.serviceAccountId))).toEqual([]);
  });
});
