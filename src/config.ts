/** Reading the Worker's configuration (wrangler.toml vars and secrets). */

/** `TENANTS_ENABLED` defaults to true; only "false", "0", "no" or "off" turn it off. */
export function tenantsEnabled(env: Env): boolean {
  const value = (env.TENANTS_ENABLED ?? "true").trim().toLowerCase();
  return !["false", "0", "no", "off"].includes(value);
}

/**
 * Why `what` is refused while `TENANTS_ENABLED` is off: names this service's own setting and where
 * it is set.
 */
export function tenantsDisabled(what: string): string {
  return `${what} needs multi-tenancy, which is off on this server: its TENANTS_ENABLED setting (wrangler.toml [vars], or the Worker's variables) says "false"; set it to "true".`;
}

/**
 * The base URL endpoints are built from: `PUBLIC_URL` without trailing slash, else the request's
 * origin.
 */
export function publicBaseUrl(env: Env, requestUrl: string): string {
  const configured = env.PUBLIC_URL?.trim();
  if (configured) return configured.replace(/\/+$/, "");
  return new URL(requestUrl).origin;
}

/**
 * `AUDIT_RETENTION_DAYS`: how many days audit events stay in D1 before the daily run archives
 * them (default 90; 0 archives everything older than the run). Anything but a whole number ≥ 0
 * is a configuration error the run reports instead of guessing.
 */
export function auditRetentionDays(env: Env): number {
  const raw = (env.AUDIT_RETENTION_DAYS ?? "").trim();
  if (raw === "") return 90;
  if (!/^\d{1,5}$/.test(raw)) throw new Error(`AUDIT_RETENTION_DAYS must be a whole number of days (0 or more), not '${raw}'`);
  return Number(raw);
}
