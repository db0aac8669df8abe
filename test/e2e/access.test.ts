/**
 * Provisioned identities govern the console: a user's effective permissions and the "Check
 * access" form (as the admin), then sign-in through Cloudflare Access (an assertion in the
 * CF_Authorization cookie, signed by the local stand-in's key): the person sees only their
 * tenant and what their groups' bindings allow, and loses it when Entra deactivates them.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessContext, adminToken, createIntegration, createTenant, http, launchChromium, screenshot, signIn, USER_SCHEMA, watchErrors } from "./browser";

let browser: Browser;
let tenant = "";
let scim: { id: string; scim: string; token: string };
let ada = "";
let group = "";
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

beforeAll(async () => {
  browser = await launchChromium();
  tenant = await createTenant("access");
  scim = await createIntegration(tenant);
  ada = (await http("POST", `${scim.scim}/Users`, scim.token, { schemas: [USER_SCHEMA], userName: "ada@access.example", displayName: "Ada" })).json.id;
  group = (await http("POST", `${scim.scim}/Groups`, scim.token, { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Data team", members: [{ value: ada }] })).json.id;
  const reader = await http("POST", `/api/v1/${tenant}/roles`, adminToken, { name: "Directory reader", permissions: { USERS: ["READ"], GROUPS: ["READ"], BINDINGS: ["READ"], ROLES: ["READ"] } });
  await http("POST", `/api/v1/${tenant}/bindings`, adminToken, { roleId: reader.json.id, subjectType: "GROUP", subjectId: group });
  const editor = await http("POST", `/api/v1/${tenant}/roles`, adminToken, { name: "Flow editor", permissions: { FLOWS: ["READ", "UPDATE"] } });
  await http("POST", `/api/v1/${tenant}/bindings`, adminToken, { roleId: editor.json.id, subjectType: "GROUP", subjectId: group, namespace: "company.team" });
});
afterAll(async () => {
  await browser?.close();
});

/** Asks the page's Check access form. */
async function checkAccess(page: Page, resource: string, action: string, namespace = "") {
  const form = page.getByRole("form", { name: "Check access" });
  await form.getByLabel("Resource").selectOption(resource);
  await form.getByLabel("Action").selectOption(action);
  await form.getByLabel("Namespace (optional)").fill(namespace);
  await form.getByRole("button", { name: "Check" }).click();
  const answer = form.locator(".decision");
  await answer.waitFor();
  return (await answer.textContent()) ?? "";
}

