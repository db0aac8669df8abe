/** The request log: one JSON line per request, with ids and D1 counters, and nothing secret. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { newIntegration, scim } from "./support/helpers";

afterEach(() => vi.restoreAllMocks());

describe("request log", () => {
  it("writes one JSON line per request with route, status, duration and D1 work, and no token or query", async () => {
    const i = await newIntegration();
    await scim(i, "GET", "/ServiceProviderConfig"); // the token's first use also records its last use
    const log = vi.spyOn(console, "log");
    const res = await scim(i, "GET", `/Users?filter=${encodeURIComponent('userName eq "secret-person@example.com"')}`);
    expect(res.status).toBe(200);
    const created = await scim(i, "POST", "/Users", { userName: "logged@example.com" });
    const lines = log.mock.calls.map((call) => String(call[0])).filter((line) => line.startsWith('{"level":"info"'));
    expect(lines).toHaveLength(2);
    const [read, write] = lines.map((line) => JSON.parse(line));
    expect(read).toMatchObject({
      requestId: expect.any(String),
      tenant: i.tenant,
      integration: i.id,
      method: "GET",
      route: "/api/v1/:tenant/integrations/:integrationId/scim/v2/Users",
      status: 200,
      durationMs: expect.any(Number),
      d1: { roundTrips: expect.any(Number), queries: expect.any(Number), rowsRead: expect.any(Number), rowsWritten: expect.any(Number), rowsReturned: expect.any(Number), ms: expect.any(Number) },
    });
    expect(read.d1.queries).toBeGreaterThanOrEqual(2);
    // A lookup is one round trip: the token's credential rides in the query's batch.
    expect(read.d1.roundTrips).toBe(1);
    expect(write.d1.roundTrips).toBeLessThanOrEqual(3);
    expect(write).toMatchObject({ method: "POST", status: 201 });
    expect(write.d1.rowsWritten).toBeGreaterThan(0);
    expect(write.requestId).toBe(created.headers.get("x-request-id"));
    for (const line of lines) {
      expect(line).not.toContain(i.token);
      expect(line).not.toContain("secret-person");
      expect(line).not.toContain("logged@example.com");
    }
  });
});
