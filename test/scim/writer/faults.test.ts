/**
 * Injected faults: D1 failing in the middle of a write, D1 failing on reads, an overloaded
 * writer, and writers evicted or aborted with writes queued. Nothing is half-applied, every
 * failure reaches its caller as a 5xx or 429 with Retry-After, and the next request succeeds.
 */
import { abortAllDurableObjects, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client";
import { users } from "../../../src/db/schema";
import { sha256Hex } from "../../../src/auth/tokens";
import { findCredential } from "../../../src/iam/credentials";
import { IntegrationWriter, MAX_PENDING_WRITES } from "../../../src/scim/writer/integration-writer";
import { fetchWithEnv, newIntegration, ORIGIN, scim, type TestIntegration } from "../../support/helpers";

const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const db = createDb(env.DB);

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * A D1 binding whose next `failures` batches run for real with a failing statement appended (so
 * D1 rolls the whole batch back, as when it fails midway), then report a transient error.
 */
function failingBatches(real: D1Database, failures: number, gate?: Promise<void>): D1Database {
  let left = failures;
  return new Proxy(real, {
    get(target, prop) {
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          if (gate) await gate;
          if (left > 0) {
            left--;
            await target.batch([...statements, target.prepare("select json('not json')")]).catch(() => undefined);
            throw new Error("D1_ERROR: Network connection lost.");
          }
          return target.batch(statements);
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function stubOf(i: TestIntegration) {
  return env.INTEGRATION_WRITER.get(env.INTEGRATION_WRITER.idFromName(i.id));
}

const ctx = (i: TestIntegration) => ({ tenantId: i.tenant, integrationId: i.id, actor: { type: "SERVICE_ACCOUNT" as const, id: i.serviceAccountId } });

describe("D1 failing in the middle of a write", () => {
  it("leaves nothing half-applied, answers 503 with a retry delay, and the same request then succeeds", async () => {
    const i = await newIntegration();
    await runInDurableObject(stubOf(i), async (_instance, state) => {
      const writer = new IntegrationWriter(state, { ...env, DB: failingBatches(env.DB, 1) });
      const body = { userName: "fault-create@example.com", emails: [{ value: "fault-create@example.com" }] };
      const first = await writer.createUser({ ...ctx(i), body });
      expect(first).toMatchObject({ kind: "error", status: 503, retryAfter: 1 });
      expect(await db.select().from(users).where(eq(users.userNameKey, "fault-create@example.com"))).toEqual([]);
      const second = await writer.createUser({ ...ctx(i), body });
      expect(second.kind).toBe("ok");
    });
  });

  it("retries an idempotent write by itself", async () => {
    const i = await newIntegration();
    const user = (await scim(i, "POST", "/Users", { userName: "fault-patch@example.com" })).json;
    await runInDurableObject(stubOf(i), async (_instance, state) => {
      const writer = new IntegrationWriter(state, { ...env, DB: failingBatches(env.DB, 2) });
      const result = await writer.patchUser({
        ...ctx(i),
        id: user.id,
        body: { schemas: [PATCH], Operations: [{ op: "replace", path: "title", value: "after faults" }] },
      });
      expect(result.kind).toBe("ok");
    });
    expect((await scim(i, "GET", `/Users/${user.id}`)).json.title).toBe("after faults");
  });

  it("checks a presented token again after a transient failure kept its first check from running", async () => {
    const i = await newIntegration();
    const user = (await scim(i, "POST", "/Users", { userName: "fault-token@example.com" })).json;
    const token = await findCredential(db, await sha256Hex(i.token));
    // The first two calls fail: the batch carrying the token's check, then the check sent alone.
    let left = 2;
    const flaky = (real: D1Database): D1Database => {
      const fail = () => {
        if (left > 0) {
          left--;
          throw new Error("D1_ERROR: Network connection lost.");
        }
      };
      return new Proxy(real, {
        get(target, prop) {
          if (prop === "batch") return async (statements: D1PreparedStatement[]) => (fail(), target.batch(statements));
          if (prop === "prepare") {
            return (query: string) =>
              new Proxy(target.prepare(query), {
                get(st, p) {
                  if (p === "bind") return (...values: unknown[]) => {
                    const bound = st.bind(...values);
                    return new Proxy(bound, {
                      get(b, q) {
                        const v = Reflect.get(b, q);
                        if (q === "all" || q === "first" || q === "raw" || q === "run") return async (...a: unknown[]) => (fail(), (v as (...x: unknown[]) => unknown).apply(b, a));
                        return typeof v === "function" ? v.bind(b) : v;
                      },
                    });
                  };
                  const v = Reflect.get(st, p);
                  return typeof v === "function" ? v.bind(st) : v;
                },
              });
          }
          const value = Reflect.get(target, prop);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
    };
    await runInDurableObject(stubOf(i), async (_instance, state) => {
      const writer = new IntegrationWriter(state, { ...env, DB: flaky(env.DB) });
      const permissions = ["USERS:UPDATE"];
      const result = await writer.patchUser({
        ...ctx(i),
        authority: { tokenId: token!.tokenId, integrationId: i.id, serviceAccountId: i.serviceAccountId, permissions },
        presented: { tokenHash: token!.tokenHash, permissions },
        id: user.id,
        body: { schemas: [PATCH], Operations: [{ op: "replace", path: "title", value: "after a blip" }] },
      });
      // Not a 401 from a check that never ran, nor a 503 from a verdict kept failed: retried, checked, applied.
      expect(result).toMatchObject({ kind: "ok", tokenChecked: true });
      expect(left).toBe(0);
    });
    expect((await scim(i, "GET", `/Users/${user.id}`)).json.title).toBe("after a blip");
  });

  it("maps a transient failure on a read to 503 with Retry-After, in the route's format", async () => {
    const i = await newIntegration();
    const failing = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "prepare") {
          return () => {
            throw new Error("D1_ERROR: D1 DB is overloaded. Too many requests queued.");
          };
        }
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const response = await fetchWithEnv(new Request(`${ORIGIN}${i.scimPath}/Users`, { headers: { Authorization: `Bearer ${i.token}` } }), { DB: failing });
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    expect(((await response.json()) as { schemas: string[] }).schemas).toEqual(["urn:ietf:params:scim:api:messages:2.0:Error"]);
  });
});

describe("errors a Durable Object marks retryable", () => {
  it("become 503 with Retry-After in the route's format, not 500", async () => {
    const { Hono } = await import("hono");
    const { renderError } = await import("../../../src/errors");
    const probe = new Hono()
      .get("/api/v1/t/integrations/x/scim/v2/Users", () => {
        throw Object.assign(new Error("Durable Object reset because its code was updated."), { retryable: true });
      })
      .get("/api/v1/t/roles", () => {
        throw Object.assign(new Error("Durable Object is overloaded."), { overloaded: true });
      })
      .onError(renderError);
    const scimRes = await probe.request("/api/v1/t/integrations/x/scim/v2/Users");
    expect(scimRes.status).toBe(503);
    expect(scimRes.headers.get("retry-after")).toBe("1");
    expect(scimRes.headers.get("content-type")).toContain("application/scim+json");
    const adminRes = await probe.request("/api/v1/t/roles");
    expect(adminRes.status).toBe(503);
    expect(adminRes.headers.get("content-type")).toContain("application/problem+json");
  });
});

describe("an overloaded writer", () => {
  it("refuses writes past its queue bound with 429 and Retry-After instead of letting them time out", async () => {
    const i = await newIntegration();
    const user = (await scim(i, "POST", "/Users", { userName: "overload@example.com" })).json;
    await runInDurableObject(stubOf(i), async (_instance, state) => {
      const gate = deferred();
      const writer = new IntegrationWriter(state, { ...env, DB: failingBatches(env.DB, 0, gate.promise) });
      const write = (n: number) =>
        writer.patchUser({ ...ctx(i), id: user.id, body: { schemas: [PATCH], Operations: [{ op: "add", path: "emails", value: [{ value: `q${n}@example.com` }] }] } });
      const queued = Array.from({ length: MAX_PENDING_WRITES }, (_, n) => write(n));
      const refused = await write(MAX_PENDING_WRITES);
      expect(refused).toMatchObject({ kind: "error", status: 429, retryAfter: 1 });
      gate.resolve();
      const results = await Promise.all(queued);
      expect(results.every((r) => r.kind === "ok")).toBe(true);
    });
    const emails = (await scim(i, "GET", `/Users/${user.id}`)).json.emails as unknown[];
    expect(emails).toHaveLength(MAX_PENDING_WRITES);
  });

  it("answers a flood over HTTP with 429 SCIM errors carrying Retry-After, and applies exactly the accepted writes", async () => {
    const i = await newIntegration();
    const user = (await scim(i, "POST", "/Users", { userName: "flood@example.com" })).json;
    const n = 300;
    const results = await Promise.all(
      Array.from({ length: n }, (_, k) =>
        scim(i, "PATCH", `/Users/${user.id}`, { schemas: [PATCH], Operations: [{ op: "add", path: "emails", value: [{ value: `f${k}@example.com` }] }] }),
      ),
    );
    const refused = results.filter((r) => r.status === 429);
    console.log(`flood: ${n - refused.length} accepted, ${refused.length} refused with 429`);
    for (const r of refused) {
      expect(r.headers.get("retry-after")).toBe("1");
      expect(r.json.schemas).toEqual(["urn:ietf:params:scim:api:messages:2.0:Error"]);
    }
    expect(results.every((r) => r.status === 200 || r.status === 429)).toBe(true);
    const emails = ((await scim(i, "GET", `/Users/${user.id}`)).json.emails as { value: string }[]).map((e) => e.value);
    const accepted = results.flatMap((r, k) => (r.status === 200 ? [`f${k}@example.com`] : []));
    expect(emails.sort()).toEqual(accepted.sort());
  });
});

describe("writers evicted or aborted with writes queued", () => {
  async function burst(i: TestIntegration, groupId: string, userIds: string[]) {
    return Promise.all(
      userIds.map((id) => scim(i, "PATCH", `/Groups/${groupId}`, { schemas: [PATCH], Operations: [{ op: "Add", path: "members", value: [{ value: id }] }] })),
    );
  }

  async function setup() {
    const i = await newIntegration();
    const created = await Promise.all(Array.from({ length: 12 }, (_, n) => scim(i, "POST", "/Users", { userName: `evict-${n}@example.com` })));
    const group = (await scim(i, "POST", "/Groups", { displayName: "Evict" })).json;
    return { i, ids: created.map((r) => r.json.id as string), groupId: group.id as string };
  }

  it("eviction drains queued writes: every one commits and answers", async () => {
    const { i, ids, groupId } = await setup();
    const pending = burst(i, groupId, ids);
    await evictDurableObject(stubOf(i)).catch(() => undefined);
    const results = await pending;
    const members = ((await scim(i, "GET", `/Groups/${groupId}`)).json.members as { value: string }[]).map((m) => m.value);
    results.forEach((res, n) => {
      if (res.status === 204) expect(members).toContain(ids[n]);
      else expect(res.status).toBeGreaterThanOrEqual(500);
    });
    expect(results.filter((r) => r.status === 204).length).toBeGreaterThan(0);
  });

  it("an abort fails the writes it cuts off visibly, loses none silently and applies none twice", async () => {
    const i = await newIntegration();
    const user = (await scim(i, "POST", "/Users", { userName: "abort@example.com" })).json;
    // Twenty writes of four new emails each. The abort comes once the writer has answered one of
    // them: however many it then cuts off (none to all), every assertion below holds, so the
    // outcome never depends on timing.
    const batch = (k: number) => Array.from({ length: 4 }, (_, e) => ({ value: `a${k}-${e}@example.com` }));
    const writes = Array.from({ length: 20 }, (_, k) =>
      scim(i, "PATCH", `/Users/${user.id}`, { schemas: [PATCH], Operations: [{ op: "add", path: "emails", value: batch(k) }] }),
    );
    await Promise.race(writes);
    await abortAllDurableObjects();
    const results = await Promise.all(writes);
    const committed = results.flatMap((r, k) => (r.status === 200 ? [k] : []));
    console.log(`abort: ${committed.length} committed, ${results.length - committed.length} failed visibly`);
    const emails = ((await scim(i, "GET", `/Users/${user.id}`)).json.emails ?? []) as { value: string }[];
    const values = emails.map((e) => e.value);
    expect(new Set(values).size).toBe(values.length);
    for (const [k, res] of results.entries()) {
      const applied = values.includes(`a${k}-0@example.com`);
      if (res.status === 200) expect(applied, `write ${k} answered 200`).toBe(true);
      else {
        expect(res.status, res.text).toBe(503);
        expect(res.headers.get("retry-after")).toBe("1");
      }
    }
    // The writer is back: retrying what failed goes through.
    const failed = results.flatMap((r, k) => (r.status === 200 ? [] : [k]));
    const retried = await Promise.all(
      failed.map((k) => scim(i, "PATCH", `/Users/${user.id}`, { schemas: [PATCH], Operations: [{ op: "add", path: "emails", value: batch(k) }] })),
    );
    expect(retried.every((r) => r.status === 200)).toBe(true);
    expect(((await scim(i, "GET", `/Users/${user.id}`)).json.emails as unknown[]).length).toBe(80);
  });
});
