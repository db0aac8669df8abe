// @ts-check
/** Groups of the tenant, and one group with its members and role bindings. */
import { api } from "../api.js";
import { can, link, tenantPath } from "../context.js";
import { errorBox, h, loading, plural, stackedTable, when } from "../dom.js";
import { bindForm, bindingsTable, rolesOf } from "./bindings.js";
import { pagedList } from "./paged.js";

/** @param {import("../context.js").ViewContext} ctx */
export async function renderGroups(ctx) {
  const { tenant } = ctx;
  ctx.title("Groups");
  const list = h("div", {});
  ctx.view.append(h("h1", {}, "Groups"), h("p", { class: "lead" }, "Groups come from the identity provider over SCIM. Bind a role to a group to give its members that role."), list);
  await pagedList(list, {
    path: `/${encodeURIComponent(tenant)}/groups`,
    what: "groups",
    emptyText: "No groups yet. They appear here once Entra ID provisions the groups assigned to the app.",
    render: (rows) =>
      stackedTable("Groups", ["Group", "externalId", "Members", "Updated"], rows, (g) => [
        link(`${tenantPath(tenant, "groups")}/${encodeURIComponent(g.id)}`, g.displayName),
        h("span", { class: "mono" }, g.externalId ?? ""),
        String(g.memberCount),
        when(g.updatedAt),
      ]),
  });
}

/** @param {import("../context.js").ViewContext} ctx */
export async function renderGroup(ctx) {
  const { tenant } = ctx;
  const id = ctx.params[0] ?? "";
  const base = `/${encodeURIComponent(tenant)}`;
  ctx.view.append(loading("the group"));
  const group = await api("GET", `${base}/groups/${encodeURIComponent(id)}?limit=1`);
  if (!ctx.isCurrent()) return;
  ctx.title(group.displayName);
  const members = h("div", {});
  const bindings = h("div", {});
  const bindArea = h("div", {});

  async function showBindings() {
    bindings.replaceChildren(loading("bindings"));
    try {
      const page = await api("GET", `${base}/bindings?subjectType=GROUP&subjectId=${encodeURIComponent(id)}&limit=200`);
      bindings.replaceChildren(bindingsTable(ctx, page.results, () => void showBindings()));
    } catch (err) {
      bindings.replaceChildren(errorBox(err));
    }
  }

  ctx.view.replaceChildren(
    h("p", { class: "crumb" }, link(tenantPath(tenant, "groups"), "Groups"), " / ", group.displayName),
    h("h1", {}, group.displayName),
    h("p", { class: "meta" }, `externalId ${group.externalId ?? "none"} · ${plural(group.memberCount, "member")} · updated ${when(group.updatedAt)}`),
    h("h2", {}, "Role bindings"),
    bindings,
    bindArea,
    h("h2", {}, "Members"),
    members,
  );
  await Promise.all([
    showBindings(),
    (async () => {
      if (!can(ctx.me, "BINDINGS:CREATE") || !can(ctx.me, "ROLES:READ")) return;
      const roles = await rolesOf(ctx);
      bindArea.replaceChildren(bindForm(ctx, { roles, subjects: {}, fixed: { type: "GROUP", id, name: group.displayName } }, () => void showBindings()));
    })().catch((err) => bindArea.replaceChildren(errorBox(err))),
    pagedList(members, {
      path: `${base}/groups/${encodeURIComponent(id)}`,
      what: "members",
      emptyText: "No members.",
      rowsOf: (page) => page.members,
      render: (rows) =>
        stackedTable("Members", ["userName", "Display name"], rows, (m) => [
          link(`${tenantPath(tenant, "users")}/${encodeURIComponent(m.id)}`, m.userName, { class: "mono" }),
          m.displayName ?? "",
        ]),
    }).catch((err) => members.replaceChildren(errorBox(err))),
  ]);
}
