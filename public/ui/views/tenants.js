// @ts-check
/**
 * Tenants: list and create (admin token); a person signed in through Access sees the tenants
 * that provisioned them, and what to ask for where they hold nothing.
 */
import { api } from "../api.js";
import { link, tenantPagePath, tenantPath } from "../context.js";
import { errorBox, field, h, notify, stackedTable, when } from "../dom.js";
import { pagedList } from "./paged.js";

/**
 * What a sign-in holding no permission in `tenant` should ask for, and whom: a role binding there,
 * from someone who may create one (or the operator). Said instead of a bare "ask an admin".
 * @param {import("../context.js").Me} who
 * @param {string} tenant
 * @returns {Node[]}
 */
export function noAccessHelp(who, tenant) {
  const where = h("strong", { class: "mono" }, tenant);
  const membership = who.kind === "user" ? who.tenants.find((m) => m.tenant === tenant) : undefined;
  const subject =
    who.kind === "service-account"
      ? ["this service account (", h("span", { class: "mono" }, who.serviceAccountId), ")"]
      : ["your user ", h("span", { class: "mono" }, membership?.userName ?? (who.kind === "user" ? who.email : "")), " or to one of your groups"];
  return [
    h(
      "p",
      {},
      who.kind === "service-account" ? "This service account belongs to tenant " : "Tenant ",
      where,
      who.kind === "service-account" ? ", but no role is bound to it there, " : " has provisioned you, but no role is bound to you or to your groups there, ",
      "so there is nothing the console may show yet.",
    ),
    h(
      "p",
      {},
      h("strong", {}, "What to ask for: "),
      "a role binding in tenant ",
      where.cloneNode(true),
      ", giving a role with the permissions you need (for example USERS:READ and GROUPS:READ to see the directory) to ",
      ...subject,
      ".",
    ),
    h(
      "p",
      {},
      h("strong", {}, "Whom to ask: "),
      "an administrator of tenant ",
      where.cloneNode(true),
      ": anyone who may create bindings there (BINDINGS:CREATE, on its Roles and bindings page), or the operator of this scim-edge instance, who holds the admin token.",
    ),
  ];
}

/**
 * The page a sign-in lands on when its bindings open no section: what to ask for, and whom, in
 * the one tenant it belongs to (a person in several tenants lands on the tenant list instead).
 * @param {import("../context.js").Me} who
 * @returns {Node[]}
 */
export function noAccessPage(who) {
  const tenant = who.kind === "service-account" ? who.tenant : who.kind === "user" ? (who.tenants[0]?.tenant ?? "") : "";
  return [
    h("h1", {}, "Nothing to show yet"),
    ...(tenant ? noAccessHelp(who, tenant) : []),
    h(
      "p",
      { class: "meta" },
      "The console needs one of INTEGRATIONS, USERS, GROUPS, ROLES, BINDINGS, SERVICE_ACCOUNTS or AUDIT_LOGS with READ.",
      who.kind === "service-account" ? " Or sign out and sign in with the admin token." : "",
    ),
  ];
}

/** @param {import("../context.js").ViewContext} ctx */
export async function renderTenants(ctx) {
  ctx.title("Tenants");
  const who = ctx.me;
  if (who.kind === "user") {
    const none = who.tenants.filter((m) => m.permissions.length === 0);
    ctx.view.append(
      h("h1", {}, "Your tenants"),
      who.tenants.length === 0
        ? h(
            "div",
            { class: "empty" },
            h("p", {}, "No tenant has provisioned you as an active user."),
            h(
              "p",
              {},
              "Ask the administrator of your identity provider (Entra ID, for example) to assign you to the scim-edge application of your organisation, so that it provisions you; then ask that tenant's administrator for a role binding.",
            ),
          )
        : stackedTable("Your tenants", ["Tenant", "You are", "Your permissions"], who.tenants, (m) => [
            m.permissions.length
              ? link(tenantPath(m.tenant, m.permissions.includes("INTEGRATIONS:READ") ? "provisioning" : m.permissions.includes("USERS:READ") ? "users" : "audit"), m.tenant)
              : h("span", { class: "mono" }, m.tenant),
            h("span", { class: "mono" }, m.userName),
            m.permissions.length ? m.permissions.join(", ") : h("span", { class: "muted" }, "none: see below"),
          ]),
      ...none.map((m) => h("section", { class: "card" }, h("h2", {}, `Nothing yet in ${m.tenant}`), ...noAccessHelp(who, m.tenant))),
    );
    return;
  }
  const list = h("div", {});
  const id = h("input", { name: "id", required: true, maxlength: 63, pattern: "[a-z0-9]([a-z0-9\\-]*[a-z0-9])?", autocomplete: "off", spellcheck: "false" });
  const name = h("input", { name: "name", maxlength: 200, autocomplete: "off" });
  const status = h("div", {});
  const form = h(
    "form",
    { class: "card" },
    h("h2", {}, "Create a tenant"),
    h("div", { class: "row" }, field("Tenant ID", id, "Lowercase letters, digits and inner hyphens; it appears in the SCIM endpoint URL."), field("Display name (optional)", name)),
    status,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Create tenant")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.replaceChildren();
    try {
      const tenant = await api("POST", "/tenants", { id: id.value.trim(), ...(name.value.trim() ? { name: name.value.trim() } : {}) });
      notify(`Tenant ${tenant.id} created.`);
      ctx.navigate(tenantPath(tenant.id, "provisioning"));
    } catch (err) {
      status.replaceChildren(errorBox(err));
    }
  });
  ctx.view.append(h("h1", {}, "Tenants"), list, form);
  await pagedList(list, {
    path: "/tenants",
    what: "tenants",
    emptyText: "No tenants yet. Create the first one below; then add a provisioning integration to it.",
    render: (rows) =>
      stackedTable("Tenants", ["Tenant", "Name", "Database", "Created"], rows, (t) => [
        link(tenantPath(t.id, "provisioning"), t.id),
        t.name,
        // The tenant's own page: its database, a move's progress, moving it.
        link(tenantPagePath(t.id), placement(t)),
        when(t.createdAt),
      ]),
  });
}

/**
 * Where a tenant's data is: its shard, and while it moves, where to and how far along.
 * @typedef {{ to: string; step: string; copied: number; total: number | null }} Move
 * @param {{ shard: string; moving: Move | null; lastMoveFailed?: string }} t
 */
function placement(t) {
  if (t.moving) {
    const { to, step, copied, total } = t.moving;
    // After the switch the tenant already lives on `to`; the old database is being emptied.
    if (t.shard === to) return `${to} (moved in; the old database is ${step === "grace" ? "emptied shortly" : "being emptied"})`;
    const rows = total === null ? "counting rows" : `${copied.toLocaleString()} of ${total.toLocaleString()} rows copied`;
    return `${t.shard} → ${to} (moving: ${step}, ${rows})`;
  }
  return t.lastMoveFailed ? `${t.shard} (last move failed: ${t.lastMoveFailed})` : t.shard;
}
