/** Sign-in and sign-out in real Chromium: where the token lives and where it never goes. */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminToken, createIntegration, createTenant, http, launchChromium, newContext, screenshot, signIn, watchErrors } from "./browser";

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

describe("sign-in", () => {
  it("refuses a wrong token in words, then signs in with the admin token, keeping it in sessionStorage only", async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    const errors = watchErrors(page);
    const requests: string[] = [];
    page.on("request", (request) => requests.push(request.url()));

    await page.goto("/ui/");
    // The console first asks whether a Cloudflare Access session signs the visitor in (none here).
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await screenshot(page, "sign-in");
    await signIn(page, "not-a-token");
    await page.getByRole("alert").waitFor();
    expect(await page.getByRole("alert").textContent()).toContain("Your token was not accepted");
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);

    await signIn(page);
    await page.getByRole("heading", { name: "Tenants" }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem("scim-edge.token"))).toBe(adminToken);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    expect((await context.cookies()).length).toBe(0);
    expect(requests.some((url) => url.includes(adminToken))).toBe(false);
    expect(page.url()).not.toContain(adminToken);

    // A reload keeps the session (same tab); a new tab of another profile does not share it.
    await page.reload();
    await page.getByRole("heading", { name: "Tenants" }).waitFor();
    expect(errors).toEqual([]);
    await context.close();
  });

  it("takes the line grep shows (ADMIN_TOKEN=…) as the token alone", async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto("/ui/");
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    expect(await page.getByText("npm run --silent admin-token").count()).toBe(1);
    await signIn(page, `  ADMIN_TOKEN=${adminToken}\n`);
    await page.getByRole("heading", { name: "Tenants" }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem("scim-edge.token"))).toBe(adminToken);
    await context.close();
  });

  it("signs out: the token is forgotten and the console asks for one again", async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page);
    await page.getByRole("heading", { name: "Tenants" }).waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem("scim-edge.token"))).toBeNull();
    // A deep link without a token shows the sign-in form, not data.
    await page.goto("/ui/tenants");
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await context.close();
  });

  it("takes a service-account token to its own tenant, showing only the sections it may read", async () => {
    const tenant = await createTenant("sa");
    const { token } = await createIntegration(tenant);
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, token);
    // SCIMProvisioner reads users, groups and bindings; not integrations, roles nor the audit log.
    await page.getByRole("heading", { name: "Users" }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/ui/t/${tenant}/users`);
    await expect(page.getByText(`Service account of tenant ${tenant}`).isVisible()).resolves.toBe(true);
    const tabs = page.getByRole("navigation", { name: "Tenant sections" }).getByRole("link");
    expect(await tabs.allTextContents()).toEqual(["Users", "Groups", "Roles and bindings", "SCIM schemas"]);
    // SCIMProvisioner may not read roles: the view says so in words instead of failing.
    await page.getByRole("link", { name: "Roles and bindings" }).click();
    await page.getByText("This token may not read roles (ROLES:READ).").waitFor();
    await context.close();
  });

  it("asks again when the token is rotated meanwhile, then returns to the same page", async () => {
    const tenant = await createTenant("rot");
    const { id, token } = await createIntegration(tenant);
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, token);
    await page.getByRole("heading", { name: "Users" }).waitFor();
    await page.getByRole("link", { name: "Groups" }).click();
    await page.getByRole("heading", { name: "Groups" }).waitFor();
    const rotated = await http("POST", `/api/v1/${tenant}/integrations/${id}/token`, adminToken);
    expect(rotated.status).toBe(200);

    await page.getByRole("link", { name: "Users" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    expect(await page.getByRole("alert").textContent()).toContain("no longer accepted");
    expect(await page.evaluate(() => sessionStorage.getItem("scim-edge.token"))).toBeNull();
    await page.getByLabel("Token").fill(rotated.json.secretToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Users" }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/ui/t/${tenant}/users`);
    await context.close();
  });

  it("answers a malformed or unknown address with a page that says so", async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page);
    await page.getByRole("heading", { name: "Tenants" }).waitFor();
    await page.goto("/ui/t/%E0%A4%A/users");
    await page.getByRole("heading", { name: "Page not found" }).waitFor();
    await page.goto("/ui/nowhere");
    await page.getByRole("heading", { name: "Page not found" }).waitFor();
    await page.getByRole("link", { name: "Go to the start page" }).click();
    await page.getByRole("heading", { name: "Tenants" }).waitFor();
    await context.close();
  });
});
