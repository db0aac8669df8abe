/** The console by keyboard, with labelled fields, at desktop (1280×800) and phone (390×844) widths. */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminToken, createIntegration, createTenant, GROUP_SCHEMA, http, launchChromium, newContext, screenshot, signIn, USER_SCHEMA, watchErrors } from "./browser";

let browser: Browser;
let tenant = "";
let groupId = "";

beforeAll(async () => {
  tenant = await createTenant("layout");
  const { scim, token } = await createIntegration(tenant, "Entra ID with a rather long integration name");
  const user = await http("POST", `${scim}/Users`, token, { schemas: [USER_SCHEMA], userName: "a.very.long.user.name.for.narrow.screens@contoso.example", displayName: "Narrow Screen" });
  const group = await http("POST", `${scim}/Groups`, token, { schemas: [GROUP_SCHEMA], displayName: "Phone Readers", members: [{ value: user.json.id }] });
  groupId = group.json.id;
  // A binding on the group, so that its page has a table with an action in it.
  const role = await http("POST", `/api/v1/${tenant}/roles`, adminToken, { name: "Readers of a rather long role name", permissions: { FLOWS: ["READ"] } });
  await http("POST", `/api/v1/${tenant}/bindings`, adminToken, { roleId: role.json.id, subjectType: "GROUP", subjectId: groupId, namespace: "company.team.data" });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

const pages = () => [
  ["tenants", "/ui/tenants", "Tenants"],
  ["tenant", `/ui/tenants/${tenant}`, "layout tenant"],
  ["provisioning", `/ui/t/${tenant}/provisioning`, "Provisioning"],
  ["users", `/ui/t/${tenant}/users`, "Users"],
  ["groups", `/ui/t/${tenant}/groups`, "Groups"],
  ["group", `/ui/t/${tenant}/groups/${groupId}`, "Phone Readers"],
  ["roles", `/ui/t/${tenant}/roles`, "Roles and bindings"],
  ["service-accounts", `/ui/t/${tenant}/service-accounts`, "Service accounts"],
  ["audit", `/ui/t/${tenant}/audit`, "Audit log"],
] as const;

/** Form controls without a label a screen reader could read. */
const unlabelled = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll("input, select, textarea")]
      .filter((el) => (el as HTMLInputElement).labels?.length === 0 && !el.getAttribute("aria-label"))
      .map((el) => el.outerHTML),
  );

describe("every page", () => {
  it("labels every field and loads without errors at 1280×800", async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    const errors = watchErrors(page);
    await signIn(page);
    await page.getByRole("heading", { name: "Tenants" }).waitFor();
    for (const [, path, heading] of pages()) {
      await page.goto(path);
      await page.getByRole("heading", { name: heading, level: 1 }).waitFor();
      await page.locator(".loading").first().waitFor({ state: "detached" });
      expect(await unlabelled(page), path).toEqual([]);
    }
    expect(errors).toEqual([]);
    await context.close();
  });

  it("fits a phone's width: no sideways scrolling of the page (wide tables scroll in their own box)", async () => {
    const context = await newContext(browser, { width: 390, height: 844 });
    const page = await context.newPage();
    await signIn(page);
    await page.getByRole("heading", { name: "Tenants" }).waitFor();
    for (const [name, path, heading] of pages()) {
      await page.goto(path);
      await page.getByRole("heading", { name: heading, level: 1 }).waitFor();
      await page.locator(".loading").first().waitFor({ state: "detached" });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${path} overflows by ${overflow}px`).toBeLessThanOrEqual(0);
      if (name === "provisioning" || name === "audit" || name === "users" || name === "roles") await screenshot(page, `phone-${name}`);
    }
    await context.close();
  });

  it("keeps every table's actions and links within a phone's width: no column is hidden to the side", async () => {
    const context = await newContext(browser, { width: 390, height: 844 });
    const page = await context.newPage();
    await signIn(page);
    await page.getByRole("heading", { name: "Tenants" }).waitFor();
    for (const [name, path, heading] of pages()) {
      // Their tables are other pages' work; a tenant's page has none.
      if (name === "provisioning" || name === "audit" || name === "tenant") continue;
      await page.goto(path);
      await page.getByRole("heading", { name: heading, level: 1 }).waitFor();
      await page.locator(".loading").first().waitFor({ state: "detached" });
      const controls = page.locator(".table-wrap").locator("button, a");
      const count = await controls.count();
      expect(count, `${path} has a table with a button or a link`).toBeGreaterThan(0);
      for (let i = 0; i < count; i++) {
        const box = (await controls.nth(i).boundingBox())!;
        const what = `${path}: ${await controls.nth(i).textContent()}`;
        expect(box.x, what).toBeGreaterThanOrEqual(0);
        expect(box.x + box.width, what).toBeLessThanOrEqual(390);
      }
      // Nor do the tables scroll inside their own box: what they hold is in view.
      const hidden = await page.evaluate(() => [...document.querySelectorAll(".table-wrap")].filter((el) => el.scrollWidth > el.clientWidth).length);
      expect(hidden, path).toBe(0);
    }
    // The role editor's grid shows every action's column.
    await page.goto(`/ui/t/${tenant}/roles`);
    await page.getByRole("button", { name: "Create role" }).click();
    const dialog = page.getByRole("dialog", { name: "Create a role" });
    for (const action of ["CREATE", "READ", "UPDATE", "DELETE"]) {
      const box = (await dialog.getByRole("checkbox", { name: `SERVICE_ACCOUNTS ${action}` }).boundingBox())!;
      expect(box.x + box.width, action).toBeLessThanOrEqual(390);
    }
    expect(await dialog.locator(".table-wrap").evaluate((el) => el.scrollWidth - el.clientWidth)).toBeLessThanOrEqual(0);
    await context.close();
  });
});

describe("keyboard", () => {
  it("signs in, opens the Create dialog and leaves it with Escape, without a mouse", async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto("/ui/");
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    // The token field has the focus on arrival.
    await page.keyboard.type(adminToken);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Tenants" }).waitFor();

    await page.goto(`/ui/t/${tenant}/provisioning`);
    await page.getByRole("heading", { name: "Provisioning", level: 1 }).waitFor();
    let focused = "";
    for (let i = 0; i < 30 && focused !== "Create"; i++) {
      await page.keyboard.press("Tab");
      focused = await page.evaluate(() => document.activeElement?.textContent ?? "");
    }
    expect(focused).toBe("Create");
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog", { name: "Create a provisioning integration" });
    await dialog.waitFor();
    expect(await page.evaluate(() => document.activeElement?.closest("dialog") !== null)).toBe(true);
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Create");
    await context.close();
  });
});
