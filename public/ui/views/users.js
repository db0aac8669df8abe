// @ts-check
/**
 * Users with access to the tenant: search, active state, groups, and (admin) every tenant a user
 * reaches.
 */
import { api } from "../api.js";
import { link, tenantPath } from "../context.js";
import { badge, errorBox, h, loading, stackedTable, uid, when } from "../dom.js";
import { pagedList } from "./paged.js";

/** @param {import("../context.js").ViewContext} ctx */
export async function renderUsers(ctx) {
  const { tenant, me } = ctx;
  ctx.title("Users");
  const search = h("input", { type: "search", name: "search", id: uid("search"), value: ctx.query.get("search") ?? "", maxlength: 200, autocomplete: "off" });
  const hint = h("small", { class: "hint", id: uid("hint") }, "Part of a userName or display name.");
  search.setAttribute("aria-describedby", hint.id);
  // The button shares the input's line and the hint goes under both: beside a field with a hint,
  // the button would line up with the hint instead.
  const form = h(
    "form",
    { role: "search" },
    h(
      "div",
      { class: "field search-field" },
      h("label", { for: search.id }, "Search users"),
      h("div", { class: "search-row" }, search, h("button", { type: "submit" }, "Search")),
      hint,
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = search.value.trim();
    ctx.navigate(`${tenantPath(tenant, "users")}${text ? `?search=${encodeURIComponent(text)}` : ""}`);
  });
  const list = h("div", {});
  ctx.view.append(h("h1", {}, "Users"), h("p", { class: "lead" }, "A person is one global user; each tenant holds its own view of them (everything its identity provider sent) and its own access. A SCIM DELETE removes only this tenant's access."), form, list);

  /** The tenants a user can reach (admin token only: it spans tenants). */
  function accessButton(/** @type {any} */ user) {
    if (me.kind !== "admin") return h("span", {}, `this tenant, since ${when(user.createdAt)}`);
    const out = h("div", { class: "access" });
    const button = h("button", { type: "button", class: "link", "aria-expanded": "false" }, "Show tenants");
    button.addEventListener("click", async () => {
      if (button.getAttribute("aria-expanded") === "true") {
        button.setAttribute("aria-expanded", "false");
        out.replaceChildren();
        return;
      }
      button.setAttribute("aria-expanded", "true");
      out.replaceChildren(loading("tenant access"));
      try {
        const global = await api("GET", `/users/${encodeURIComponent(user.id)}`);
        out.replaceChildren(
          h(
            "ul",
            { class: "plain" },
            ...global.tenants.map((/** @type {any} */ t) =>
              h(
                "li",
                {},
                link(tenantPath(t.tenant, "users"), t.tenant),
                ` · ${t.userName}${t.displayName ? ` (${t.displayName})` : ""} · ${t.active ? "active" : "inactive"} · since ${when(t.since)}`,
              ),
            ),
          ),
        );
      } catch (err) {
        out.replaceChildren(errorBox(err));
      }
    });
    return h("div", {}, button, out);
  }

  const text = ctx.query.get("search") ?? "";
  await pagedList(list, {
    path: `/${encodeURIComponent(tenant)}/users${text ? `?search=${encodeURIComponent(text)}` : ""}`,
    what: "users",
    emptyText: text
      ? `No user's userName or display name contains “${text}”.`
      : "No users yet. They appear here once Entra ID (or another identity provider) provisions them over SCIM.",
    render: (rows) =>
      stackedTable(
        "Users",
        ["userName", "Display name", "externalId", "State", "Groups", "Tenant access"],
        rows,
        (u) => [
          link(`${tenantPath(tenant, "users")}/${encodeURIComponent(u.id)}`, u.userName, { class: "mono" }),
          u.displayName ?? "",
          h("span", { class: "mono" }, u.externalId ?? ""),
          u.active ? badge("Active", "ok") : badge("Inactive", "muted"),
          u.groups.length
            ? h("ul", { class: "plain" }, ...u.groups.map((/** @type {any} */ g) => h("li", {}, link(`${tenantPath(tenant, "groups")}/${encodeURIComponent(g.id)}`, g.displayName))))
            : h("span", { class: "muted" }, "none"),
          accessButton(u),
        ],
      ),
  });
}
