// Secrets and optional vars that `wrangler types` cannot see (they are not in wrangler.toml).
interface ScimEdgeSecrets {
  /** Bearer token of the admin JSON API (`wrangler secret put ADMIN_TOKEN`, or .dev.vars). */
  ADMIN_TOKEN: string;
  /** Base URL used to build endpoint URLs, e.g. https://scim.example.com; else the request origin. */
  PUBLIC_URL?: string;
}
interface Env extends ScimEdgeSecrets {}
declare namespace Cloudflare {
  interface Env extends ScimEdgeSecrets {}
}
