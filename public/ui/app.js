// @ts-check
/**
 * The console's shell: sign-in, the header and tenant tabs, and a router over history URLs
 * under /ui. Views live in ./views; each fills the element it is given from the admin API.
 */
import { api, ApiError, clearToken, getToken, setToken, whenUnauthorized } from "./api.js";
import { can, link, tenantPath, within } from "./context.js";
import { errorBox, field, h } from "./dom.js";
import { renderAudit } from "./views/audit.js";
import { renderGroup, renderGroups } from "./views/groups.js";
import { renderProvisioning } from "./views/provisioning.js";
import { renderRoles } from "./views/roles.js";
import { renderSchemas } from "./views/schemas.js";
import { renderServiceAccounts } from "./views/service-accounts.js";
import { renderTenant } from "./views/tenant.js";
import { noAccessPage, renderTenants } from "./views/tenants.js";
import { renderUser } from "./views/user.js";
import { renderUsers } from "./views/users.js";

/** @typedef {import("./context.js").Me} Me */
/** @typedef {import("./context.js").ViewContext} ViewContext */

const main = /** @type {HTMLElement} */ (document.getElementById("main"));
const top = /** @type {HTMLElement} */ (document.getElementById("top"));
const tabs = /** @type {HTMLElement} */ (document.getElementById("tabs"));

/** @type {Me | null} */
let me = null;

/** The tenant's sections, each shown when the token may read what it lists. */
const SECTIONS = /** @type {const} */ ([
  ["provisioning", "Provisioning", ["INTEGRATIONS:READ"]],
  ["users", "Users", ["USERS:READ"]],
  ["groups", "Groups", ["GROUPS:READ"]],
  ["roles", "Roles and bindings", ["ROLES:READ", "BINDINGS:READ"]],
  ["service-accounts", "Service accounts", ["SERVICE_ACCOUNTS:READ"]],
  ["schemas", "SCIM schemas", ["USERS:READ"]],
  ["audit", "Audit log", ["AUDIT_LOGS:READ"]],
]);

/** The sections a token may open. */
const sectionsFor = (/** @type {Me} */ who) => SECTIONS.filter(([, , needs]) => needs.some((permission) => can(who, permission)));

/** @type {[RegExp, (ctx: ViewContext) => Promise<void>][]} */
const ROUTES = [
  [/^\/ui\/tenants$/, renderTenants],
  [/^\/ui\/tenants\/([^/]+)$/, renderTenant],
  [/^\/ui\/t\/([^/]+)\/provisioning$/, renderProvisioning],
  [/^\/ui\/t\/([^/]+)\/users$/, renderUsers],
  [/^\/ui\/t\/([^/]+)\/users\/([^/]+)$/, renderUser],
  [/^\/ui\/t\/([^/]+)\/groups$/, renderGroups],
  [/^\/ui\/t\/([^/]+)\/groups\/([^/]+)$/, renderGroup],
  [/^\/ui\/t\/([^/]+)\/roles$/, renderRoles],
  [/^\/ui\/t\/([^/]+)\/service-accounts$/, renderServiceAccounts],
  [/^\/ui\/t\/([^/]+)\/schemas$/, renderSchemas],
  [/^\/ui\/t\/([^/]+)\/audit$/, renderAudit],
];

/**
 * Where a sign-in lands: the tenant list (the admin, or a person in several tenants), or the
 * first section a service account (or a person in one tenant) may read.
 */
function home(/** @type {Me} */ who) {
  if (who.kind === "admin") return "/ui/tenants";
  if (who.kind === "user" && who.tenants.length !== 1) return "/ui/tenants";
  const scoped = who.kind === "user" ? within(who, who.tenants[0]?.tenant ?? "") : who;
  const first = sectionsFor(scoped)[0];
  return first && scoped.kind !== "admin" && scoped.tenant ? tenantPath(scoped.tenant, first[0]) : "/ui/no-access";
}

/** Aborted when the view on screen is left (another view drawn, or the sign-in form). */
let leaving = new AbortController();

/** Ends the current view's timers and gives the next view its own signal. */
function leaveView() {
  leaving.abort();
  leaving = new AbortController();
  return leaving.signal;
}

/** Whether the page was opened behind Cloudflare Access: asked once per page load. */
let accessChecked = false;

