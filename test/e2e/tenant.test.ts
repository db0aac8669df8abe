/**
 * A tenant's own page, the operator's: reached from the tenant list's Database column, it shows
 * the tenant and its database; with one database (the default `npm start`, as here) it says why
 * there is nowhere to move it instead of offering a form. A move needs several databases: its
 * form, confirmation and progress are driven here with the API's answers stubbed in the browser
 * (a move against `npm start -- --env sharded` was checked by hand).
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
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
    await screenshot(page, "tenant-one-database");
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

/** The tenant as GET /api/v1/tenants/{id} answers it, on `shard`, maybe moving. */
const answer = (shard: string, moving: Record<string, unknown> | null, extra: Record<string, unknown> = {}) => ({
  id: tenant,
  name: "page tenant",
  createdAt: "2026-01-02T03:04:05.000Z",
  shard,
  moving: moving && { from: "SHARD_1", to: "SHARD_2", startedAt: "2026-01-02T04:00:00.000Z", lastError: null, ...moving },
  ...extra,
});

/** Stubs GET /shards with two shards and GET /tenants/{id} with `states` in turn (the last stays). */
async function stub(states: unknown[]): Promise<{ reads: () => number; moves: unknown[] }> {
  const shards = [
    { name: "SHARD_1", directory: false, tenants: 1, arriving: 0, sizeBytes: 1_200_000 },
    { name: "SHARD_2", directory: false, tenants: 3, arriving: 1, sizeBytes: 45_000_000 },
  ];
  const json = (body: unknown, status = 200) => ({ status, contentType: "application/json", body: JSON.stringify(body) });
  let reads = 0;
  const moves: unknown[] = [];
  await page.route("**/api/v1/shards", (route) => route.fulfill(json({ shards })));
  await page.route(`**/api/v1/tenants/${tenant}`, (route) => route.fulfill(json(states[Math.min(reads++, states.length - 1)])));
  await page.route(`**/api/v1/tenants/${tenant}/move`, (route) => {
    moves.push(route.request().postDataJSON());
    return route.fulfill(json(answer("SHARD_1", { step: "settle", copied: 0, total: null }), 202));
  });
  return { reads: () => reads, moves };
}

