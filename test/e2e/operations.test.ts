/**
 * Operations in the console: an integration's provisioning health (the activity chart, the last
 * contact, the requests the gate refused, the refusal warning and its link to the filtered audit
 * log, the empty state of a quiet integration) and the audit download.
 */
import { readFile } from "node:fs/promises";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { adminToken, baseUrl, createIntegration, createTenant, http, screenshot, signedInSession, USER_SCHEMA } from "./browser";

let browser: Browser;
let page: Page;
let errors: string[];
let tenant = "";
let integration: { id: string; scim: string; token: string };

beforeAll(async () => {
  ({ browser, page, errors } = await signedInSession());
  tenant = await createTenant("ops");
  integration = await createIntegration(tenant, "Entra ID (flaky)");
  // A provisioning run with refusals: 4 users created, 2 conflicts, 1 PATCH of a missing user.
  for (let i = 0; i < 4; i++) expect((await http("POST", `${integration.scim}/Users`, integration.token, { schemas: [USER_SCHEMA], userName: `p${i}@ops.example` })).status).toBe(201);
  for (let i = 0; i < 2; i++) expect((await http("POST", `${integration.scim}/Users`, integration.token, { schemas: [USER_SCHEMA], userName: `p${i}@ops.example` })).status).toBe(409);
  const patch = { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", path: "active", value: false }] };
  expect((await http("PATCH", `${integration.scim}/Users/00000000-0000-7000-8000-000000000000`, integration.token, patch)).status).toBe(404);
  // And 2 requests with a token that is not the integration's, refused at the gate: counted after
  // the answer (waitUntil), so wait for the counts before any page reads them.
  for (let i = 0; i < 2; i++) expect((await http("GET", `${integration.scim}/Users`, "not-the-token")).status).toBe(401);
  const activity = `/api/v1/${tenant}/integrations/${integration.id}/activity?days=7`;
  await vi.waitFor(async () => expect((await http("GET", activity, adminToken)).json.totals.unauthorized).toBe(2), { timeout: 30_000, interval: 100 });
});
afterAll(async () => {
  await browser?.close();
});

describe("provisioning health", () => {
  it("charts the writes by outcome and the refused requests, with the last contact and a warning when refusals pass a fifth", async () => {
    await page.goto(`/ui/t/${tenant}/provisioning`);
    const card = page.locator(`[data-integration="${integration.id}"]`);
    // A new integration's chart spans its first day, not a week where its hours are a sliver.
    const chart = card.getByRole("img", { name: "Provisioning activity of Entra ID (flaky) per hour, last 24 hours" });
    await chart.waitFor();
    expect(await chart.getAttribute("viewBox")).toBe(`0 0 ${24 * 4} 48`);
    expect((await card.locator("rect.bar.succeeded").first().boundingBox())!.width).toBeGreaterThan(20);
    // The accessible description carries the totals the bars show.
    const totals = "4 writes succeeded, 3 refused, 0 failed; 2 requests refused: wrong or missing token";
    expect(await chart.evaluate((el) => el.querySelector("desc")?.textContent)).toContain(totals);
    for (const series of ["succeeded", "refused", "gate"]) expect(await card.locator(`rect.bar.${series}`).count(), series).toBeGreaterThan(0);
    expect(await card.locator("rect.bar.failed").count()).toBe(0);
    expect(await card.locator(".legend .key").allTextContents()).toEqual(["Succeeded", "Refused (4xx)", "Failed (5xx)", "Refused: wrong token or disabled"]);
    const meta = await card.locator(".health > p.meta").textContent();
    expect(meta).toMatch(/Last contact (?!never)/);
    expect(meta).toContain(`last 7 days: ${totals}`);
    expect(await card.locator(".gate-refusals, .gate-latest").textContent()).toMatch(/Latest refused request: .+, wrong or missing token\./);
    const warning = card.getByRole("alert");
    expect(await warning.textContent()).toContain("3 of 7 SCIM writes in the last hour were refused or failed.");
    // Hour by hour in a table; summed, so a run across the turn of an hour reads the same.
    await card.getByText(/^Hours with activity \(\d\)$/).click();
    const hours = card.getByRole("table", { name: "Activity of Entra ID (flaky) per hour" }).locator("tbody tr");
    const sums = [0, 0, 0, 0, 0];
    for (const hour of await hours.all()) (await hour.locator("td").allTextContents()).slice(1).forEach((cell, i) => (sums[i]! += Number(cell)));
    expect(sums).toEqual([4, 3, 0, 2, 0]);
    await screenshot(page, "provisioning-health");

    await warning.getByRole("link", { name: "See these refusals in the audit log" }).click();
    await page.getByRole("heading", { name: "Audit log" }).waitFor();
    const url = new URL(page.url());
    expect(url.searchParams.get("integrationId")).toBe(integration.id);
    expect(url.searchParams.get("outcome")).toBe("FAILURE");
    expect(await page.getByLabel("Outcome").inputValue()).toBe("FAILURE");
    await page.getByText(/Showing events since/).waitFor();
    const rows = page.getByRole("table", { name: "Audit events" }).locator("tbody tr");
    await rows.first().waitFor();
    expect(await rows.count()).toBe(3);
    for (const text of await rows.allTextContents()) expect(text).toMatch(/Refused (409|404)/);
  });

  it("shows a quiet integration without a warning, its chart an explicit empty state", async () => {
    const quiet = await createIntegration(tenant, "Okta (quiet)");
    await page.goto(`/ui/t/${tenant}/provisioning`);
    const card = page.locator(`[data-integration="${quiet.id}"]`);
    const empty = card.getByText("No provisioning activity since it was created: no SCIM write, no refused request.");
    await empty.waitFor();
    expect(await empty.isVisible()).toBe(true);
    expect(await card.getByRole("img").count()).toBe(0);
    expect(await card.getByRole("alert").count()).toBe(0);
    expect(await card.locator(".gate-refusals, .gate-latest").count()).toBe(0);
    const meta = await card.locator(".health > p.meta").textContent();
    expect(meta).toContain("Last contact never");
    expect(meta).toContain("0 requests refused (wrong token or disabled)");
  });
});

describe("audit download", () => {
  it("downloads the filtered audit log as the export serves it", async () => {
    await page.goto(`/ui/t/${tenant}/audit?integrationId=${integration.id}`);
    await page.getByRole("heading", { name: "Audit log" }).waitFor();
    await page.getByText("Download", { exact: true }).first().click();
    const form = page.getByRole("form", { name: "Download the audit log" });
    await form.getByLabel("Format").selectOption("ndjson");
    const [file] = await Promise.all([page.waitForEvent("download"), form.getByRole("button", { name: "Download" }).click()]);
    expect(file.suggestedFilename()).toMatch(new RegExp(`^audit-${tenant}-until-\\d{4}-\\d{2}-\\d{2}\\.ndjson$`));
    const lines = (await readFile((await file.path())!, "utf8")).split("\n").filter(Boolean).map((l) => JSON.parse(l));
    const expected = await fetch(`${baseUrl}/api/v1/${tenant}/audit-logs/export?integrationId=${integration.id}`, { headers: { Authorization: `Bearer ${adminToken}` } });
    const expectedIds = (await expected.text()).split("\n").filter(Boolean).map((l) => JSON.parse(l).id);
    expect(lines.map((l) => l.id)).toEqual(expectedIds);
    expect(lines.filter((l) => l.resourceType === "USER")).toHaveLength(7); // the 7 SCIM writes, with the integration's creation events
    expect(lines.filter((l) => l.outcome === "FAILURE")).toHaveLength(3);

    await form.getByLabel("Format").selectOption("csv");
    const [csv] = await Promise.all([page.waitForEvent("download"), form.getByRole("button", { name: "Download" }).click()]);
    const text = await readFile((await csv.path())!, "utf8");
    expect(text.split("\r\n")[0]).toBe("id,createdAt,tenant,integrationId,actorType,actorId,action,resourceType,resourceId,resourceName,outcome,status,detail,diff,requestId");
    expect(text.trimEnd().split("\r\n")).toHaveLength(lines.length + 1);
    await page.getByRole("status").filter({ hasText: "Downloaded" }).waitFor();
    expect(errors).toEqual([]);
  });
});
