/**
 * What provisioning produced, seen in the console: users (search, access, groups), a provisioned
 * group bound to a role, and the SCIM changes (and a refused call) in the audit log.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminToken, createIntegration, createTenant, GROUP_SCHEMA, http, screenshot, signedInSession, USER_SCHEMA } from "./browser";

let browser: Browser;
let page: Page;
let errors: string[];
let tenant = "";
let integration: { id: string; scim: string; token: string };
const ids: Record<string, string> = {};

beforeAll(async () => {
  tenant = await createTenant("contoso");
  integration = await createIntegration(tenant, "Entra ID");
  const scim = (method: string, path: string, body?: unknown) => http(method, `${integration.scim}${path}`, integration.token, body);
  // What Entra sends first: two users, a group with one of them, a PATCH, and a duplicate (refused, 409).
  for (const [key, userName, displayName] of [
    ["ada", "ada@contoso.example", "Ada Lovelace"],
    ["alan", "alan@contoso.example", "Alan Turing"],
  ] as const) {
    const [givenName, familyName] = displayName.split(" ");
    const res = await scim("POST", "/Users", {
      schemas: [USER_SCHEMA],
      userName,
      displayName,
      name: { givenName, familyName },
      emails: [{ value: userName, type: "work", primary: true }],
      externalId: `ext-${key}`,
      active: true,
    });
    expect(res.status).toBe(201);
    ids[key] = res.json.id;
  }
  const group = await scim("POST", "/Groups", { schemas: [GROUP_SCHEMA], displayName: "Engineering", externalId: "grp-eng", members: [{ value: ids.ada }] });
  expect(group.status).toBe(201);
  ids.group = group.json.id;
  const patch = await scim("PATCH", `/Users/${ids.alan}`, {
    schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    Operations: [{ op: "Replace", path: "active", value: "False" }],
  });
  expect(patch.status).toBe(200);
  expect((await scim("POST", "/Users", { schemas: [USER_SCHEMA], userName: "ada@contoso.example" })).status).toBe(409);
  // A role to give the group.
  const role = await http("POST", `/api/v1/${tenant}/roles`, adminToken, { name: "FlowEditors", permissions: { FLOWS: ["READ", "UPDATE"] } });
  expect(role.status).toBe(201);
  ids.role = role.json.id;

  ({ browser, page, errors } = await signedInSession());
});
afterAll(async () => {
  await browser?.close();
});

/** Takes the "Role bound." toast off before a screenshot (it would cover the table). */
const clearToasts = () => page.evaluate(() => document.getElementById("toasts")?.replaceChildren());

describe("users", () => {
  it("lists provisioned users with state and groups, searches them, and shows their tenant access", async () => {
    await page.goto(`/ui/t/${tenant}/users`);
    const table = page.getByRole("table", { name: "Users" });
    await table.waitFor();
    const ada = table.getByRole("row").filter({ hasText: "ada@contoso.example" });
    expect(await ada.getByText("Active", { exact: true }).isVisible()).toBe(true);
    expect(await ada.getByRole("link", { name: "Engineering" }).isVisible()).toBe(true);
    const alan = table.getByRole("row").filter({ hasText: "alan@contoso.example" });
    expect(await alan.getByText("Inactive").isVisible()).toBe(true);
    await screenshot(page, "users");
    // The Search button sits on its input's line (a hint goes under both).
    const input = (await page.getByLabel("Search users").boundingBox())!;
    const button = (await page.getByRole("button", { name: "Search" }).boundingBox())!;
    expect(Math.abs(button.y - input.y)).toBeLessThanOrEqual(1);
    expect(Math.abs(button.y + button.height - (input.y + input.height))).toBeLessThanOrEqual(1);
    expect(button.x).toBeGreaterThan(input.x + input.width);

    await page.getByLabel("Search users").fill("turing");
    await page.getByLabel("Search users").press("Enter");
    await page.waitForURL(/search=turing/);
    await page.getByText("Showing all users: 1.").waitFor();
    expect(await page.getByRole("table", { name: "Users" }).getByRole("row").count()).toBe(2); // header + Alan
    await page.getByRole("button", { name: "Show tenants" }).click();
    await page.getByRole("link", { name: tenant }).waitFor();
    expect(await page.getByText("inactive · since").isVisible()).toBe(true);

    await page.getByLabel("Search users").fill("nobody-here");
    await page.getByLabel("Search users").press("Enter");
    await page.getByText("No user's userName or display name contains “nobody-here”.").waitFor();
  });
});

