/**
 * Operations in the console: an integration's provisioning health (the activity chart, the last
 * contact, the refusal warning and its link to the filtered audit log) and the audit download.
 */
import { readFile } from "node:fs/promises";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
});
afterAll(async () => {
  await browser?.close();
});

describe("provisioning health", () => {
  it("charts the week's writes by outcome, with the last contact and a warning when refusals pass a fifth", async () => {
    await page.goto(`/ui/t/${tenant}/provisioning`);
    const card = page.locator(`[data-integration="${integration.id}"]`);
    const chart = card.getByRole("img", { name: /SCIM writes of Entra ID \(flaky\) per hour, last 7 days/ });
    await chart.waitFor();
    // The accessible description carries the totals the bars show.
    expect(await chart.evaluate((el) => el.querySelector("desc")?.textContent)).toContain("4 writes succeeded, 3 refused, 0 failed");
    expect(await card.locator("rect.bar.succeeded").count()).toBe(1);
    expect(await card.locator("rect.bar.refused").count()).toBe(1);
    const meta = await card.locator(".health .meta").textContent();
    expect(meta).toMatch(/Last contact (?!never)/);
    const warning = card.getByRole("alert");
    expect(await warning.textContent()).toContain("3 of 7 SCIM writes in the last hour were refused or failed.");
    await card.getByText("Hours with writes (1)").click();
    expect(await card.getByRole("table", { name: "SCIM writes of Entra ID (flaky) per hour" }).locator("tbody tr td").allTextContents()).toEqual([expect.any(String), "4", "3", "0"]);
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

  it("shows a quiet integration without a warning", async () => {
    const quiet = await createIntegration(tenant, "Okta (quiet)");
    await page.goto(`/ui/t/${tenant}/provisioning`);
    const card = page.locator(`[data-integration="${quiet.id}"]`);
    await card.getByRole("img", { name: /SCIM writes of Okta \(quiet\)/ }).waitFor();
    expect(await card.getByRole("alert").count()).toBe(0);
    expect(await card.locator(".health .meta").textContent()).toContain("Last contact never");
    expect(await card.locator("rect.bar").count()).toBe(0);
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
