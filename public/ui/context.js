// @ts-check
/** What every view is given, and the links between views. */
import { h } from "./dom.js";

/**
 * A tenant where a person signed in through Cloudflare Access is an active provisioned user.
 * @typedef {{ tenant: string, userId: string, userName: string, permissions: string[] }} Membership
 */

/**
 * Who signed in: the admin token, a service account's token, or a person through Cloudflare
 * Access (`tenant` and `permissions` are set inside one of their tenants).
 * @typedef {{ kind: "admin" }
 *   | {
 *       kind: "service-account",
 *       tenant: string,
 *       serviceAccountId: string,
 *       integrationId: string | null,
 *       permissions: string[],
 *     }
 *   | {
 *       kind: "user",
 *       email: string,
 *       tenants: Membership[],
 *       tenant?: string,
 *       permissions?: string[],
 *     }} Me
 */

/**
 * @typedef {object} ViewContext
 * @property {Me} me who signed in
 * @property {string} tenant the tenant in the path ("" outside a tenant)
 * @property {string[]} params the other path parameters
 * @property {URLSearchParams} query
 * @property {HTMLElement} view the element the view fills (already in the page)
 * @property {(path: string, options?: { replace?: boolean }) => void} navigate goes elsewhere
 *   (ignored once the view is left)
 * @property {(title: string) => void} title sets the browser tab's title (ignored once the view is
 *   left)
 * @property {() => boolean} isCurrent false once the person has moved to another view
 * @property {AbortSignal} signal aborted once the view is left: a view that polls stops its
 *   timers on it
 */

/**
 * A link to another view of the console (handled without a page load, still a real link: it
 * can be opened in a new tab, and works by keyboard).
 * @param {string} href
 * @param {import("./dom.js").Child} text
 * @param {Record<string, unknown>} [attrs]
 */
export const link = (href, text, attrs = {}) => h("a", { href, "data-nav": true, ...attrs }, text);

/** The path of a tenant's section. */
export const tenantPath = (/** @type {string} */ tenant, /** @type {string} */ section) => `/ui/t/${encodeURIComponent(tenant)}/${section}`;

/** The page of a tenant itself (the operator's: its database, and moving it to another). */
export const tenantPagePath = (/** @type {string} */ tenant) => `/ui/tenants/${encodeURIComponent(tenant)}`;

/** True when whoever signed in may do `RESOURCE:ACTION` in the tenant (the admin may do all). */
export function can(/** @type {Me} */ me, /** @type {string} */ permission) {
  return me.kind === "admin" || (me.permissions ?? []).includes(permission);
}

/** A person's sign-in as seen inside one tenant: what they hold there (nothing if not a member). */
export function within(/** @type {Me} */ me, /** @type {string} */ tenant) {
  if (me.kind !== "user" || !tenant) return me;
  return { ...me, tenant, permissions: me.tenants.find((m) => m.tenant === tenant)?.permissions ?? [] };
}