describe("moving a tenant (several databases, the API's answers stubbed)", () => {
  afterEach(async () => {
    await page.unrouteAll();
  });

  it("offers the other databases, asks first, posts the move and follows it to the end", async () => {
    const api = await stub([
      answer("SHARD_1", null),
      answer("SHARD_1", { step: "copy", copied: 400, total: 1000 }),
      answer("SHARD_2", { step: "grace", copied: 1000, total: 1000 }),
      answer("SHARD_2", null),
    ]);
    await page.goto(`/ui/tenants/${tenant}`);
    const target = page.getByLabel("Target database");
    await target.waitFor();
    expect(await target.locator("option").allTextContents()).toEqual(["SHARD_2: 3 tenants (1 arriving), 45 MB"]);
    await page.getByRole("button", { name: "Move…" }).click();
    const dialog = page.getByRole("dialog", { name: `Move ${tenant} to SHARD_2?` });
    expect(await dialog.textContent()).toContain("refused with 503 and Retry-After");
    await dialog.getByRole("button", { name: "Move to SHARD_2" }).click();

    // Settling: nothing frozen yet, the rows not counted, so the bar has no value.
    const progress = page.locator(".move-progress");
    await page.getByRole("heading", { name: "Moving to SHARD_2" }).waitFor();
    expect(api.moves).toEqual([{ shard: "SHARD_2" }]);
    expect(await progress.locator("progress").getAttribute("value")).toBeNull();
    expect(await progress.locator(".rows-count").textContent()).toBe("counting the rows to copy…");
    expect(await progress.locator('[aria-current="step"]').textContent()).toBe("Settle");
    expect(await progress.locator("dt:text-is('Writes') + dd").textContent()).toBe("Accepted, on SHARD_1: nothing is frozen yet.");
    expect(await page.getByRole("button", { name: "Move…" }).count()).toBe(0);

    // Copying, read again two seconds later.
    await progress.locator(".rows-count", { hasText: "400 of 1,000 rows (40%)" }).waitFor();
    expect(await progress.locator("progress").evaluate((bar: HTMLProgressElement) => [bar.value, bar.max])).toEqual([400, 1000]);
    expect(await progress.locator('[aria-current="step"]').textContent()).toBe("Copy");
    expect(await progress.locator("dt:text-is('From') + dd").textContent()).toBe("SHARD_1");
    expect(await progress.locator("dt:text-is('Writes') + dd").textContent()).toContain("Refused with 503");
    await screenshot(page, "tenant-move");

    // Switched: the tenant lives on SHARD_2 while SHARD_1 waits to be emptied.
    await progress.locator('[aria-current="step"]', { hasText: "Grace" }).waitFor();
    const database = page.locator("dl.profile").first().locator("dt:text-is('Database') + dd");
    expect(await database.textContent()).toBe("SHARD_2 (moved in; SHARD_1 is emptied shortly)");
    expect(await progress.locator("dt:text-is('Writes') + dd").textContent()).toBe("Accepted, on SHARD_2.");

    // Done: the progress goes, the form offers the way back, and the page stops asking.
    await page.getByText(`${tenant} moved to SHARD_2.`).waitFor();
    expect(await progress.count()).toBe(0);
    expect(await database.textContent()).toBe("SHARD_2");
    expect(await target.locator("option").allTextContents()).toEqual(["SHARD_1: 1 tenant, 1.2 MB"]);
    const reads = api.reads();
    await page.waitForTimeout(3000);
    expect(api.reads()).toBe(reads);
    expect(errors).toEqual([]);
  });

  it("stops refreshing once the page is left", async () => {
    const api = await stub([answer("SHARD_1", { step: "copy", copied: 400, total: 1000 })]);
    await page.goto(`/ui/tenants/${tenant}`);
    await page.getByRole("heading", { name: "Moving to SHARD_2" }).waitFor();
    await vi.waitFor(() => expect(api.reads()).toBeGreaterThanOrEqual(2), { timeout: 5000, interval: 100 });
    await page.getByRole("link", { name: "← Tenants" }).click();
    await page.getByRole("heading", { name: "Tenants", level: 1 }).waitFor();
    const reads = api.reads();
    await page.waitForTimeout(3000);
    expect(api.reads()).toBe(reads);
  });

  it("shows why the last move failed, and a refused move in words", async () => {
    await stub([answer("SHARD_1", null, { lastMoveFailed: "copied rows differ: groups 2 of 3", lastMoveFailedAt: null, lastMoveTo: "SHARD_2" })]);
    await page.route(`**/api/v1/tenants/${tenant}/move`, (route) =>
      route.fulfill({ status: 409, contentType: "application/problem+json", body: JSON.stringify({ status: 409, detail: `Tenant '${tenant}' is already on SHARD_2.` }) }),
    );
    await page.goto(`/ui/tenants/${tenant}`);
    await page.locator(".move-failed").waitFor();
    expect(await page.locator(".move-failed").textContent()).toBe(
      "The last move (to SHARD_2) failed: copied rows differ: groups 2 of 3. The tenant stayed on SHARD_1, where it takes writes again; moving it again starts over.",
    );
    await page.getByRole("button", { name: "Move…" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Move to SHARD_2" }).click();
    const alert = page.locator(".move-form").getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toBe(`That conflicts with what already exists. Tenant '${tenant}' is already on SHARD_2.`);
  });

  it("says which step failed and why while the mover retries it", async () => {
    await stub([answer("SHARD_1", { step: "copy", copied: 400, total: 1000, lastError: { at: "2026-01-02T04:01:00.000Z", message: "Error: D1 is overloaded" } })]);
    await page.goto(`/ui/tenants/${tenant}`);
    const shown = page.locator(".move-progress .move-error");
    await shown.waitFor();
    expect(await shown.textContent()).toContain(": Error: D1 is overloaded. The mover retries it every 5 seconds");
    expect(await page.locator(".stalled").count()).toBe(0);
  });
});
