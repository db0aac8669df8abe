/**
 * Refusals at the SCIM gate (a wrong, rotated or revoked token: 401; a disabled integration: 403)
 * never reach the audit log, yet they are what an admin needs when Test Connection fails. They
 * are counted per integration, hour and cause, and shown in its activity; only an integration
 * the tenant has is counted, so a caller inventing ids grows nothing.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { countRefusal, pruneRefusals } from "../../../src/iam/integration-activity";
import { createDb } from "../../../src/db/client";
import { admin, fetchWithEnv, newIntegration, ORIGIN, type TestIntegration } from "../../support/helpers";

/** A SCIM request whose background work (the count) has finished when it returns. */
async function settled(path: string, token: string | null): Promise<number> {
  const headers: Record<string, string> = token === null ? {} : { Authorization: `Bearer ${token}` };
  return (await fetchWithEnv(new Request(`${ORIGIN}${path}`, { headers }), {})).status;
}

const rows = async () => (await env.DB.prepare("select count(*) as n from integration_refusals").first<{ n: number }>())!.n;
const activity = async (i: TestIntegration) => (await admin("GET", `/${i.tenant}/integrations/${i.id}/activity?days=1`)).json;

describe("refusals at the SCIM gate", () => {
  it("are counted per hour by cause, with the latest reason, and shown in the integration's activity", async () => {
    const i = await newIntegration();
    const lookup = `${i.scimPath}/Users?filter=userName+eq+%22x%22`;
    expect(await settled(lookup, i.token)).toBe(200);
    expect(await settled(lookup, "not-the-token")).toBe(401);
    expect(await settled(lookup, null)).toBe(401);
    // A rotated token is refused like any wrong one.
    const old = i.token;
    i.token = (await admin("POST", `/${i.tenant}/integrations/${i.id}/token`)).json.secretToken;
    expect(await settled(`${i.scimPath}/ServiceProviderConfig`, old)).toBe(401);
    await admin("PATCH", `/${i.tenant}/integrations/${i.id}`, { enabled: false });
    expect(await settled(lookup, i.token)).toBe(403);
    expect(await settled(`${i.scimPath}/Schemas`, i.token)).toBe(403);

    const a = await activity(i);
    expect(a.totals).toMatchObject({ unauthorized: 3, disabled: 2 });
    expect(a.thisHour).toMatchObject({ unauthorized: 3, disabled: 2 });
    const hour = a.hours.at(-1);
    expect(hour).toMatchObject({ unauthorized: 3, disabled: 2 });
    expect(a.hours.slice(0, -1).every((h: { unauthorized: number; disabled: number }) => h.unauthorized + h.disabled === 0)).toBe(true);
    expect(a.lastRefusal).toMatchObject({ cause: "disabled", detail: expect.stringMatching(/disabled/) });
    // Counters, not events: nothing of this reached the audit log.
    expect((await admin("GET", `/${i.tenant}/audit-logs?integrationId=${i.id}&outcome=FAILURE`)).json.results).toEqual([]);
  });

  it("grows a count, never the table, and nothing at all for an integration the tenant lacks", async () => {
    const i = await newIntegration();
    const other = await newIntegration();
    const before = await rows();
    for (let n = 0; n < 5; n++) expect(await settled(`${i.scimPath}/Users`, `garbage-${n}`)).toBe(401);
    expect(await rows()).toBe(before + 1);
    expect((await activity(i)).totals.unauthorized).toBe(5);
    // Unknown tenant, unknown integration, another tenant's integration under this tenant's path.
    const paths = [
      `/api/v1/no-such-tenant/integrations/${i.id}/scim/v2/Users`,
      `/api/v1/${i.tenant}/integrations/00000000-0000-7000-8000-000000000000/scim/v2/Users`,
      `/api/v1/${i.tenant}/integrations/${other.id}/scim/v2/Users`,
    ];
    for (const path of paths) expect(await settled(path, "garbage")).toBe(401);
    expect(await rows()).toBe(before + 1);
    expect((await activity(other)).totals.unauthorized).toBe(0);
  });

  it("are dropped by the daily run once past the longest activity window", async () => {
    const i = await newIntegration();
    const db = createDb(env.DB);
    const now = Date.now();
    const day = 24 * 3_600_000;
    await countRefusal(db, { tenantId: i.tenant, integrationId: i.id, cause: "unauthorized", detail: "old" }, now - 40 * day);
    await countRefusal(db, { tenantId: i.tenant, integrationId: i.id, cause: "unauthorized", detail: "recent" }, now - 2 * day);
    await pruneRefusals(db, now);
    const kept = await env.DB.prepare("select last_detail from integration_refusals where integration_id = ?").bind(i.id).all<{ last_detail: string }>();
    expect(kept.results.map((r) => r.last_detail)).toEqual(["recent"]);
    // And they go with their integration.
    await admin("DELETE", `/${i.tenant}/integrations/${i.id}`);
    expect((await env.DB.prepare("select count(*) as n from integration_refusals where integration_id = ?").bind(i.id).first<{ n: number }>())!.n).toBe(0);
  });
});
