// @ts-check
/**
 * One user of the tenant: their profile as this tenant provisioned it (with a link to its history
 * in the audit log), their effective permissions, grouped by resource, each with the path that
 * grants it (group → role, namespace), and a "Check access" form asking the decision API exactly
 * what an application would ask.
 */
import { api } from "../api.js";
import { can, link, tenantPath } from "../context.js";
import { badge, errorBox, field, h, loading, select, stackedTable, when } from "../dom.js";
import { permissionCatalogue } from "../permissions.js";

/** A SCIM name as one line: `formatted` if sent, else its parts in the usual order. */
function fullName(/** @type {Record<string, string> | null} */ name) {
  if (!name) return "";
  if (name.formatted) return name.formatted;
  return [name.honorificPrefix, name.givenName, name.middleName, name.familyName, name.honorificSuffix].filter(Boolean).join(" ");
}

/**
 * The user's profile as this tenant sees it, as term / value pairs; each empty value says so.
 * @param {import("../context.js").ViewContext} ctx @param {any} user from GET /{tenant}/users/{id}
 */
function profile(ctx, user) {
  const none = (/** @type {string} */ text) => h("span", { class: "muted" }, text);
  /** @type {[string, import("../dom.js").Child][]} */
  const rows = [
    ["userName", h("span", { class: "mono" }, user.userName)],
    ["Name", fullName(user.name) || none("not sent")],
    ["Display name", user.displayName ?? none("not sent")],
    [
      "Emails",
      user.emails.length
        ? h(
            "ul",
            { class: "plain" },
            ...user.emails.map((/** @type {any} */ e) => h("li", {}, h("span", { class: "mono" }, e.value), e.type ? ` (${e.type})` : "", e.primary ? " · primary" : "")),
          )
        : none("none"),
    ],
    ["externalId", user.externalId ? h("span", { class: "mono" }, user.externalId) : none("none")],
    ["State", user.active ? badge("Active", "ok") : badge("Inactive", "muted")],
    [
      "Groups",
      user.groups.length
        ? h("ul", { class: "plain" }, ...user.groups.map((/** @type {any} */ g) => h("li", {}, link(`${tenantPath(ctx.tenant, "groups")}/${encodeURIComponent(g.id)}`, g.displayName))))
        : none("none"),
    ],
    ["Provisioned here", when(user.createdAt)],
    ["Last changed", when(user.updatedAt)],
  ];
  return h("dl", { class: "profile" }, ...rows.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}


/**
 * How a grant reaches the user: "group Data team → role Flow editor, in company.team".
 * @param {string} tenant @param {any} grant
 */
function grantPath(tenant, grant) {
  const via =
    grant.via.type === "GROUP"
      ? h("span", {}, "group ", link(`${tenantPath(tenant, "groups")}/${encodeURIComponent(grant.via.id)}`, grant.via.displayName ?? grant.via.id))
      : grant.via.type === "USER"
        ? h("span", {}, "bound to the user")
        : h("span", {}, `service account ${grant.via.displayName ?? grant.via.id}`);
  return h(
    "li",
    {},
    via,
    " → role ",
    h("strong", {}, grant.roleName),
    grant.namespace ? h("span", {}, ", in namespace ", h("span", { class: "mono" }, grant.namespace), " and below") : ", tenant-wide",
  );
}

/** @param {import("../context.js").ViewContext} ctx */
export async function renderUser(ctx) {
  const { tenant, me } = ctx;
  const id = ctx.params[0] ?? "";
  ctx.title("User");
  const head = h("div", {}, loading("the user"));
  const about = h("section", { "aria-labelledby": "profile-heading" });
  const permissions = h("section", { "aria-labelledby": "permissions-heading" });
  ctx.view.append(h("p", {}, link(tenantPath(tenant, "users"), "← Users")), head, about, permissions);

  // The profile needs USERS:READ, the permissions BINDINGS:READ: each is shown if it may be read.
  const path = `/${encodeURIComponent(tenant)}/users/${encodeURIComponent(id)}`;
  const [user, effective] = await Promise.all([
    can(me, "USERS:READ") ? api("GET", path).catch((/** @type {unknown} */ err) => err) : null,
    can(me, "BINDINGS:READ") ? api("GET", `${path}/permissions`).catch((/** @type {unknown} */ err) => err) : null,
  ]);
  if (!ctx.isCurrent()) return;
  const found = [user, effective].find((answer) => answer && !(answer instanceof Error));
  if (!found) {
    const failure = [user, effective].find((answer) => answer instanceof Error);
    head.replaceChildren(h("h1", {}, "User"), failure ? errorBox(failure) : h("p", {}, "Reading a user needs USERS:READ or BINDINGS:READ."));
    return;
  }
  const userName = found.userName ?? found.user.userName;
  const active = found.active ?? found.user.active;
  ctx.title(userName);
  head.replaceChildren(
    h("h1", {}, userName, " ", active ? badge("Active", "ok") : badge("Inactive", "muted")),
    h("p", { class: "meta mono" }, id),
  );
  about.append(
    h("h2", { id: "profile-heading" }, "Profile in this tenant"),
    user instanceof Error
      ? errorBox(user)
      : user
        ? h("div", { class: "card" }, profile(ctx, user))
        : h("p", { class: "empty" }, "Reading the profile needs USERS:READ."),
    can(me, "AUDIT_LOGS:READ")
      ? h("p", {}, link(`${tenantPath(tenant, "audit")}?resourceName=${encodeURIComponent(userName)}`, "History in the audit log"))
      : "",
  );
  if (!effective || effective instanceof Error) {
    permissions.append(
      h("h2", { id: "permissions-heading" }, "Effective permissions"),
      effective ? errorBox(effective) : h("p", { class: "empty" }, "Reading a user's permissions needs BINDINGS:READ."),
    );
    return;
  }

  /** @type {Map<string, any[]>} */
  const byResource = new Map();
  for (const p of effective.permissions) byResource.set(p.resource, [...(byResource.get(p.resource) ?? []), p]);
  permissions.append(
    h("h2", { id: "permissions-heading" }, "Effective permissions"),
    h("p", { class: "lead" }, "What this user may do, from the roles bound to them and to the groups Entra put them in. Read live: a change in Entra shows here at once."),
    effective.reason === "inactive"
      ? h("p", { class: "warning", role: "note" }, "This user is deactivated in this tenant: every permission is denied, whatever the bindings say.")
      : byResource.size === 0
        ? h("p", { class: "empty" }, "No permission: no role is bound to this user or to any of their groups.")
        : h(
            "div",
            { class: "permission-groups" },
            ...[...byResource].map(([resource, entries]) =>
              h(
                "div",
                { class: "card" },
                h("h3", {}, resource),
                stackedTable(`${resource} permissions of ${effective.user.userName}`, ["Action", "Where", "Granted by"], entries, (p) => [
                  h("strong", {}, p.action),
                  p.namespace ? h("span", { class: "mono" }, `${p.namespace}.*`) : "everywhere (tenant-wide)",
                  h("ul", { class: "plain grants" }, ...p.grants.map((/** @type {any} */ g) => grantPath(tenant, g))),
                ]),
              ),
            ),
          ),
  );

  // The decision API, as an application asks it.
  /** @type {{ resources: string[], actions: string[] }} */
  let offered;
  try {
    offered = await permissionCatalogue();
  } catch (err) {
    ctx.view.append(errorBox(err));
    return;
  }
  const resource = select("resource", offered.resources.map((r) => /** @type {[string, string]} */ ([r, r])), "FLOWS");
  const action = select("action", offered.actions.map((a) => /** @type {[string, string]} */ ([a, a])), "READ");
  const namespace = h("input", { name: "namespace", maxlength: 255, autocomplete: "off", spellcheck: "false", placeholder: "company.team" });
  const answer = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "check-heading" },
    h("h2", { id: "check-heading" }, "Check access"),
    h("div", { class: "row" }, field("Resource", resource), field("Action", action), field("Namespace (optional)", namespace, "Empty: only tenant-wide bindings count.")),
    h("div", { class: "actions start" }, h("button", { type: "submit" }, "Check")),
    answer,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    answer.replaceChildren(h("p", { class: "loading", role: "status" }, "Asking…"));
    const ns = namespace.value.trim();
    try {
      const decided = await api("POST", `/${encodeURIComponent(tenant)}/authz/check`, {
        subject: { type: "USER", id },
        checks: [{ resource: resource.value, action: action.value, ...(ns ? { namespace: ns } : {}) }],
      });
      const result = decided.results[0];
      const what = `${result.resource}:${result.action}${result.namespace ? ` in ${result.namespace}` : " tenant-wide"}`;
      answer.replaceChildren(
        result.allowed
          ? h("div", { class: "decision allowed", role: "status" }, badge("Allowed", "ok"), ` ${what}, through:`, h("ul", { class: "plain grants" }, ...result.grants.map((/** @type {any} */ g) => grantPath(tenant, g))))
          : h(
              "div",
              { class: "decision denied", role: "status" },
              badge("Denied", "bad"),
              ` ${what}: `,
              result.reason === "inactive" ? "the user is deactivated in this tenant." : result.reason === "no_tenant_access" ? "the user has no access to this tenant." : "no binding grants it.",
            ),
      );
    } catch (err) {
      answer.replaceChildren(errorBox(err));
    }
  });
  ctx.view.append(form);
}
