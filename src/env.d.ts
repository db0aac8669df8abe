// Secrets and optional vars that `wrangler types` cannot see (they are not in wrangler.toml).
interface ScimEdgeSecrets {
  /** Bearer token of the admin JSON API (`wrangler secret put ADMIN_TOKEN`, or .dev.vars). */
  ADMIN_TOKEN: string;
  /**
   * Base URL used to build endpoint URLs, e.g. https://scim.example.com; else the request origin.
   */
  PUBLIC_URL?: string;
  /**
   * Cloudflare Access issuer, e.g. https://acme.cloudflareaccess.com: with ACCESS_AUD, console and
   * admin API sign-in through Access.
   */
  ACCESS_TEAM_DOMAIN?: string;
  /** The Access application's audience (AUD) tag. */
  ACCESS_AUD?: string;
}
interface Env extends ScimEdgeSecrets {}
declare namespace Cloudflare {
  interface Env extends ScimEdgeSecrets {}
}
