/** Shared helpers of the HTTP-level tests: requests go through the Worker's own fetch handler. */
import { env, exports } from "cloudflare:workers";

export const ORIGIN = "https://scim.test";
export const ADMIN_TOKEN = env.ADMIN_TOKEN;

type Json = Record<string, unknown>;

/** Calls the Worker like a client over HTTP would. */
export async function call(
  method: string,
  path: string,
  options: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; json: Json & { [key: string]: any }; text: string }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    headers["Content-Type"] ??= "application/json";
  }
  const response = await exports.default.fetch(`${ORIGIN}${path}`, { method, headers, body });
  const text = await response.text();
  let json: Json = {};
  try {
    json = text ? (JSON.parse(text) as Json) : {};
  } catch {
    json = {};
  }
  return { status: response.status, headers: response.headers, json, text };
}

/** An admin API call with the admin token. */
export function admin(method: string, path: string, body?: unknown) {
  return call(method, `/api/v1${path}`, { token: ADMIN_TOKEN, body });
}

let counter = 0;

/** Creates a tenant with a fresh id. */
export async function newTenant(prefix = "t"): Promise<string> {
  const id = `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`;
  const res = await admin("POST", "/tenants", { id });
  if (res.status !== 201) throw new Error(`tenant create failed: ${res.status} ${res.text}`);
  return id;
}

export interface TestIntegration {
  tenant: string;
  id: string;
  token: string;
  endpoint: string;
  /** Path of the SCIM base, without the origin. */
  scimPath: string;
  serviceAccountId: string;
  roleId: string;
}

/** Creates a tenant (unless given) and a provisioning integration in it. */
export async function newIntegration(tenant?: string, body: Json = {}): Promise<TestIntegration> {
  const t = tenant ?? (await newTenant());
  const res = await admin("POST", `/${t}/integrations`, { name: "Entra ID", ...body });
  if (res.status !== 201) throw new Error(`integration create failed: ${res.status} ${res.text}`);
  const endpoint = res.json.endpoint as string;
  return {
    tenant: t,
    id: res.json.id,
    token: res.json.secretToken,
    endpoint,
    scimPath: endpoint.slice(ORIGIN.length),
    serviceAccountId: res.json.serviceAccountId,
    roleId: res.json.roleId,
  };
}

/** A SCIM call with the integration's token. */
export function scim(integration: TestIntegration, method: string, path: string, body?: unknown, headers?: Record<string, string>) {
  return call(method, `${integration.scimPath}${path}`, { token: integration.token, body, headers });
}

/** Calls the app with some bindings replaced (TENANTS_ENABLED, PUBLIC_URL, a failing DB…). */
export async function fetchWithEnv(request: Request, overrides: Partial<Env>): Promise<Response> {
  const { createExecutionContext, waitOnExecutionContext } = await import("cloudflare:test");
  const { default: app } = await import("../../src/index");
  const ctx = createExecutionContext();
  const response = await app.fetch(request, { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}
