// @ts-check
/**
 * One user of the tenant: their effective permissions, grouped by resource, each with the path
 * that grants it (group → binding → role, namespace), and a "Check access" form asking the
 * decision API exactly what an application would ask.
 */
import { api } from "../api.js";
import { can, link, tenantPath } from "../context.js";
import { badge, errorBox, field, h, loading, select, table } from "../dom.js";
import { permissionCatalogue } from "../permissions.js";


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
    " → binding ",
    h("span", { class: "mono small" }, grant.bindingId.slice(0, 8)),
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
  const permissions = h("section", { "aria-labelledby": "permissions-heading" });
  ctx.view.append(h("p", {}, link(tenantPath(tenant, "users"), "← Users")), head, permissions);

  if (!can(me, "BINDINGS:READ")) {
    head.replaceChildren(h("h1", {}, "User"), h("p", {}, "Reading a user's permissions needs BINDINGS:READ."));
    return;
  }
  /** @type {any} */
  let effective;
  try {
    effective = await api("GET", `/${encodeURIComponent(tenant)}/users/${encodeURIComponent(id)}/permissions`);
  } catch (err) {
    head.replaceChildren(h("h1", {}, "User"), errorBox(err));
    return;
  }
  ctx.title(effective.user.userName);
  head.replaceChildren(
    h("h1", {}, effective.user.userName, " ", effective.user.active ? badge("Active", "ok") : badge("Inactive", "muted")),
    h("p", { class: "meta mono" }, effective.user.id),
  );

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
                table(`${resource} permissions of ${effective.user.userName}`, ["Action", "Where", "Granted by"], entries, (p) => [
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