/** Signs a person in through their Cloudflare Access session, if any; else the problem to show. */
async function signInThroughAccess() {
  accessChecked = true;
  try {
    const who = await api("GET", "/me");
    if (who?.kind === "user") me = who;
    return "";
  } catch (err) {
    // No Access session (or Access off): the token form. A rejected Access session: say why.
    return err instanceof ApiError && err.status === 401 && err.message.includes("Cloudflare Access") ? err.message : "";
  }
}

/** @param {string} path @param {{ replace?: boolean }} [options] */
function navigate(path, options = {}) {
  if (options.replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  void render();
}

function signOut() {
  if (me?.kind === "user") {
    // The Access session is the sign-in: ending it is Access's job.
    location.assign("/cdn-cgi/access/logout");
    return;
  }
  clearToken();
  me = null;
  navigate("/ui/", { replace: true });
}

whenUnauthorized(() => {
  // The token was revoked or rotated meanwhile: forget it and ask for one again.
  if (!me) return; // the sign-in form reports its own failures
  if (me.kind === "user") {
    me = null;
    renderSignIn("Your Cloudflare Access session has ended or was not accepted. Reload the page to sign in again.");
    return;
  }
  clearToken();
  me = null;
  renderSignIn("Your token is no longer accepted: it may have been rotated or revoked. Sign in again.");
});

function renderHeader() {
  top.replaceChildren(
    h("p", { class: "brand" }, link(me ? home(me) : "/ui/", "scim-edge"), h("span", { class: "brand-sub" }, " console")),
    me
      ? h(
          "div",
          { class: "who" },
          h("span", {}, me.kind === "admin" ? "Signed in with the admin token" : me.kind === "user" ? `Signed in as ${me.email}` : `Service account of tenant ${me.tenant}`),
          h("button", { type: "button", class: "secondary", onclick: signOut }, "Sign out"),
        )
      : "",
  );
}

/**
 * The token in what was pasted: the line `grep ADMIN_TOKEN .dev.vars` shows works as well as the
 * token alone (its name, an `export`, quotes and a Bearer prefix are dropped).
 * @param {string} pasted
 * @returns {string}
 */
export function pastedToken(pasted) {
  let token = pasted.trim().replace(/^export\s+/, "");
  token = token.replace(/^ADMIN_TOKEN\s*=\s*/, "").replace(/^Bearer\s+/i, "");
  const quoted = /^(["'])(.*)\1$/.exec(token);
  return (quoted ? quoted[2] ?? "" : token).trim();
}

/** @param {string} tenant @param {string} current */
function renderTabs(tenant, current) {
  if (!tenant || !me) {
    tabs.hidden = true;
    tabs.replaceChildren();
    return;
  }
  tabs.hidden = false;
  tabs.replaceChildren(
    me.kind === "admin" || (me.kind === "user" && me.tenants.length > 1) ? h("span", { class: "crumb" }, link("/ui/tenants", "Tenants"), " / ") : "",
    h("strong", { class: "tenant-name" }, tenant),
    h(
      "ul",
      {},
      ...sectionsFor(within(me, tenant)).map(([section, label]) =>
        h("li", {}, link(tenantPath(tenant, section), label, section === current ? { "aria-current": "page" } : {})),
      ),
    ),
  );
}

function renderSignIn(/** @type {string} */ problem = "") {
  leaveView();
  renderHeader();
  renderTabs("", "");
  document.title = "Sign in · scim-edge";
  const input = h("input", { type: "password", name: "token", required: true, autocomplete: "off", spellcheck: "false" });
  const status = h("div", {});
  if (problem) status.append(errorBox(problem));
  const form = h(
    "form",
    { class: "card narrow" },
    h("h1", {}, "Sign in"),
    h(
      "p",
      {},
      "Paste the admin token (`npm run --silent admin-token` prints it when you run npm start; a pasted ADMIN_TOKEN=… line works too) or a service account's API token. Behind Cloudflare Access, people provisioned by a tenant's identity provider are signed in without a token.",
    ),
    field("Token", input, "Kept in this tab only (sessionStorage) and sent as a bearer header; signing out or closing the tab forgets it."),
    status,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Sign in")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = pastedToken(input.value);
    if (!token) return;
    setToken(token);
    status.replaceChildren(h("p", { class: "loading", role: "status" }, "Checking the token…"));
    try {
      me = await api("GET", "/me");
      const who = /** @type {Me} */ (me);
      // Signing in again after a token expired returns to the same page, if this token may see it.
      const here = location.pathname.replace(/\/+$/, "");
      const stay = here !== "/ui" && (who.kind === "admin" || (who.kind === "service-account" && here.startsWith(tenantPath(who.tenant, ""))));
      navigate(stay ? here + location.search : home(who), { replace: true });
    } catch (err) {
      clearToken();
      status.replaceChildren(errorBox(err));
      input.focus();
    }
  });
  main.replaceChildren(form);
  input.focus();
}

let renderCount = 0;

async function render() {
  const run = ++renderCount;
  const signal = leaveView();
  const path = location.pathname.replace(/\/+$/, "") || "/ui";
  if (!getToken() && !me) {
    if (accessChecked) return renderSignIn();
    main.replaceChildren(h("p", { class: "loading", role: "status" }, "Signing in…"));
    const problem = await signInThroughAccess();
    if (run !== renderCount) return;
    if (!me) return renderSignIn(problem);
  }
  if (!me) {
    main.replaceChildren(h("p", { class: "loading", role: "status" }, "Signing in…"));
    try {
      me = await api("GET", "/me");
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        clearToken();
        return renderSignIn(err.message);
      }
      // Busy or unreachable: keep the token, offer to try again or to sign out.
      renderHeader();
      main.replaceChildren(
        errorBox(err),
        h(
          "div",
          { class: "actions start" },
          h("button", { type: "button", onclick: () => void render() }, "Try again"),
          h("button", { type: "button", class: "secondary", onclick: signOut }, "Sign out"),
        ),
      );
      return;
    }
    if (run !== renderCount) return;
  }
  const who = /** @type {Me} */ (me);
  if (path === "/ui") return navigate(home(who), { replace: true });
  renderHeader();
  if (path === "/ui/no-access") {
    renderTabs("", "");
    main.replaceChildren(...noAccessPage(who));
    return;
  }
  const match = ROUTES.map(([pattern, view]) => /** @type {const} */ ([path.match(pattern), view])).find(([m]) => m);
  if (!match) {
    renderTabs("", "");
    main.replaceChildren(h("h1", {}, "Page not found"), h("p", {}, "Nothing lives at this address. "), link(home(who), "Go to the start page"));
    return;
  }
  const [found, view] = match;
  /** @type {string[]} */
  let groups;
  try {
    groups = /** @type {RegExpMatchArray} */ (found).slice(1).map((part) => decodeURIComponent(part));
  } catch {
    // A hand-made link with a broken %-escape.
    renderTabs("", "");
    main.replaceChildren(h("h1", {}, "Page not found"), h("p", {}, "This address is malformed. "), link(home(who), "Go to the start page"));
    return;
  }
  const tenant = path.startsWith("/ui/t/") ? (groups[0] ?? "") : "";
  renderTabs(tenant, path.split("/")[4] ?? "");
  const section = h("section", { class: "view" });
  main.replaceChildren(section);
  main.focus({ preventScroll: true });
  /** @type {ViewContext} */
  const ctx = {
    me: within(who, tenant),
    tenant,
    params: groups.slice(tenant ? 1 : 0),
    query: new URLSearchParams(location.search),
    view: section,
    // A view whose request finishes after the person moved on must not pull them back.
    isCurrent: () => run === renderCount,
    signal,
    navigate: (to, options) => {
      if (run === renderCount) navigate(to, options);
    },
    title: (text) => {
      if (run === renderCount) document.title = `${text}${tenant ? ` · ${tenant}` : ""} · scim-edge`;
    },
  };
  try {
    await view(ctx);
  } catch (err) {
    if (run === renderCount) section.replaceChildren(errorBox(err));
  }
}

// Links marked data-nav change the view without reloading; modified clicks open tabs as usual.
document.addEventListener("click", (event) => {
  const anchor = event.target instanceof Element ? event.target.closest("a[data-nav]") : null;
  if (!(anchor instanceof HTMLAnchorElement) || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(anchor.pathname + anchor.search);
});
window.addEventListener("popstate", () => void render());
void render();
