/**
 * The Service accounts page end to end: create an account for an application, give it a token
 * (shown once), see it listed, revoke it, delete the account. Every effect is checked where the
 * application would see it: on the admin API, with the token.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminToken, createIntegration, createTenant, http, screenshot, signedInSession } from "./browser";

let browser: Browser;
let page: Page;
let errors: string[];
let tenant = "";
let token = "";

beforeAll(async () => {
  ({ browser, page, errors } = await signedInSession());
  tenant = await createTenant("apps");
  await createIntegration(tenant, "Entra ID");
});
afterAll(async () => {
  await browser?.close();
});

const card = (name: string) => page.getByRole("listitem").filter({ has: page.getByRole("heading", { name, exact: true }) });

describe("service accounts page", () => {
  it("lists the integration's account as managed by it, without edit, delete, new-token or revoke buttons", async () => {
    await page.goto(`/ui/t/${tenant}/provisioning`);
    await page.getByRole("link", { name: "Service accounts" }).click();
    await page.getByRole("heading", { name: "Service accounts", level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/ui/t/${tenant}/service-accounts`);
    const managed = card("scim-Entra ID");
    await managed.waitFor();
    const badge = managed.getByRole("link", { name: "Managed by an integration" });
    expect(await badge.getAttribute("href")).toBe(`/ui/t/${tenant}/provisioning`);
    expect(await managed.getByRole("button", { name: /^(Edit|Delete|New token)/ }).count()).toBe(0);
    expect(await managed.getByRole("table", { name: "Tokens of scim-Entra ID" }).getByRole("row").count()).toBe(2);
    // Its token is rotated on its card: revoking it here would break provisioning (the API: 409).
    expect(await managed.getByRole("button", { name: /^Revoke/ }).count()).toBe(0);
    const rotate = managed.getByRole("link", { name: "Rotate the token of scim-Entra ID on Provisioning" });
    expect(await rotate.getAttribute("href")).toBe(`/ui/t/${tenant}/provisioning`);
  });

  it("creates an account from a form", async () => {
    await page.getByRole("button", { name: "New service account" }).click();
    const dialog = page.getByRole("dialog", { name: "New service account" });
    await dialog.getByLabel("Name").fill("deploy-bot");
    await dialog.getByLabel("Description (optional)").fill("Deploys flows from CI");
    await dialog.getByRole("button", { name: "Create service account" }).click();
    await dialog.waitFor({ state: "detached" });
    const created = card("deploy-bot");
    await created.waitFor();
    await created.getByText("Deploys flows from CI").waitFor();
    await created.getByText("No token.").waitFor();
    const listed = await http("GET", `/api/v1/${tenant}/service-accounts`, adminToken);
    expect(listed.json.results.map((a: { name: string }) => a.name).sort()).toEqual(["deploy-bot", "scim-Entra ID"]);
  });

  it("edits the account", async () => {
    await page.getByRole("button", { name: "Edit deploy-bot" }).click();
    const dialog = page.getByRole("dialog", { name: "Edit deploy-bot" });
    expect(await dialog.getByLabel("Name").inputValue()).toBe("deploy-bot");
    await dialog.getByLabel("Description (optional)").fill("Deploys flows from GitHub Actions");
    await dialog.getByRole("button", { name: "Save" }).click();
    await card("deploy-bot").getByText("Deploys flows from GitHub Actions").waitFor();
  });

  it("mints a token with an expiry date and shows its secret once", async () => {
    await page.getByRole("button", { name: "New token for deploy-bot" }).click();
    const dialog = page.getByRole("dialog", { name: "New token for deploy-bot" });
    await dialog.waitFor();
    const expires = dialog.getByLabel("Expires on (optional)");
    const in30Days = new Date(Date.now() + 30 * 24 * 60 * 60 * 1000);
    const day = `${in30Days.getFullYear()}-${String(in30Days.getMonth() + 1).padStart(2, "0")}-${String(in30Days.getDate()).padStart(2, "0")}`;
    await expires.fill(day);
    await dialog.getByRole("button", { name: "Create token" }).click();

    const secret = page.getByRole("dialog", { name: "deploy-bot's new token" });
    await secret.waitFor();
    expect(await secret.getByRole("note").textContent()).toContain("It will not be shown again");
    token = await secret.getByRole("textbox", { name: "Secret Token" }).inputValue();
    expect(token).toMatch(/^[A-Za-z0-9_-]{200}$/);
    await secret.getByRole("button", { name: "Copy Secret Token" }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);
    await screenshot(page, "service-account-token");
    // A stray Escape does not throw the only copy away.
    await page.keyboard.press("Escape");
    expect(await secret.isVisible()).toBe(true);
    await secret.getByRole("button", { name: "I have copied the token" }).click();
    await secret.waitFor({ state: "detached" });

    // The application authenticates with it; its account holds no role yet.
    const me = await http("GET", "/api/v1/me", token);
    expect(me.status).toBe(200);
    expect(me.json).toMatchObject({ kind: "service-account", tenant, integrationId: null, permissions: [] });
    const stored = (await http("GET", `/api/v1/${tenant}/service-accounts/${me.json.serviceAccountId}`, adminToken)).json.tokens;
    expect(stored).toHaveLength(1);
    // The end of the chosen day, in the browser's time zone.
    expect(new Date(stored[0].expiresAt).getDate()).toBe(in30Days.getDate());
  });

  it("lists the token by its last four characters, never the secret", async () => {
    const tokens = card("deploy-bot").getByRole("table", { name: "Tokens of deploy-bot" });
    await tokens.waitFor();
    const row = tokens.getByRole("row").nth(1);
    expect(await row.getByRole("cell").first().textContent()).toBe(`…${token.slice(-4)}`);
    expect(await row.getByRole("cell").nth(3).textContent()).not.toBe("never");
    expect(await page.content()).not.toContain(token);
    await page.reload();
    await card("deploy-bot").getByRole("table", { name: "Tokens of deploy-bot" }).waitFor();
    expect(await page.content()).not.toContain(token);
    await screenshot(page, "service-accounts");
  });

  it("revokes the token after a confirmation; it stops working", async () => {
    const revoke = page.getByRole("button", { name: `Revoke token …${token.slice(-4)} of deploy-bot` });
    await revoke.click();
    const confirm = page.getByRole("dialog", { name: `Revoke token …${token.slice(-4)} of deploy-bot?` });
    await confirm.getByRole("button", { name: "Cancel" }).click();
    await confirm.waitFor({ state: "detached" });
    expect((await http("GET", "/api/v1/me", token)).status).toBe(200);

    await revoke.click();
    await confirm.getByRole("button", { name: "Revoke token" }).click();
    await card("deploy-bot").getByText("No token.").waitFor();
    expect((await http("GET", "/api/v1/me", token)).status).toBe(401);
  });

  it("deletes the account after a confirmation, with its tokens", async () => {
    // A second token, to see it go with the account.
    await page.getByRole("button", { name: "New token for deploy-bot" }).click();
    await page.getByRole("dialog", { name: "New token for deploy-bot" }).getByRole("button", { name: "Create token" }).click();
    const secret = page.getByRole("dialog", { name: "deploy-bot's new token" });
    const second = await secret.getByRole("textbox", { name: "Secret Token" }).inputValue();
    await secret.getByRole("button", { name: "I have copied the token" }).click();
    expect((await http("GET", "/api/v1/me", second)).status).toBe(200);
    // Without an expiry date it works until revoked.
    const row = card("deploy-bot").getByRole("table", { name: "Tokens of deploy-bot" }).getByRole("row").nth(1);
    expect(await row.getByRole("cell").nth(3).textContent()).toBe("never");

    await page.getByRole("button", { name: "Delete deploy-bot" }).click();
    const confirm = page.getByRole("dialog", { name: "Delete deploy-bot?" });
    await confirm.getByRole("button", { name: "Delete service account" }).click();
    await card("deploy-bot").waitFor({ state: "detached" });
    await card("scim-Entra ID").waitFor();
    expect((await http("GET", "/api/v1/me", second)).status).toBe(401);
    const listed = await http("GET", `/api/v1/${tenant}/service-accounts`, adminToken);
    expect(listed.json.results.map((a: { name: string }) => a.name)).toEqual(["scim-Entra ID"]);
    expect(errors).toEqual([]);
  });
});