describe("a user's effective permissions in the console", () => {
  it("shows each permission with the path that grants it, and answers Check access", async () => {
    const context = await browser.newContext({ baseURL: (await import("./browser")).baseUrl });
    const page = await context.newPage();
    const errors = watchErrors(page);
    await signIn(page);
    await page.getByRole("heading", { name: "Tenants" }).waitFor();
    await page.goto(`/ui/t/${tenant}/users`);
    await page.getByRole("link", { name: "ada@access.example" }).click();
    await page.getByRole("heading", { name: "Effective permissions" }).waitFor();
    const flows = page.getByRole("table", { name: "FLOWS permissions of ada@access.example" });
    expect(await flows.locator("tbody tr").count()).toBe(2);
    const update = flows.locator("tbody tr").filter({ hasText: "UPDATE" });
    expect(await update.textContent()).toContain("company.team.*");
    expect((await update.textContent())?.replace(/\s+/g, " ")).toMatch(/group Data team → role Flow editor, in namespace company\.team and below/);
    expect(await page.getByRole("table", { name: "USERS permissions of ada@access.example" }).textContent()).toContain("everywhere (tenant-wide)");

    expect(await checkAccess(page, "FLOWS", "UPDATE", "company.team.data")).toMatch(/^Allowed FLOWS:UPDATE in company\.team\.data, through:.*role Flow editor/);
    expect(await checkAccess(page, "FLOWS", "UPDATE", "company.teamwork")).toBe("Denied FLOWS:UPDATE in company.teamwork: no binding grants it.");
    expect(await checkAccess(page, "FLOWS", "DELETE")).toBe("Denied FLOWS:DELETE tenant-wide: no binding grants it.");
    // The profile as this tenant sees it sits above the permissions.
    expect(await page.locator("dl.profile").textContent()).toContain("Data team");
    await screenshot(page, "user-permissions");
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe("sign-in through Cloudflare Access", () => {
  it("signs a provisioned person in without a token and shows only what their bindings allow", async () => {
    const context = await accessContext(browser, "Ada@Access.example");
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto("/ui/");
    await page.getByText("Signed in as Ada@Access.example").waitFor();
    // One tenant: straight into its first readable section; only the sections the bindings open.
    await page.getByRole("heading", { name: "Users" }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/ui/t/${tenant}/users`);
    expect(await page.getByRole("navigation").getByRole("link").allTextContents()).toEqual(["Users", "Groups", "Roles and bindings", "SCIM schemas"]);
    await page.getByRole("link", { name: "ada@access.example" }).click();
    await page.getByRole("heading", { name: "Effective permissions" }).waitFor();
    expect(await checkAccess(page, "USERS", "READ")).toMatch(/^Allowed USERS:READ tenant-wide/);
    // What the bindings do not open is refused by the API, and said so.
    await page.goto(`/ui/t/${tenant}/provisioning`);
    expect(await page.getByRole("alert").first().textContent()).toContain("You lack INTEGRATIONS:READ");
    await screenshot(page, "access-sign-in");
    expect(errors).toEqual([]);

    // Entra deactivates Ada: the same Access session stops working on the next request.
    const off = await http("PATCH", `${scim.scim}/Users/${ada}`, scim.token, { schemas: [PATCH], Operations: [{ op: "replace", path: "active", value: false }] });
    expect(off.status).toBe(200);
    await page.goto(`/ui/t/${tenant}/users`);
    expect(await page.getByRole("alert").first().textContent()).toContain("deactivated");
    await page.goto("/ui/");
    await page.getByRole("heading", { name: "Your tenants" }).waitFor();
    await page.getByText("No tenant has provisioned you as an active user.").waitFor();
    await http("PATCH", `${scim.scim}/Users/${ada}`, scim.token, { schemas: [PATCH], Operations: [{ op: "replace", path: "active", value: true }] });
    await context.close();
  });

  it("refuses an assertion for another application, an expired one, and a person no tenant provisioned", async () => {
    for (const [overrides, check] of [
      [{ aud: ["another-application"] }, "audience"],
      [{ exp: Math.floor(Date.now() / 1000) - 300 }, "expired"],
    ] as const) {
      const context = await accessContext(browser, "ada@access.example", overrides);
      const page = await context.newPage();
      await page.goto("/ui/");
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      const alert = await page.getByRole("alert").textContent();
      expect(alert).toContain("Your Cloudflare Access sign-in was not accepted.");
      expect(alert).toContain(`(${check})`);
      await context.close();
    }
    const context = await accessContext(browser, "stranger@access.example");
    const page = await context.newPage();
    await page.goto("/ui/");
    await page.getByText("Signed in as stranger@access.example").waitFor();
    await page.getByRole("heading", { name: "Your tenants" }).waitFor();
    await page.getByText("No tenant has provisioned you as an active user.").waitFor();
    await context.close();
  });
});

describe("a sign-in that holds nothing", () => {
  it("tells a provisioned person without bindings what to ask for, and whom, in each tenant", async () => {
    await http("POST", `${scim.scim}/Users`, scim.token, { schemas: [USER_SCHEMA], userName: "bob@access.example", displayName: "Bob" });
    const context = await accessContext(browser, "bob@access.example");
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto("/ui/");
    await page.getByRole("heading", { name: "Nothing to show yet" }).waitFor();
    const text = (await page.locator("main").textContent())?.replace(/\s+/g, " ") ?? "";
    expect(text).toContain(`Tenant ${tenant} has provisioned you, but no role is bound to you or to your groups there`);
    expect(text).toContain(`What to ask for: a role binding in tenant ${tenant}`);
    expect(text).toContain("to your user bob@access.example or to one of your groups.");
    expect(text).toContain(`Whom to ask: an administrator of tenant ${tenant}: anyone who may create bindings there (BINDINGS:CREATE`);
    expect(text).not.toContain("service account");

    // Provisioned by a second tenant too: the tenant list says the same for each.
    const other = await createTenant("access-other");
    const otherScim = await createIntegration(other);
    await http("POST", `${otherScim.scim}/Users`, otherScim.token, { schemas: [USER_SCHEMA], userName: "bob@access.example" });
    await page.goto("/ui/");
    await page.getByRole("heading", { name: "Your tenants" }).waitFor();
    for (const t of [tenant, other]) {
      const section = page.locator("section.card").filter({ has: page.getByRole("heading", { name: `Nothing yet in ${t}` }) });
      expect(await section.textContent()).toContain(`a role binding in tenant ${t}`);
    }
    expect(errors).toEqual([]);
    await context.close();
  });

  it("tells a service account without bindings the same, naming the account", async () => {
    const account = await http("POST", `/api/v1/${tenant}/service-accounts`, adminToken, { name: "idle-bot" });
    const token = await http("POST", `/api/v1/${tenant}/service-accounts/${account.json.id}/tokens`, adminToken, {});
    const context = await browser.newContext({ baseURL: (await import("./browser")).baseUrl });
    const page = await context.newPage();
    await signIn(page, token.json.secretToken);
    await page.getByRole("heading", { name: "Nothing to show yet" }).waitFor();
    const text = (await page.locator("main").textContent())?.replace(/\s+/g, " ") ?? "";
    expect(text).toContain(`This service account belongs to tenant ${tenant}, but no role is bound to it there`);
    expect(text).toContain(`What to ask for: a role binding in tenant ${tenant}`);
    expect(text).toContain(`to this service account (${account.json.id}).`);
    expect(text).toContain("Or sign out and sign in with the admin token.");
    await context.close();
  });
});
