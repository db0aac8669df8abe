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
    const res = await scim("POST", "/Users", { schemas: [USER_SCHEMA], userName, displayName, externalId: `ext-${key}`, active: true });
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

    await page.getByLabel("Role", { exact: true }).selectOption({ label: "FlowEditors" });
    await page.getByLabel("Namespace (optional)").fill("company.team");
    await page.getByRole("button", { name: "Bind role" }).click();
    const bindings = page.getByRole("table", { name: "Bindings" });
    await bindings.getByText("FlowEditors").waitFor();
    expect(await bindings.getByText("company.team").isVisible()).toBe(true);
    await screenshot(page, "group");

    const stored = await http("GET", `/api/v1/${tenant}/bindings?subjectType=GROUP&subjectId=${ids.group}`, adminToken);
    expect(stored.json.results).toMatchObject([{ roleId: ids.role, subjectType: "GROUP", subjectId: ids.group, namespace: "company.team" }]);

    await page.getByRole("link", { name: "Roles and bindings" }).click();
    const all = page.getByRole("table", { name: "Bindings" });
    await all.getByText("Group: Engineering").waitFor();
    expect(await page.getByRole("table", { name: "Roles" }).getByText("FlowEditors").isVisible()).toBe(true);
    await screenshot(page, "roles-and-bindings");

    // Bind the same role to a user from this page, then remove the group's binding.
    await page.getByLabel("Subject type").selectOption("USER");
    await page.getByLabel("Subject", { exact: true }).selectOption({ label: "ada@contoso.example (Ada Lovelace)" });
    await page.getByLabel("Role", { exact: true }).selectOption({ label: "FlowEditors" });
    await page.getByRole("button", { name: "Bind role" }).click();
    await all.getByText("User: ada@contoso.example").waitFor();

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
