// @ts-check
/** Tenants: list and create (admin token); a person signed in through Access sees the tenants that provisioned them. */
import { api } from "../api.js";
import { link, tenantPath } from "../context.js";
import { errorBox, field, h, notify, table, when } from "../dom.js";
import { pagedList } from "./paged.js";

/** @param {import("../context.js").ViewContext} ctx */
export async function renderTenants(ctx) {
  ctx.title("Tenants");
  const who = ctx.me;
  if (who.kind === "user") {
    ctx.view.append(
      h("h1", {}, "Your tenants"),
      who.tenants.length === 0
        ? h("p", { class: "empty" }, "No tenant has provisioned you as an active user. Ask an administrator.")
        : table("Your tenants", ["Tenant", "You are", "Your permissions"], who.tenants, (m) => [
            link(tenantPath(m.tenant, m.permissions.includes("INTEGRATIONS:READ") ? "provisioning" : m.permissions.includes("USERS:READ") ? "users" : "audit"), m.tenant),
            h("span", { class: "mono" }, m.userName),
            m.permissions.length ? m.permissions.join(", ") : h("span", { class: "muted" }, "none"),
          ]),
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
      table("Tenants", ["Tenant", "Name", "Created"], rows, (t) => [link(tenantPath(t.id, "provisioning"), t.id), t.name, when(t.createdAt)]),
  });
}
