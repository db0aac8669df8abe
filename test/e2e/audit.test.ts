/**
 * The audit page names what each event touched (issue 23, items 4 and 8): the name the resource
 * had then, linked to the user's or group's page; a Name filter driven by the URL, so a user's
 * history is a link; refusals called refused; and filters that fit a desktop and a phone.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIntegration, createTenant, GROUP_SCHEMA, http, newContext, signedInSession, signIn, USER_SCHEMA } from "./browser";

let browser: Browser;
let page: Page;
let errors: string[];
let tenant = "";
let integration: { id: string; scim: string; token: string };
const ids: Record<string, string> = {};
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

beforeAll(async () => {
  tenant = await createTenant("names");
  integration = await createIntegration(tenant, "Entra ID with a rather long integration name");
  const scim = (method: string, path: string, body?: unknown) => http(method, `${integration.scim}${path}`, integration.token, body);
  const ada = await scim("POST", "/Users", { schemas: [USER_SCHEMA], userName: "ada@example.com", displayName: "Ada Lovelace" });
  expect(ada.status).toBe(201);
  ids.ada = ada.json.id;
  // Renamed: her first event keeps the name she had then.
  const renamed = await scim("PATCH", `/Users/${ids.ada}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "userName", value: "ada.lovelace@example.com" }] });
  expect(renamed.status).toBe(200);
  expect((await scim("POST", "/Users", { schemas: [USER_SCHEMA], userName: "ADA.lovelace@example.com" })).status).toBe(409);
  const group = await scim("POST", "/Groups", { schemas: [GROUP_SCHEMA], displayName: "Analytical Engines", members: [{ value: ids.ada }] });
  expect(group.status).toBe(201);
  ids.group = group.json.id;
  // Another tenant's user of the same name: never in this tenant's log.
  const other = await createIntegration(await createTenant("elsewhere"), "Other");
  expect((await http("POST", `${other.scim}/Users`, other.token, { schemas: [USER_SCHEMA], userName: "ada@example.com" })).status).toBe(201);

  ({ browser, page, errors } = await signedInSession());
});
afterAll(async () => {
  await browser?.close();
});

const events = () => page.getByRole("table", { name: "Audit events" });
/** The events' rows (not those of the diff tables inside them). */
const eventRows = () => events().locator(":scope > tbody > tr");

describe("names in the audit log", () => {
  it("opens a user's history from a link, by the name she had then, in any case", async () => {
    await page.goto(`/ui/t/${tenant}/audit?resourceName=ADA%40example.com`);
    await page.getByRole("heading", { name: "Audit log" }).waitFor();
    expect(await page.getByLabel("Name", { exact: true }).inputValue()).toBe("ADA@example.com");
    await page.getByText("Showing all events: 1.").waitFor();
    const row = eventRows();
    expect(await row.locator("td").nth(2).textContent()).toBe("CREATE");
    const name = row.getByRole("link", { name: "ada@example.com" });
    expect(await name.getAttribute("href")).toBe(`/ui/t/${tenant}/users/${ids.ada}`);
    expect(await row.textContent()).toContain(ids.ada!);
  });

  it("filters by the Name field, marks the refused write, and links to the user", async () => {
    await page.getByLabel("Name", { exact: true }).fill("ada.lovelace@EXAMPLE.com");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL(/resourceName=ada\.lovelace%40EXAMPLE\.com/);
    await page.getByText("Showing all events: 2.").waitFor();
    const refused = events().locator("tr.refused");
    expect(await refused.count()).toBe(1);
    expect(await refused.getByText("Refused 409").isVisible()).toBe(true);
    // A refused write's name is the one its body carried; it names no resource to link to.
    expect(await refused.getByText("ADA.lovelace@example.com", { exact: true }).isVisible()).toBe(true);
    expect(await refused.getByRole("link").count()).toBe(0);
    expect(await page.getByLabel("Outcome").locator("option:checked").textContent()).toBe("All outcomes");
    expect(await page.getByLabel("Outcome").locator("option", { hasText: "Refused or failed" }).count()).toBe(1);

    const update = eventRows().filter({ hasText: "UPDATE" });
    await update.getByRole("link", { name: "ada.lovelace@example.com" }).click();
    await page.waitForURL(new RegExp(`/ui/t/${tenant}/users/${ids.ada}$`));
  });

  it("names and links a group's events", async () => {
    await page.goto(`/ui/t/${tenant}/audit?resourceType=GROUP`);
    const row = eventRows().first();
    await row.waitFor();
    const name = row.getByRole("link", { name: "Analytical Engines" });
    expect(await name.getAttribute("href")).toBe(`/ui/t/${tenant}/groups/${ids.group}`);
    await page.getByLabel("Name", { exact: true }).fill("analytical");
    await page.getByRole("button", { name: "Filter" }).click();
    // The whole name, not a part of it.
    await page.getByText("No event matches these filters.").waitFor();
    expect(new URL(page.url()).searchParams.get("resourceType")).toBe("GROUP");
    expect(errors).toEqual([]);
  });
});

/** How the integration filter shows its chosen name: the text's width, the box's size. */
const integrationBox = (p: Page) =>
  p.getByLabel("Integration").evaluate((el) => {
    const select = el as HTMLSelectElement;
    const style = getComputedStyle(select);
    const context = document.createElement("canvas").getContext("2d")!;
    context.font = style.font;
    return {
      text: select.selectedOptions[0]!.text,
      textWidth: context.measureText(select.selectedOptions[0]!.text).width,
      width: select.clientWidth,
      height: select.clientHeight,
      lineHeight: parseFloat(style.lineHeight),
    };
  });

describe("the filters' layout", () => {
  it("shows the chosen integration's whole name at 1280×800", async () => {
    await page.goto(`/ui/t/${tenant}/audit?integrationId=${integration.id}`);
    await events().waitFor();
    const box = await integrationBox(page);
    expect(box.text).toBe("Entra ID with a rather long integration name");
    // On one line, with room for the padding and the arrow.
    expect(box.textWidth + 48).toBeLessThanOrEqual(box.width);
    expect(box.height).toBeLessThan(2 * box.lineHeight);
  });

  it("wraps it rather than cut it on a 390 px phone, and the page does not scroll sideways", async () => {
    const context = await newContext(browser, { width: 390, height: 844 });
    const phone = await context.newPage();
    await signIn(phone);
    await phone.getByRole("heading", { name: "Tenants" }).waitFor();
    await phone.goto(`/ui/t/${tenant}/audit?integrationId=${integration.id}`);
    await phone.getByRole("table", { name: "Audit events" }).waitFor();
    const box = await integrationBox(phone);
    // Wider than the box: shown on two lines.
    expect(box.textWidth + 48).toBeGreaterThan(box.width);
    expect(box.height).toBeGreaterThanOrEqual(2 * box.lineHeight);
    expect(await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await context.close();
  });
});
