/** Helpers of the browser tests: Chromium as the issue prescribes, the running service, its APIs. */
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { inject } from "vitest";

export const baseUrl = inject("baseUrl");
export const adminToken = inject("adminToken");
const access = inject("access");

/**
 * An assertion as Cloudflare Access would issue it for `email`, signed by the stand-in's key
 * (global-setup.ts); `overrides` changes claims (an expired `exp`, another `aud`…).
 */
export async function accessAssertion(email: string, overrides: Record<string, unknown> = {}): Promise<string> {
  const algorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  const key = await crypto.subtle.importKey("jwk", access.privateJwk, algorithm, false, ["sign"]);
  const now = Math.floor(Date.now() / 1000);
  const payload = { aud: [access.audience], email, exp: now + 600, iat: now, nbf: now, iss: access.teamDomain, type: "app", sub: email, ...overrides };
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const input = `${encode({ alg: "RS256", kid: access.kid, typ: "JWT" })}.${encode(payload)}`;
  const signature = await crypto.subtle.sign(algorithm, key, new TextEncoder().encode(input));
  return `${input}.${Buffer.from(signature).toString("base64url")}`;
}

/** A browser profile carrying a Cloudflare Access session cookie for `email`, as Access sets it. */
export async function accessContext(browser: Browser, email: string, overrides: Record<string, unknown> = {}): Promise<BrowserContext> {
  const context = await newContext(browser);
  await context.addCookies([{ name: "CF_Authorization", value: await accessAssertion(email, overrides), url: baseUrl, httpOnly: true, sameSite: "Lax" }]);
  return context;
}

/** Debian's Chromium, headless, with the switches that keep it off this machine's closed network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: inject("chromiumPath"),
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A fresh browser profile (own sessionStorage), optionally at phone size. */
export async function newContext(browser: Browser, viewport = { width: 1280, height: 800 }): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport, baseURL: baseUrl });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: baseUrl });
  return context;
}

/** Collects uncaught page errors and console errors, so a test can assert there were none. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(err.message));
  page.on("console", (message) => {
    // A refused request (401/403/409) is logged by Chromium as a resource error; those are expected.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) errors.push(message.text());
  });
  return errors;
}

/** Signs in through the form, as a person would. */
export async function signIn(page: Page, token = adminToken): Promise<void> {
  await page.goto("/ui/");
  await page.getByLabel("Token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** One browser with one page signed in as the admin, shared by the tests of a file (a user's journey). */
export async function signedInSession(): Promise<{ browser: Browser; context: BrowserContext; page: Page; errors: string[] }> {
  const browser = await launchChromium();
  const context = await newContext(browser);
  const page = await context.newPage();
  const errors = watchErrors(page);
  await signIn(page);
  await page.getByRole("heading", { name: "Tenants" }).waitFor();
  return { browser, context, page, errors };
}

/** Saves a screenshot under docs/screenshots when SAVE_SCREENSHOTS=1 (npm run screenshots). */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.SAVE_SCREENSHOTS !== "1") return;
  await page.screenshot({ path: `docs/screenshots/${name}.png`, fullPage: true });
}

type Json = Record<string, any>;

/** Calls the service over HTTP from the test (Node's fetch), like curl would. */
export async function http(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = path.includes("/scim/v2") ? "application/scim+json" : "application/json";
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, json: text ? (JSON.parse(text) as Json) : {} };
}

/** Creates a tenant through the admin API (for tests whose subject is elsewhere). */
export async function createTenant(prefix: string): Promise<string> {
  const id = `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
  const res = await http("POST", "/api/v1/tenants", adminToken, { id, name: `${prefix} tenant` });
  if (res.status !== 201) throw new Error(`tenant: ${res.status} ${JSON.stringify(res.json)}`);
  return id;
}

/** Creates an integration through the admin API; returns its endpoint path and token. */
export async function createIntegration(tenant: string, name = "Microsoft Entra ID"): Promise<{ id: string; scim: string; token: string }> {
  const res = await http("POST", `/api/v1/${tenant}/integrations`, adminToken, { name });
  if (res.status !== 201) throw new Error(`integration: ${res.status} ${JSON.stringify(res.json)}`);
  return { id: res.json.id, scim: new URL(res.json.endpoint).pathname, token: res.json.secretToken };
}

export const USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User";
export const GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group";
