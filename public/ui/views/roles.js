// @ts-check
/** Roles of the tenant with their permissions, every binding, and binding a role to a group or user. */
import { listAll } from "../api.js";
import { can } from "../context.js";
import { errorBox, h, loading, table, empty } from "../dom.js";
import { bindForm, bindingsTable, rolesOf } from "./bindings.js";

/** "GROUPS: READ, UPDATE" lines of a role's permissions. */
function permissionList(/** @type {Record<string, string[]>} */ permissions) {
  const entries = Object.entries(permissions);
  if (entries.length === 0) return h("span", { class: "muted" }, "no permissions");
  return h("ul", { class: "plain" }, ...entries.map(([resource, actions]) => h("li", {}, h("strong", {}, resource), `: ${actions.join(", ")}`)));
}

/** @param {import("../context.js").ViewContext} ctx */
export async function renderRoles(ctx) {
  ctx.title("Roles and bindings");
  const base = `/${encodeURIComponent(ctx.tenant)}`;
  const rolesArea = h("div", {}, loading("roles"));
  const bindingsArea = h("div", {}, loading("bindings"));
  const formArea = h("div", {});
  ctx.view.append(
    h("h1", {}, "Roles and bindings"),
    h("p", { class: "lead" }, "A role is a set of permissions; a binding gives it to a group, a user or a service account, in the whole tenant or in one namespace."),
    h("h2", {}, "Roles"),
    rolesArea,
    h("h2", {}, "Bindings"),
    bindingsArea,
    formArea,
  );

  const roles = await rolesOf(ctx).catch((err) => {
    rolesArea.replaceChildren(errorBox(err));
    return /** @type {any[]} */ ([]);
  });
  if (can(ctx.me, "ROLES:READ")) {
    rolesArea.replaceChildren(
      roles.length
        ? table("Roles", ["Role", "Description", "Permissions"], roles, (r) => [h("strong", {}, r.name), r.description ?? "", permissionList(r.permissions)])
        : empty("No roles."),
    );
  } else {
    rolesArea.replaceChildren(empty("This token may not read roles (ROLES:READ)."));
  }

  // Names for the subjects of bindings, and the choices of the bind form.
  const [groups, users, accounts] = await Promise.all([
    can(ctx.me, "GROUPS:READ") ? listAll(`${base}/groups`).catch(() => []) : [],
    can(ctx.me, "USERS:READ") ? listAll(`${base}/users`).catch(() => []) : [],
    can(ctx.me, "SERVICE_ACCOUNTS:READ") ? listAll(`${base}/service-accounts`).catch(() => []) : [],
  ]);
  /** @type {Map<string, string>} */
  const names = new Map([
    ...groups.map((g) => /** @type {[string, string]} */ ([g.id, g.displayName])),
    ...users.map((u) => /** @type {[string, string]} */ ([u.id, u.userName])),
    ...accounts.map((a) => /** @type {[string, string]} */ ([a.id, a.name])),
  ]);

  async function showBindings() {
    try {
      const all = await listAll(`${base}/bindings`);
      bindingsArea.replaceChildren(bindingsTable(ctx, all, (b) => names.get(b.subjectId) ?? b.subjectId, () => void showBindings()));
    } catch (err) {
      bindingsArea.replaceChildren(errorBox(err));
    }
  }
  await showBindings();
  if (can(ctx.me, "BINDINGS:CREATE")) {
    formArea.replaceChildren(
      bindForm(
        ctx,
        {
          roles,
          subjects: {
            GROUP: groups.map((g) => [g.id, g.displayName]),
            USER: users.map((u) => [u.id, u.displayName ? `${u.userName} (${u.displayName})` : u.userName]),
            SERVICE_ACCOUNT: accounts.map((a) => [a.id, a.name]),
          },
        },
        () => void showBindings(),
      ),
    );
  }
}
