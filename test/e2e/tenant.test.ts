/**
 * A tenant's own page, the operator's: reached from the tenant list's Database column, it shows
 * the tenant and its database; with one database (the default `npm start`, as here) it says why
 * there is nowhere to move it instead of offering a form. Moves themselves need a sharded
 * deployment (test/e2e/tenant-move.test.ts).
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminToken, createIntegration, createTenant, http, newContext, screenshot, signedInSession, signIn } from "./browser";

let browser: Browser;
let page: Page;
let errors: string[];
let tenant = "";

beforeAll(async () => {
  ({ browser, page, errors } = await signedInSession());
  tenant = await createTenant("page");
});
afterAll(async () => {
  await browser?.close();
});

describe("a tenant's page", () => {
  it("opens from the tenant list's Database column and shows the tenant and its database", async () => {
    await page.goto("/ui/tenants");
    const row = page.getByRole("row").filter({ hasText: tenant });
    await row.getByRole("link", { name: "DB" }).click();
    await page.getByRole("heading", { name: "page tenant", level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/ui/tenants/${tenant}`);
    expect(await page.title()).toBe("page tenant · scim-edge");
    const facts = page.locator("dl.profile").first();
    const value = (term: string) => facts.locator(`dt:text-is("${term}") + dd`).textContent();
    expect(await value("Tenant ID")).toBe(tenant);
    expect(await value("Name")).toBe("page tenant");
    expect(await value("Created")).not.toBe("never");
    expect(await value("Database")).toBe("DB (the only database: it also holds the directory of tenants)");
    // No move under way, none failed.
    expect(await page.getByRole("heading", { name: /^Moving to/ }).count()).toBe(0);
    expect(await page.locator(".move-failed").count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it("says plainly that one database leaves nowhere to move the tenant, instead of a form", async () => {
    await page.goto(`/ui/tenants/${tenant}`);
    await page.getByRole("heading", { name: "Move to another database" }).waitFor();
    const note = page.locator(".one-database");
    expect(await note.textContent()).toContain("This deployment has one database, DB: it holds the directory and every tenant, so there is no other database to move this tenant to.");
    expect(await note.textContent()).toContain("SHARD_1, SHARD_2");
    expect(await page.getByLabel("Target database").count()).toBe(0);
    expect(await page.getByRole("button", { name: /^Move/ }).count()).toBe(0);
    await screenshot(page, "tenant");
    expect(errors).toEqual([]);
  });

  it("links to the tenant's sections and back to the list", async () => {
    await page.goto(`/ui/tenants/${tenant}`);
    await page.getByRole("link", { name: "Users" }).click();
    await page.getByRole("heading", { name: "Users", level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/ui/t/${tenant}/users`);
    await page.goBack();
    await page.getByRole("heading", { name: "page tenant", level: 1 }).waitFor();
    await page.getByRole("link", { name: "← Tenants" }).click();
    await page.getByRole("heading", { name: "Tenants", level: 1 }).waitFor();
    // The tenant's id still opens its sections, as before.
    await page.getByRole("link", { name: tenant, exact: true }).click();
    await page.getByRole("heading", { name: "Provisioning" }).waitFor();
  });

  it("shows a missing tenant's 404 in words", async () => {
    await page.goto("/ui/tenants/no-such-tenant");
    const alert = page.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toBe("Not found: it may have been deleted meanwhile. Tenant 'no-such-tenant' does not exist.");
    expect(await page.getByRole("heading", { name: "Move to another database" }).count()).toBe(0);
  });

  it("is the operator's: a service account's sign-in is told so, without asking the API", async () => {
    const integration = await createIntegration(tenant);
    expect((await http("GET", `/api/v1/tenants/${tenant}`, integration.token)).status).toBe(403);
    const context = await newContext(browser);
    const other = await context.newPage();
    await signIn(other, integration.token);
    await other.getByText(`Service account of tenant ${tenant}`).waitFor();
    const asked: string[] = [];
    other.on("request", (request) => asked.push(new URL(request.url()).pathname));
    await other.goto(`/ui/tenants/${tenant}`);
    await other.getByText("is for the operator of this scim-edge instance").waitFor();
    expect(asked.filter((path) => path.startsWith("/api/v1/tenants"))).toEqual([]);
    await context.close();
    // The admin token reads it, of course.
    expect((await http("GET", `/api/v1/tenants/${tenant}`, adminToken)).json.shard).toBe("DB");
  });
});
