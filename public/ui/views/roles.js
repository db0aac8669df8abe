// @ts-check
/**
 * Roles of the tenant with their permissions, every binding, and binding a role to a group or
 * user.
 */
import { confirmThenAct } from "../actions.js";
import { api, listAll, query } from "../api.js";
import { can } from "../context.js";
import { badge, empty, errorBox, field, formDialog, h, loading, stackedTable } from "../dom.js";
import { permissionCatalogue } from "../permissions.js";
import { bindForm, bindingsTable, MACHINE_ROLE, rolesOf } from "./bindings.js";

/** A resource name that may wrap after its underscores (SERVICE_ACCOUNTS on a phone). */
function breakable(/** @type {string} */ name) {
  const parts = name.split("_");
  return parts.flatMap((part, i) => (i < parts.length - 1 ? [`${part}_`, h("wbr")] : [part]));
}

/** "GROUPS: READ, UPDATE" lines of a role's permissions. */
function permissionList(/** @type {Record<string, string[]>} */ permissions) {
  const entries = Object.entries(permissions);
  if (entries.length === 0) return h("span", { class: "muted" }, "no permissions");
  return h("ul", { class: "plain" }, ...entries.map(([resource, actions]) => h("li", {}, h("strong", {}, resource), `: ${actions.join(", ")}`)));
}

/**
 * Create or edit a role: name, description and a resource × action grid of checkboxes.
 * @param {import("../context.js").ViewContext} ctx
 * @param {any | null} role the role to edit, or null to create one
 * @returns {Promise<boolean>} whether it was saved
 */
async function editRole(ctx, role) {
  const { resources, actions } = await permissionCatalogue();
  const name = h("input", { name: "name", required: true, maxlength: 200, value: role?.name ?? "", autocomplete: "off" });
  const description = h("textarea", { name: "description", maxlength: 2000, rows: 1 });
  description.value = role?.description ?? "";
  /** @type {Map<string, HTMLInputElement>} */
  const boxes = new Map();
  const grid = h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "grid" },
      h("caption", { class: "visually-hidden" }, "Permissions"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Resource"), ...actions.map((action) => h("th", { scope: "col" }, action)))),
      h(
        "tbody",
        {},
        ...resources.map((resource) =>
          h(
            "tr",
            {},
            h("th", { scope: "row" }, breakable(resource)),
            ...actions.map((action) => {
              const box = h("input", { type: "checkbox", "aria-label": `${resource} ${action}`, checked: (role?.permissions?.[resource] ?? []).includes(action) });
              boxes.set(`${resource}:${action}`, box);
              return h("td", {}, box);
            }),
          ),
        ),
      ),
    ),
  );
  return formDialog({
    title: role ? `Edit role ${role.name}` : "Create a role",
    fields: [
      h("div", { class: "row" }, field("Name", name), field("Description (optional)", description)),
      h("fieldset", {}, h("legend", {}, "Permissions"), grid),
    ],
    submit: "Save role",
    // Dense, so that the whole grid and its buttons fit a laptop's screen.
    className: "role-form",
    save: async () => {
      /** @type {Record<string, string[]>} */
      const permissions = {};
      for (const [key, box] of boxes) {
        if (!box.checked) continue;
        const [resource, action] = /** @type {[string, string]} */ (key.split(":"));
        (permissions[resource] ??= []).push(action);
      }
      const body = { name: name.value.trim(), description: description.value.trim() || null, permissions };
      const base = `/${encodeURIComponent(ctx.tenant)}/roles`;
      if (role) await api("PATCH", `${base}/${encodeURIComponent(role.id)}`, body);
      else await api("POST", base, body);
    },
  });
}

/**
 * A role's name; the provisioning integrations' role is marked as a machine's, so that nobody
 * takes it for a role to give people.
 * @param {any} role
 */
function roleName(role) {
  if (role.name !== MACHINE_ROLE) return h("strong", {}, role.name);
  return h(
    "div",
    {},
    h("strong", {}, role.name),
    " ",
    badge("machine role", "neutral"),
    h("p", { class: "machine-note" }, "For provisioning integrations' service accounts: it writes users, groups and bindings. Not for people."),
  );
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
  const reload = () => ctx.navigate(location.pathname, { replace: true });
  /** Opens the role editor; a failure to open it is shown, not swallowed. @param {any} role */
  const openEditor = async (role) => {
    try {
      if (await editRole(ctx, role)) reload();
    } catch (err) {
      rolesArea.prepend(errorBox(err));
    }
  };
  /** @param {any} role */
  function remove(role) {
    return confirmThenAct(
      {
        title: `Delete the role ${role.name}?`,
        body: ["A role that is still bound cannot be deleted: remove its bindings first."],
        confirm: "Delete role",
      },
      {
        act: () => api("DELETE", `${base}/roles/${encodeURIComponent(role.id)}`),
        done: `Role ${role.name} deleted.`,
        reload,
        failed: (err) => rolesArea.prepend(errorBox(err)),
      },
    );
  }
  if (can(ctx.me, "ROLES:READ")) {
    const edit = can(ctx.me, "ROLES:UPDATE");
    const del = can(ctx.me, "ROLES:DELETE");
    rolesArea.replaceChildren(
      roles.length
        ? stackedTable("Roles", ["Role", "Description", "Permissions", ""], roles, (r) => [
            roleName(r),
            r.description ?? "",
            permissionList(r.permissions),
            h(
              "div",
              { class: "row-actions" },
              edit
                ? h("button", { type: "button", class: "secondary small", "aria-label": `Edit role ${r.name}`, onclick: () => openEditor(r) }, "Edit")
                : null,
              del ? h("button", { type: "button", class: "danger small", "aria-label": `Delete role ${r.name}`, onclick: () => remove(r) }, "Delete") : null,
            ),
          ])
        : empty("No roles."),
      can(ctx.me, "ROLES:CREATE")
        ? h("div", { class: "actions" }, h("button", { type: "button", onclick: () => openEditor(null) }, "Create role"))
        : "",
    );
  } else {
    rolesArea.replaceChildren(empty("This token may not read roles (ROLES:READ)."));
  }

  // The bind form's choices. Users are found by search (a tenant can hold many); bindings carry
  // their subjects' names.
  const [groups, accounts] = await Promise.all([
    can(ctx.me, "GROUPS:READ") ? listAll(`${base}/groups`).catch(() => []) : [],
    can(ctx.me, "SERVICE_ACCOUNTS:READ") ? listAll(`${base}/service-accounts`).catch(() => []) : [],
  ]);

  async function showBindings() {
    try {
      const all = await listAll(`${base}/bindings`);
      bindingsArea.replaceChildren(bindingsTable(ctx, all, () => void showBindings()));
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
          subjects: can(ctx.me, "USERS:READ") ? {
            GROUP: groups.map((g) => [g.id, g.displayName]),
            USER: async (text) => {
              const page = await api("GET", `${base}/users${query({ search: text, limit: 50 })}`);
              return page.results.map((/** @type {any} */ u) => /** @type {[string, string]} */ ([u.id, u.displayName ? `${u.userName} (${u.displayName})` : u.userName]));
            },
            SERVICE_ACCOUNT: accounts.map((a) => [a.id, a.name]),
          } : {
            GROUP: groups.map((g) => [g.id, g.displayName]),
            SERVICE_ACCOUNT: accounts.map((a) => [a.id, a.name]),
          },
        },
        () => void showBindings(),
      ),
    );
  }
}