describe("a user's page", () => {
  it("shows the profile as this tenant sees it, with linked groups and a link to its history", async () => {
    await page.goto(`/ui/t/${tenant}/users`);
    await page.getByRole("link", { name: "ada@contoso.example" }).click();
    await page.getByRole("heading", { name: "Profile in this tenant" }).waitFor();
    const terms = await page.locator("dl.profile dt").allTextContents();
    expect(terms).toEqual(["userName", "Name", "Display name", "Emails", "externalId", "State", "Groups", "Provisioned here", "Last changed"]);
    const value = (term: string) => page.locator("dl.profile dt", { hasText: new RegExp(`^${term}$`) }).locator("xpath=following-sibling::dd[1]");
    expect(await value("userName").textContent()).toBe("ada@contoso.example");
    expect(await value("Name").textContent()).toBe("Ada Lovelace");
    expect(await value("Display name").textContent()).toBe("Ada Lovelace");
    expect(await value("Emails").textContent()).toBe("ada@contoso.example (work) · primary");
    expect(await value("externalId").textContent()).toBe("ext-ada");
    expect(await value("State").textContent()).toBe("Active");
    expect(await value("Groups").getByRole("link", { name: "Engineering" }).getAttribute("href")).toBe(`/ui/t/${tenant}/groups/${ids.group}`);
    expect(await value("Provisioned here").textContent()).toMatch(/\d/);
    const history = page.getByRole("link", { name: "History in the audit log" });
    expect(await history.getAttribute("href")).toBe(`/ui/t/${tenant}/audit?resourceName=${encodeURIComponent("ada@contoso.example")}`);
    await history.click();
    await page.waitForURL((url) => url.pathname === `/ui/t/${tenant}/audit` && url.searchParams.get("resourceName") === "ada@contoso.example");
  });
});

describe("tenant isolation in the console", () => {
  it("shows a tenant only its own view of a person another tenant also provisioned; the operator sees each view", async () => {
    const other = await createTenant("fabrikam");
    const otherIntegration = await createIntegration(other, "Fabrikam Entra");
    const joined = await http("POST", `${otherIntegration.scim}/Users`, otherIntegration.token, {
      schemas: [USER_SCHEMA],
      userName: "ada@contoso.example",
      displayName: "Augusta Ada King",
      title: "Countess",
    });
    expect(joined.status).toBe(201);
    expect(joined.json.id).toBe(ids.ada);

    await page.goto(`/ui/t/${tenant}/users?search=augusta`);
    await page.getByText("No user's userName or display name contains “augusta”.").waitFor();
    await page.goto(`/ui/t/${tenant}/users?search=ada`);
    const row = page.getByRole("table", { name: "Users" }).getByRole("row").filter({ hasText: "ada@contoso.example" });
    await row.waitFor();
    expect(await row.getByText("Ada Lovelace").isVisible()).toBe(true);
    expect(await page.getByText("Augusta Ada King").count()).toBe(0);
    // The operator's instance view lists every tenant's own view of the person.
    await row.getByRole("button", { name: "Show tenants" }).click();
    await row.getByRole("link", { name: other }).waitFor();
    expect(await row.getByText("ada@contoso.example (Augusta Ada King) · active").isVisible()).toBe(true);
    expect(await row.getByText("ada@contoso.example (Ada Lovelace) · active").isVisible()).toBe(true);
    expect(errors).toEqual([]);
  });
});

