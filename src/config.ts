/** Reading the Worker's configuration (wrangler.toml vars and secrets). */

/** `TENANTS_ENABLED` defaults to true; only "false", "0", "no" or "off" turn it off. */
export function tenantsEnabled(env: Env): boolean {
  const value = (env.TENANTS_ENABLED ?? "true").trim().toLowerCase();
  return !["false", "0", "no", "off"].includes(value);
}

/** The base URL endpoints are built from: `PUBLIC_URL` without trailing slash, else the request's origin. */
export function publicBaseUrl(env: Env, requestUrl: string): string {
  const configured = env.PUBLIC_URL?.trim();
  if (configured) return configured.replace(/\/+$/, "");
  return new URL(requestUrl).origin;
}
