import { describe, expect, it } from "vitest";
import { admin, call } from "../support/helpers";

describe("admin API: authentication", () => {
  it("rejects a missing, wrong or non-bearer token with 401 problem+json", async () => {
    for (const token of [null, "wrong", "test-admin-token-0123456789abcdeF"]) {
      const res = await call("GET", "/api/v1/tenants", { token });
      expect(res.status).toBe(401);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect(res.json).toMatchObject({ status: 401, title: "Unauthorized" });
      expect(res.json.detail).toBeTruthy();
    }
  });

  it("answers unknown admin paths with a 404 problem", async () => {
    const res = await admin("GET", "/nope/nothing/here");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
  });
});

describe("admin API: tenants", () => {
  it("creates, reads and lists tenants", async () => {
    const created = await admin("POST", "/tenants", { id: "acme", name: "Acme Corp" });
    expect(created.status).toBe(201);
    // One database: it is the only shard, and nothing moves.
    expect(created.json).toEqual({ id: "acme", name: "Acme Corp", createdAt: expect.any(String), shard: "DB", moving: null });
    expect(new Date(created.json.createdAt).toISOString()).toBe(created.json.createdAt);

    const read = await admin("GET", "/tenants/acme");
    expect(read.status).toBe(200);
    expect(read.json).toEqual(created.json);

    await admin("POST", "/tenants", { id: "beta" });
    const list = await admin("GET", "/tenants");
    expect(list.status).toBe(200);
    expect(list.json.results.map((t: { id: string }) => t.id)).toEqual(expect.arrayContaining(["acme", "beta"]));
    expect((await admin("GET", "/tenants/beta")).json.name).toBe("beta");
  });

  it("pages the tenant list with a cursor", async () => {
    for (const id of ["page-a", "page-b", "page-c"]) await admin("POST", "/tenants", { id });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await admin("GET", `/tenants?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.status).toBe(200);
      expect(res.json.results.length).toBeLessThanOrEqual(2);
      seen.push(...res.json.results.map((t: { id: string }) => t.id));
      cursor = res.json.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...seen].sort());
    expect(seen).toEqual(expect.arrayContaining(["page-a", "page-b", "page-c"]));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it("with one database, lists it as the only shard (also the directory) and has nowhere to move a tenant", async () => {
    await admin("POST", "/tenants", { id: "solo" });
    const shards = await admin("GET", "/shards");
    expect(shards.status).toBe(200);
    expect(shards.json.shards).toEqual([{ name: "DB", directory: true, tenants: expect.any(Number), arriving: 0, sizeBytes: expect.anything() }]);
    expect(shards.json.shards[0].tenants).toBeGreaterThanOrEqual(1);
    expect((await admin("POST", "/tenants", { id: "solo-2", shard: "DB" })).json.shard).toBe("DB");
    expect((await admin("POST", "/tenants", { id: "solo-3", shard: "SHARD_1" })).status).toBe(400);
    const move = await admin("POST", "/tenants/solo/move", { shard: "DB" });
    expect(move.status).toBe(409);
    expect(move.json.detail).toContain("already on DB");
    expect((await admin("POST", "/tenants/solo/move", { shard: "SHARD_1" })).status).toBe(400);
    expect((await admin("POST", "/tenants/missing/move", { shard: "DB" })).status).toBe(404);
    expect((await admin("POST", "/tenants/solo/move", { to: "DB" })).status).toBe(400);
  });

  it("answers 409 when the tenant exists", async () => {
    await admin("POST", "/tenants", { id: "dup" });
    const again = await admin("POST", "/tenants", { id: "dup" });
    expect(again.status).toBe(409);
    expect(again.json.detail).toContain("dup");
  });

  it.each([
    ["uppercase", "Acme"],
    ["underscore", "ac_me"],
    ["leading hyphen", "-acme"],
    ["trailing hyphen", "acme-"],
    ["too long", "a".repeat(64)],
    ["reserved tenants", "tenants"],
    ["reserved users", "users"],
    ["empty", ""],
    ["not a string", 42],
  ])("rejects an id that is not a lowercase slug (%s) with 400", async (_, id) => {
    const res = await admin("POST", "/tenants", { id });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.json.detail).toMatch(/^id: /);
  });

  it("accepts a 63-character slug", async () => {
    expect((await admin("POST", "/tenants", { id: `a${"-b".repeat(31)}` })).status).toBe(201);
  });

  it("rejects unknown fields, bad JSON and non-JSON bodies", async () => {
    expect((await admin("POST", "/tenants", { id: "x1", color: "red" })).status).toBe(400);
    const bad = await admin("POST", "/tenants", "{not json");
    expect(bad.status).toBe(400);
    expect(bad.headers.get("content-type")).toContain("application/problem+json");
    const form = await call("POST", "/api/v1/tenants", {
      token: (await import("../support/helpers")).ADMIN_TOKEN,
      body: "id=x2",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    expect(form.status).toBe(415);
  });

  it("answers 404 for an unknown tenant", async () => {
    const res = await admin("GET", "/tenants/ghost");
    expect(res.status).toBe(404);
    expect(res.json.detail).toContain("ghost");
  });

  it("rejects a bad list cursor or limit with 400", async () => {
    expect((await admin("GET", "/tenants?limit=0")).status).toBe(400);
    expect((await admin("GET", "/tenants?limit=abc")).status).toBe(400);
    expect((await admin("GET", "/tenants?cursor=%25%25")).status).toBe(400);
  });

  it("sets security headers and a request id on every response", async () => {
    const res = await admin("GET", "/tenants");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });
});