describe("groups and bindings", () => {
  it("binds a role to a provisioned group, shows it on the group and in Roles and bindings, and removes it", async () => {
    await page.goto(`/ui/t/${tenant}/groups`);
    await page.getByRole("link", { name: "Engineering" }).click();
    await page.getByRole("heading", { name: "Engineering", level: 1 }).waitFor();
    await page.getByRole("table", { name: "Members" }).getByText("ada@contoso.example").waitFor();
    await page.getByText("No bindings.").waitFor();
    expect(await page.getByText(/member ·/).textContent()).toContain(" · 1 member · ");

    // No role is preselected: Bind role refuses until one is chosen, and binds nothing.
    const role = page.getByLabel("Role", { exact: true });
    expect(await role.inputValue()).toBe("");
    expect(await role.locator("option:checked").textContent()).toBe("Choose a role");
    await page.getByRole("button", { name: "Bind role" }).click();
    expect(await page.getByRole("alert").textContent()).toBe("Choose a role to bind: none is picked yet.");
    expect(await role.getAttribute("aria-invalid")).toBe("true");
    expect((await http("GET", `/api/v1/${tenant}/bindings?subjectType=GROUP&subjectId=${ids.group}`, adminToken)).json.results).toEqual([]);
    // The integrations' role says whom it is for, and warns when picked for a group.
    const note = page.getByRole("note").filter({ hasText: "SCIMProvisioner is the role of provisioning integrations" });
    expect(await note.isVisible()).toBe(false);
    await role.selectOption({ label: "SCIMProvisioner (provisioning integrations)" });
    expect(await note.isVisible()).toBe(true);

    await role.selectOption({ label: "FlowEditors" });
    expect(await note.isVisible()).toBe(false);
    await page.getByLabel("Namespace (optional)").fill("company.team");
    await page.getByRole("button", { name: "Bind role" }).click();
    const bindings = page.getByRole("table", { name: "Bindings" });
    await bindings.getByText("FlowEditors").waitFor();
    expect(await bindings.getByText("company.team").isVisible()).toBe(true);
    await clearToasts();
    await screenshot(page, "group");

    const stored = await http("GET", `/api/v1/${tenant}/bindings?subjectType=GROUP&subjectId=${ids.group}`, adminToken);
    expect(stored.json.results).toMatchObject([{ roleId: ids.role, subjectType: "GROUP", subjectId: ids.group, namespace: "company.team" }]);

    await page.getByRole("link", { name: "Roles and bindings" }).click();
    const all = page.getByRole("table", { name: "Bindings" });
    await all.getByText("Group: Engineering").waitFor();
    expect(await page.getByRole("table", { name: "Roles" }).getByText("FlowEditors").isVisible()).toBe(true);
    // Bindings by name: the role, and the subject linked to its page; no id prefixes.
    expect(await all.getByRole("link", { name: "Engineering" }).getAttribute("href")).toBe(`/ui/t/${tenant}/groups/${ids.group}`);
    await all.getByText("Service account: scim-Entra ID").waitFor();
    expect(await all.textContent()).not.toMatch(/[0-9a-f]{8}-?/);
    // The integration's own binding goes with the integration: a link there, no Remove button.
    expect(await all.getByRole("button", { name: /^Remove binding of SCIMProvisioner/ }).count()).toBe(0);
    const its = all.getByRole("link", { name: "The binding of scim-Entra ID belongs to its integration, on Provisioning" });
    expect(await its.getAttribute("href")).toBe(`/ui/t/${tenant}/provisioning`);
    expect(await all.getByRole("button", { name: "Remove binding of FlowEditors to Engineering" }).count()).toBe(1);
    // The machine role is marked as such in the roles list.
    const provisioner = page.getByRole("table", { name: "Roles" }).getByRole("row").filter({ hasText: "SCIMProvisioner" });
    expect(await provisioner.getByText("machine role").isVisible()).toBe(true);
    expect(await provisioner.textContent()).toContain("Not for people.");
    // "Find a user" is for user subjects only.
    const find = page.getByLabel("Find a user");
    expect(await page.getByLabel("Subject type").inputValue()).toBe("GROUP");
    expect(await find.isVisible()).toBe(false);
    await page.getByLabel("Subject type").selectOption("SERVICE_ACCOUNT");
    expect(await find.isVisible()).toBe(false);
    await page.getByLabel("Subject type").selectOption("GROUP");
    await clearToasts();
    await screenshot(page, "roles-and-bindings");

    // Bind the same role to a user from this page, then remove the group's binding.
    await page.getByLabel("Subject type").selectOption("USER");
    expect(await find.isVisible()).toBe(true);
    await page.getByLabel("Subject", { exact: true }).selectOption({ label: "ada@contoso.example (Ada Lovelace)" });
    await page.getByLabel("Role", { exact: true }).selectOption({ label: "FlowEditors" });
    await page.getByRole("button", { name: "Bind role" }).click();
    await all.getByText("User: ada@contoso.example").waitFor();
    expect(await all.getByRole("link", { name: "ada@contoso.example" }).getAttribute("href")).toBe(`/ui/t/${tenant}/users/${ids.ada}`);

    await page.getByRole("button", { name: "Remove binding of FlowEditors to Engineering" }).click();
    await page.getByRole("dialog", { name: "Remove this binding?" }).getByRole("button", { name: "Remove binding" }).click();
    await all.getByText("Group: Engineering").waitFor({ state: "detached" });
    expect((await http("GET", `/api/v1/${tenant}/bindings?subjectType=GROUP&subjectId=${ids.group}`, adminToken)).json.results).toEqual([]);
  });

  it("reports a refused binding in words", async () => {
    await page.goto(`/ui/t/${tenant}/roles`);
    await page.getByLabel("Subject type").selectOption("USER");
    await page.getByLabel("Subject", { exact: true }).selectOption({ label: "ada@contoso.example (Ada Lovelace)" });
    await page.getByLabel("Role", { exact: true }).selectOption({ label: "FlowEditors" });
    await page.getByRole("button", { name: "Bind role" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/^That conflicts with what already exists\./);
  });
});

describe("roles", () => {
  it("creates a role from the permission grid, edits it, and deletes it once unbound", async () => {
    await page.goto(`/ui/t/${tenant}/roles`);
    await page.getByRole("button", { name: "Create role" }).click();
    const dialog = page.getByRole("dialog", { name: "Create a role" });
    // The whole grid and its buttons fit 1280×800 without scrolling the dialog.
    for (const name of ["Save role", "Cancel"]) {
      const box = (await dialog.getByRole("button", { name }).boundingBox())!;
      expect(box.y + box.height, name).toBeLessThanOrEqual(800);
    }
    expect(await dialog.evaluate((el) => el.scrollHeight - el.clientHeight)).toBeLessThanOrEqual(0);
    await dialog.getByLabel("Name", { exact: true }).fill("Auditors");
    await dialog.getByRole("checkbox", { name: "AUDIT_LOGS READ" }).check();
    await dialog.getByRole("checkbox", { name: "USERS READ" }).check();
    await dialog.getByRole("button", { name: "Save role" }).click();
    const roles = page.getByRole("table", { name: "Roles" });
    await roles.getByText("Auditors").waitFor();
    const created = (await http("GET", `/api/v1/${tenant}/roles?limit=200`, adminToken)).json.results.find((r: { name: string }) => r.name === "Auditors");
    expect(created.permissions).toEqual({ AUDIT_LOGS: ["READ"], USERS: ["READ"] });

    await page.getByRole("button", { name: "Edit role Auditors" }).click();
    const edit = page.getByRole("dialog", { name: "Edit role Auditors" });
    expect(await edit.getByRole("checkbox", { name: "AUDIT_LOGS READ" }).isChecked()).toBe(true);
    await edit.getByRole("checkbox", { name: "USERS READ" }).uncheck();
    await edit.getByRole("button", { name: "Save role" }).click();
    await edit.waitFor({ state: "detached" });
    await roles.getByText("AUDIT_LOGS").waitFor();
    expect((await http("GET", `/api/v1/${tenant}/roles/${created.id}`, adminToken)).json.permissions).toEqual({ AUDIT_LOGS: ["READ"] });

    // A bound role cannot go: the reason is given in words.
    await page.getByRole("button", { name: "Delete role FlowEditors" }).click();
    await page.getByRole("dialog", { name: "Delete the role FlowEditors?" }).getByRole("button", { name: "Delete role" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/^That conflicts with what already exists\./);

    await page.getByRole("button", { name: "Delete role Auditors" }).click();
    await page.getByRole("dialog", { name: "Delete the role Auditors?" }).getByRole("button", { name: "Delete role" }).click();
    await roles.getByText("Auditors").waitFor({ state: "detached" });
    expect((await http("GET", `/api/v1/${tenant}/roles/${created.id}`, adminToken)).status).toBe(404);
  });
});

describe("audit log", () => {
  it("finds a SCIM change by integration, resource and action, shows its diff, and marks the refused call", async () => {
    await page.goto(`/ui/t/${tenant}/provisioning`);
    await page.getByRole("link", { name: "Audit log of Entra ID" }).click();
    await page.getByRole("heading", { name: "Audit log" }).waitFor();
    expect(await page.getByLabel("Integration").inputValue()).toBe(integration.id);
    const events = page.getByRole("table", { name: "Audit events" });
    const refused = events.locator("tr.refused");
    await refused.first().waitFor();
    expect(await refused.count()).toBe(1);
    expect(await events.locator("tr.failed").count()).toBe(0);
    expect(await refused.getByText("Refused 409").isVisible()).toBe(true);
    expect(await refused.textContent()).toContain("ada@contoso.example");
    // Each event names its resource as it was then, linked to the user's or group's page.
    const group = events.getByRole("link", { name: "Engineering" });
    expect(await group.getAttribute("href")).toBe(`/ui/t/${tenant}/groups/${ids.group}`);
    expect(await events.getByRole("link", { name: "alan@contoso.example" }).first().getAttribute("href")).toBe(`/ui/t/${tenant}/users/${ids.alan}`);
    await screenshot(page, "audit-log");

    await page.getByLabel("Resource").selectOption("USER");
    await page.getByLabel("Action").selectOption("UPDATE");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL(/action=UPDATE/);
    await page.getByText("Showing all events: 1.").waitFor();
    const row = page.getByRole("table", { name: "Audit events" }).getByRole("row").nth(1);
    expect(await row.textContent()).toContain(ids.alan!);
    await row.getByText("1 field changed").click();
    const diff = row.getByRole("table", { name: "Changed fields" });
    await diff.waitFor();
    expect(await diff.getByRole("row").nth(1).textContent()).toBe("activetruefalse");

    await page.getByLabel("Action").selectOption("DELETE");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.getByText("No event matches these filters.").waitFor();
    expect(errors).toEqual([]);
  });
});
