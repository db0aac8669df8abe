/** The console's SCIM schemas section: declare an extension, see it govern SCIM, remove it. */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIntegration, createTenant, http, screenshot, signedInSession, USER_SCHEMA } from "./browser";

const EXT = "urn:ietf:params:scim:schemas:extension:Contoso:2.0:User";
let browser: Browser;
let page: Page;
let errors: string[];
let tenant = "";
let integration: { id: string; scim: string; token: string };

beforeAll(async () => {
  tenant = await createTenant("schemas");
  integration = await createIntegration(tenant);
  ({ browser, page, errors } = await signedInSession());
});
afterAll(async () => {
  await browser?.close();
});

describe("SCIM schemas", () => {
  it("declares an extension from the console; SCIM then validates, filters and keeps its unique values unique; removal keeps the data", async () => {
    await page.goto(`/ui/t/${tenant}/schemas`);
    await page.getByText("No schema extension is declared.").waitFor();
    await page.getByRole("button", { name: "Declare an extension" }).click();
    const dialog = page.getByRole("dialog", { name: "Declare a schema extension" });
    await dialog.getByLabel("Name", { exact: true }).fill("ContosoUser");
    // Bad JSON is caught before anything is sent.
    const attributes = dialog.getByLabel("Attributes (JSON)");
    const template = await attributes.inputValue();
    await attributes.fill("[{");
    await dialog.getByRole("button", { name: "Save extension" }).click();
    await dialog.getByText("The attributes are not valid JSON").waitFor();
    // A definition the API refuses shows the API's own reason.
    await attributes.fill(JSON.stringify([{ name: "x", type: "complex" }]));
    await dialog.getByRole("button", { name: "Save extension" }).click();
    await dialog.getByText(/complex attribute needs subAttributes/).waitFor();
    await attributes.fill(template);
    await dialog.getByRole("button", { name: "Save extension" }).click();
    const table = page.getByRole("table", { name: "Schema extensions" });
    await table.waitFor();
    expect(await table.getByText(EXT).isVisible()).toBe(true);
    expect(await table.getByText(": string (unique)").isVisible()).toBe(true);
    await screenshot(page, "scim-schemas");

    const scim = (method: string, path: string, body?: unknown) => http(method, `${integration.scim}${path}`, integration.token, body);
    const schemas = await scim("GET", "/Schemas");
    expect(schemas.json.Resources.map((s: { id: string }) => s.id)).toContain(EXT);
    const first = await scim("POST", "/Users", { schemas: [USER_SCHEMA, EXT], userName: "console-ext@example.com", [EXT]: { costCenter: "CC", badgeNumber: "7" } });
    expect(first.status).toBe(201);
    expect((await scim("POST", "/Users", { userName: "console-ext2@example.com", [EXT]: { badgeNumber: "7" } })).status).toBe(409);

    await table.getByRole("button", { name: "Remove ContosoUser" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Remove declaration" }).click();
    await page.getByText("No schema extension is declared.").waitFor();
    expect((await scim("GET", `/Users/${first.json.id}`)).json[EXT]).toEqual({ costCenter: "CC", badgeNumber: "7" });
    expect(errors).toEqual([]);
  });
});
