/**
 * The Provisioning page end to end, as a Kestra admin would use it: create a tenant and an
 * integration (enabled, as recommended), read the token once, switch SCIM off and on, see the
 * requests the gate refused and what keeps the integration from working, rotate, delete. Every
 * effect is checked where Entra would see it: on the SCIM endpoint.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminToken, http, newContext, screenshot, signedInSession, signIn } from "./browser";

let browser: Browser;
let page: Page;
let errors: string[];
const tenant = `acme-${Date.now().toString(36)}`;
let scimPath = "";
let token = "";

beforeAll(async () => {
  ({ browser, page, errors } = await signedInSession());
});
afterAll(async () => {
  await browser?.close();
});

/** What Entra's Test Connection sends. */
const testConnection = (bearer: string) => http("GET", `${scimPath}/Users?filter=${encodeURIComponent('userName eq "probe-0f3c"')}`, bearer);

/**
 * A modal's screenshot, at 1280×800: its backdrop dims the viewport, so a full-page shot of a
 * page taller than that would show the rest undimmed.
 */
async function modalScreenshot(name: string): Promise<void> {
  if (process.env.SAVE_SCREENSHOTS === "1") await page.screenshot({ path: `docs/screenshots/${name}.png` });
}

const integrationId = () => scimPath.split("/integrations/")[1]!.split("/")[0]!;
const card = () => page.locator(`[data-integration="${integrationId()}"]`);
/** The card's line of last contact and the week's totals, once the activity is read. */
const ACTIVITY_LINE = ".health > p.meta:not(.loading)";

/**
 * Waits until the gate has counted `n` refusals of `cause` in the last 7 days: it counts them
 * after answering (waitUntil), so the SCIM answer can arrive before its count does.
 */
async function refusalsCounted(cause: "unauthorized" | "disabled", n: number): Promise<void> {
  const path = `/api/v1/${tenant}/integrations/${integrationId()}/activity?days=7`;
  await expect.poll(async () => (await http("GET", path, adminToken)).json.totals[cause], { timeout: 30_000, interval: 100 }).toBe(n);
}

/** Reloads the page; answers the integration's activity as the page read it. */
async function reloadReadingActivity(): Promise<{ thisHour: { unauthorized: number; disabled: number } }> {
  const activity = page.waitForResponse((response) => response.url().includes(`/integrations/${integrationId()}/activity`));
  await page.reload();
  return (await activity).json();
}

describe("provisioning page", () => {
  it("creates a tenant from the tenant list", async () => {
    await page.getByLabel("Tenant ID").fill(tenant);
    await page.getByLabel("Display name (optional)").fill("Acme Corp");
    await page.getByRole("button", { name: "Create tenant" }).click();
    await page.getByRole("heading", { name: "Provisioning" }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/ui/t/${tenant}/provisioning`);
    await page.getByText("No provisioning integration yet").waitFor();
    await page.getByRole("link", { name: "Tenants" }).click();
    await page.getByRole("link", { name: tenant }).waitFor();
    await screenshot(page, "tenants");
    await page.getByRole("link", { name: tenant }).click();
    await page.getByRole("heading", { name: "Provisioning" }).waitFor();
  });

  it("says why a tenant cannot be created, in words", async () => {
    await page.getByRole("link", { name: "Tenants" }).click();
    await page.getByLabel("Tenant ID").fill(tenant);
    await page.getByRole("button", { name: "Create tenant" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toBe(`That conflicts with what already exists. Tenant '${tenant}' already exists.`);
    await page.getByRole("link", { name: tenant }).click();
    await page.getByRole("heading", { name: "Provisioning" }).waitFor();
  });

  it("creates an integration and shows its endpoint and secret token once, with copy buttons", async () => {
    await page.getByRole("button", { name: "Create", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "Create a provisioning integration" });
    await dialog.waitFor();
    const type = dialog.getByLabel("Provisioning Type");
    expect(await type.inputValue()).toBe("SCIM_2_0");
    expect(await type.locator("option").allTextContents()).toEqual(["SCIM 2.0"]);
    // Created enabled, as recommended: Entra provisions nothing until its own status is On.
    const enabled = dialog.getByRole("checkbox", { name: "Enabled", exact: true });
    expect(await enabled.isChecked()).toBe(true);
    const advice = await enabled.evaluate((el) => document.getElementById(el.getAttribute("aria-describedby") ?? "")?.textContent);
    expect(advice).toBe(
      "Leave it enabled: Entra's Test Connection needs it, and nothing is provisioned until Entra's Provisioning Status is On (try Provision on demand for a one-user test first). The Enabled switch pauses provisioning later: while it is off, every request from Entra, Test Connection included, is refused (403).",
    );
    expect(await dialog.textContent()).not.toContain("configure Entra first");
    await dialog.getByLabel("Name").fill("Entra ID production");
    await dialog.getByLabel("Description (optional)").fill("Contoso directory");
    await modalScreenshot("create-integration");
    await dialog.getByRole("button", { name: "Save" }).click();

    const secret = page.getByRole("dialog", { name: "Entra ID production is ready" });
    await secret.waitFor();
    expect(await secret.getByRole("note").textContent()).toContain("It will not be shown again");
    const endpoint = await secret.getByRole("textbox", { name: "Tenant URL" }).inputValue();
    token = await secret.getByRole("textbox", { name: "Secret Token" }).inputValue();
    expect(token).toMatch(/^[A-Za-z0-9_-]{200}$/);
    expect(endpoint).toMatch(new RegExp(`/api/v1/${tenant}/integrations/[0-9a-f-]{36}/scim/v2$`));
    scimPath = new URL(endpoint).pathname;
    await secret.getByRole("button", { name: "Copy Secret Token" }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);
    await secret.getByRole("button", { name: "Copy Tenant URL" }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(endpoint);
    await modalScreenshot("secret-token-once");
    // A stray Escape does not throw the only copy of the token away.
    await page.keyboard.press("Escape");
    expect(await secret.isVisible()).toBe(true);
    await secret.getByRole("button", { name: "I have copied the token" }).click();
    await secret.waitFor({ state: "detached" });

    // Entra's Test Connection with the pasted values.
    const probe = await testConnection(token);
    expect(probe.status).toBe(200);
    expect(probe.json.totalResults).toBe(0);

    // Once closed, the token is nowhere on the page, nor after a reload; the endpoint stays.
    await page.getByRole("heading", { name: "Entra ID production" }).waitFor();
    expect(await page.content()).not.toContain(token);
    await page.reload();
    await page.getByRole("heading", { name: "Entra ID production" }).waitFor();
    expect(await page.content()).not.toContain(token);
    expect(await page.getByRole("textbox", { name: "Tenant URL" }).inputValue()).toBe(endpoint);
    await expect(page.getByText("Configure Microsoft Entra ID").isVisible()).resolves.toBe(true);
    // Test Connection reads, it writes nothing: the new integration's chart says so in words.
    await card().getByText("No provisioning activity since it was created").waitFor();
    expect(await card().locator(ACTIVITY_LINE).textContent()).toMatch(/^Last contact (?!never)/);
    expect(await card().locator("svg.activity-chart").count()).toBe(0);
    await screenshot(page, "provisioning");
  });

  it("keeps the Create dialog open while it saves, so Escape cannot lose the new token", async () => {
    // Hold the create request until the test lets it go (a deferred promise, not a timer).
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let arrived!: () => void;
    const requested = new Promise<void>((resolve) => (arrived = resolve));
    await page.route(`**/api/v1/${tenant}/integrations`, async (route) => {
      if (route.request().method() !== "POST") return route.continue();
      arrived();
      await held;
      await route.continue();
    });
    await page.getByRole("button", { name: "Create", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "Create a provisioning integration" });
    await dialog.getByLabel("Name", { exact: true }).fill("Okta staging");
    await dialog.getByRole("button", { name: "Save" }).click();
    await requested;
    await page.keyboard.press("Escape");
    expect(await dialog.isVisible()).toBe(true);
    expect(await dialog.getByRole("button", { name: "Cancel" }).isDisabled()).toBe(true);
    release();
    const secret = page.getByRole("dialog", { name: "Okta staging is ready" });
    await secret.waitFor();
    const okta = await secret.getByRole("textbox", { name: "Secret Token" }).inputValue();
    await secret.getByRole("button", { name: "I have copied the token" }).click();
    await page.unroute(`**/api/v1/${tenant}/integrations`);
    const endpoint = (await http("GET", `/api/v1/${tenant}/integrations`, adminToken)).json.results.find((i: { name: string }) => i.name === "Okta staging").endpoint;
    expect((await http("GET", `${new URL(endpoint).pathname}/ServiceProviderConfig`, okta)).status).toBe(200);
    expect((await http("DELETE", `/api/v1/${tenant}/integrations/${endpoint.split("/integrations/")[1].split("/")[0]}`, adminToken)).status).toBe(204);
    await page.reload();
    await page.getByRole("heading", { name: "Entra ID production" }).waitFor();
  });

  it("recommends in the Entra steps the same order: enabled, Test Connection, Provision on demand", async () => {
    const steps = await page.locator("details.entra li").allTextContents();
    expect(steps[3]).toBe("Click Test Connection (the integration must be enabled: scim-edge answers Entra's probe with an empty list), then Save.");
    expect(steps[5]).toBe("Try Provision on demand with one assigned user: it runs one cycle for that user and shows each step.");
    expect(steps[6]).toBe("Set Provisioning Status to On: Entra provisions nothing before.");
    const tip = await page.locator("details.entra .tip").textContent();
    expect(tip).toMatch(/^Recommended: create the integration enabled\. Entra's Test Connection needs it, and nothing is provisioned until Entra's Provisioning Status is On/);
    expect(tip).toContain("while it is off, every request from Entra, Test Connection included, is refused (403).");
    expect(await page.locator("details.entra").textContent()).not.toContain("create the integration disabled");
  });

  it("switches the integration off (SCIM refused) and on again, its label and badge saying which", async () => {
    const on = page.getByRole("switch", { name: "Enabled: Entra ID production", exact: true });
    const off = page.getByRole("switch", { name: "Disabled: Entra ID production", exact: true });
    const badge = card().getByText("Disabled: SCIM refused", { exact: true });
    expect(await on.isChecked()).toBe(true);
    expect(await card().locator(".switch").textContent()).toBe("Enabled");
    expect(await badge.isVisible()).toBe(false);
    await on.click();
    await page.getByText("Entra ID production is disabled").waitFor();
    // The label follows the state at once, not only after a reload.
    expect(await off.isChecked()).toBe(false);
    expect(await card().locator(".switch").textContent()).toBe("Disabled");
    expect(await badge.isVisible()).toBe(true);
    const refused = await testConnection(token);
    expect(refused.status).toBe(403);
    expect(refused.json.schemas).toEqual(["urn:ietf:params:scim:api:messages:2.0:Error"]);

    // The refusal, counted at the gate rather than audited, shows on the card with its cause.
    await refusalsCounted("disabled", 1);
    await page.reload();
    expect(await off.isChecked()).toBe(false);
    expect(await badge.isVisible()).toBe(true);
    const latest = card().locator(".gate-refusals, .gate-latest");
    expect(await latest.textContent()).toMatch(/Latest refused request: .+, integration disabled\. /);
    expect(await card().locator(ACTIVITY_LINE).textContent()).toContain("1 request refused: integration disabled");

    await off.click();
    await page.getByText("Entra ID production is enabled").waitFor();
    expect(await on.isChecked()).toBe(true);
    expect(await badge.isVisible()).toBe(false);
    expect((await testConnection(token)).status).toBe(200);
  });

  it("shows a request refused for a wrong token on the card and the chart, with its cause and what to do", async () => {
    expect((await testConnection("not-the-token")).status).toBe(401);
    await refusalsCounted("unauthorized", 1);
    const { thisHour } = await reloadReadingActivity();
    const gate = card().locator(".gate-refusals, .gate-latest");
    await gate.waitFor();
    const text = await gate.textContent();
    expect(text).toMatch(/Latest refused request: .+, wrong or missing token\. A token that is not this integration's \(wrong, rotated or revoked\)\./);
    // Counted per clock hour: should the hour turn between the refusals and the reload, the card
    // rightly says nothing of "this hour", and still shows the latest refusal.
    const thisHourSays: Record<string, string> = {
      "1 1": "2 requests refused this hour: 1 wrong or missing token, 1 integration disabled.",
      "1 0": "1 request refused this hour: wrong or missing token.",
    };
    const key = `${thisHour.unauthorized} ${thisHour.disabled}`;
    if (key === "0 0") expect(await card().locator(".gate-refusals").count()).toBe(0);
    else {
      expect(await gate.locator("strong").textContent()).toBe(thisHourSays[key]);
      expect(text).toContain("Entra must send this integration's current Secret Token");
    }
    // The week's totals, in words and in the chart's own series.
    const totals = "2 requests refused: 1 wrong or missing token, 1 integration disabled";
    expect(await card().locator(ACTIVITY_LINE).textContent()).toContain(totals);
    const chart = card().getByRole("img", { name: /Provisioning activity of Entra ID production per hour, last 24 hours/ });
    expect(await chart.evaluate((el) => el.querySelector("desc")?.textContent)).toContain(totals);
    expect(await card().locator("rect.bar.gate").count()).toBeGreaterThan(0);
    expect(await card().locator(".legend .key").allTextContents()).toContain("Refused: wrong token or disabled");
  });

  it("says on the card what keeps the integration from working: its role edited short of SCIMProvisioner", async () => {
    const { roleId } = (await http("GET", `/api/v1/${tenant}/integrations/${integrationId()}`, adminToken)).json;
    const role = (await http("GET", `/api/v1/${tenant}/roles/${roleId}`, adminToken)).json;
    const permissions = { ...role.permissions, USERS: role.permissions.USERS.filter((action: string) => action !== "CREATE") };
    expect((await http("PATCH", `/api/v1/${tenant}/roles/${roleId}`, adminToken, { permissions })).status).toBe(200);
    await page.reload();
    const problems = card().getByRole("region", { name: "Problems of Entra ID production" });
    await problems.waitFor();
    expect(await problems.locator("strong").textContent()).toBe("A problem keeps it from working:");
    expect(await problems.locator("li").allTextContents()).toEqual([
      "Its service account lacks USERS:CREATE: the SCIM requests that need it are refused (403). Give its SCIMProvisioner role back these permissions.",
    ]);
    // Next to the Enabled state: right under the card's head, the switch still saying Enabled.
    expect(await card().locator(".card-head + .problems").count()).toBe(1);
    expect(await page.getByRole("switch", { name: "Enabled: Entra ID production", exact: true }).isChecked()).toBe(true);
  });

  it("stays usable at 390 px wide: no sideways scrolling, the card's state, problems and actions in view", async () => {
    const context = await newContext(browser, { width: 390, height: 844 });
    const phone = await context.newPage();
    await signIn(phone);
    await phone.getByRole("heading", { name: "Tenants" }).waitFor();
    await phone.goto(`/ui/t/${tenant}/provisioning`);
    const phoneCard = phone.locator(`[data-integration="${integrationId()}"]`);
    await phoneCard.locator(ACTIVITY_LINE).waitFor();
    expect(await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    const controls = [
      phoneCard.getByRole("switch", { name: "Enabled: Entra ID production" }),
      phoneCard.getByRole("region", { name: "Problems of Entra ID production" }),
      phoneCard.getByRole("button", { name: "Copy Tenant URL" }),
      phoneCard.getByRole("link", { name: "Audit log of Entra ID production" }),
      phoneCard.getByRole("button", { name: "Rotate token of Entra ID production" }),
      phoneCard.getByRole("button", { name: "Delete Entra ID production" }),
      phone.getByRole("button", { name: "Create", exact: true }),
    ];
    for (const control of controls) {
      expect(await control.isVisible()).toBe(true);
      const box = (await control.boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(390);
    }
    await context.close();
  });

  it("drops the problem once the role is whole again", async () => {
    const { roleId } = (await http("GET", `/api/v1/${tenant}/integrations/${integrationId()}`, adminToken)).json;
    const role = (await http("GET", `/api/v1/${tenant}/roles/${roleId}`, adminToken)).json;
    const permissions = { ...role.permissions, USERS: [...role.permissions.USERS, "CREATE"] };
    expect((await http("PATCH", `/api/v1/${tenant}/roles/${roleId}`, adminToken, { permissions })).status).toBe(200);
    await page.reload();
    await card().locator(ACTIVITY_LINE).waitFor();
    expect(await card().locator(".problems").count()).toBe(0);
  });

  it("rotates the token after a confirmation, showing the new one once; the old one stops working", async () => {
    await page.getByRole("button", { name: "Rotate token of Entra ID production" }).click();
    const confirm = page.getByRole("dialog", { name: "Rotate the token of Entra ID production?" });
    await confirm.getByRole("button", { name: "Cancel" }).click();
    await confirm.waitFor({ state: "detached" });
    expect((await testConnection(token)).status).toBe(200);

    await page.getByRole("button", { name: "Rotate token of Entra ID production" }).click();
    await page.getByRole("dialog", { name: "Rotate the token of Entra ID production?" }).getByRole("button", { name: "Rotate token" }).click();
    const shown = page.getByRole("dialog", { name: "New token of Entra ID production" });
    await shown.waitFor();
    const rotated = await shown.getByRole("textbox", { name: "Secret Token" }).inputValue();
    expect(rotated).not.toBe(token);
    await shown.getByRole("button", { name: "I have copied the token" }).click();
    expect((await testConnection(token)).status).toBe(401);
    expect((await testConnection(rotated)).status).toBe(200);
    token = rotated;
  });

  it("deletes the integration after a confirmation; its token stops working", async () => {
    await page.getByRole("button", { name: "Delete Entra ID production" }).click();
    const confirm = page.getByRole("dialog", { name: "Delete Entra ID production?" });
    await confirm.waitFor();
    await page.keyboard.press("Escape");
    await confirm.waitFor({ state: "detached" });
    expect((await testConnection(token)).status).toBe(200);

    await page.getByRole("button", { name: "Delete Entra ID production" }).click();
    await page.getByRole("dialog", { name: "Delete Entra ID production?" }).getByRole("button", { name: "Delete integration" }).click();
    await page.getByText("No provisioning integration yet").waitFor();
    expect((await testConnection(token)).status).toBe(401);
    expect(errors).toEqual([]);
  });

  it("still filters the audit log by a deleted integration, and says so", async () => {
    await page.goto(`/ui/t/${tenant}/audit?integrationId=${integrationId()}`);
    const filter = page.getByLabel("Integration");
    await page.getByRole("table", { name: "Audit events" }).waitFor();
    expect(await filter.inputValue()).toBe(integrationId());
    expect(await filter.locator("option:checked").textContent()).toContain("deleted or not readable");
    const actions = await page.getByRole("table", { name: "Audit events" }).locator(":scope > tbody > tr > td:nth-child(3)").allTextContents();
    expect(actions).toEqual(expect.arrayContaining(["DELETE", "ROTATE_TOKEN", "UPDATE", "CREATE"]));
  });
});
