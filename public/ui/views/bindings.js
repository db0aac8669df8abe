// @ts-check
/** Role bindings: listing them with readable names, binding a role, removing a binding. */
import { confirmThenAct } from "../actions.js";
import { api, listAll } from "../api.js";
import { can, link, tenantPath } from "../context.js";
import { empty, errorBox, field, h, notify, select, stackedTable, when } from "../dom.js";

const SUBJECT_LABELS = /** @type {Record<string, string>} */ ({ GROUP: "Group", USER: "User", SERVICE_ACCOUNT: "Service account" });

/** The role every provisioning integration's account holds: a machine's, not a person's. */
export const MACHINE_ROLE = "SCIMProvisioner";

/** A role's name in pickers, where the machine role says whom it is for. */
export const roleLabel = (/** @type {{ name: string }} */ role) => (role.name === MACHINE_ROLE ? `${role.name} (provisioning integrations)` : role.name);

/**
 * A binding's subject by name, linked to its page (users and groups have one; service accounts
 * are listed together). The id stands in only if the subject is gone.
 * @param {import("../context.js").ViewContext} ctx @param {any} binding
 */
function subjectOf(ctx, binding) {
  const name = binding.subjectName ?? binding.subjectId;
  const id = encodeURIComponent(binding.subjectId);
  const to =
    binding.subjectType === "GROUP"
      ? `${tenantPath(ctx.tenant, "groups")}/${id}`
      : binding.subjectType === "USER"
        ? `${tenantPath(ctx.tenant, "users")}/${id}`
        : tenantPath(ctx.tenant, "service-accounts");
  return h("span", {}, `${SUBJECT_LABELS[binding.subjectType] ?? binding.subjectType}: `, link(to, name));
}

/**
 * A table of bindings with Remove buttons.
 * @param {import("../context.js").ViewContext} ctx
 * @param {any[]} bindings as the API lists them (with roleName and subjectName)
 * @param {() => void} changed called after a removal
 */
export function bindingsTable(ctx, bindings, changed) {
  if (bindings.length === 0) return empty("No bindings.");
  const base = `/${encodeURIComponent(ctx.tenant)}/bindings`;
  /**
   * What a row offers: an integration's own binding goes with the integration (the API answers
   * 409 here), so it links there; any other is removed after a confirmation.
   * @param {any} b
   */
  const actionOf = (b) => {
    if (b.integrationId) {
      const whose = `The binding of ${b.subjectName ?? b.subjectId} belongs to its integration, on Provisioning`;
      return link(tenantPath(ctx.tenant, "provisioning"), "Its integration's", { "aria-label": whose });
    }
    if (!can(ctx.me, "BINDINGS:DELETE")) return "";
    return h(
      "button",
      {
        type: "button",
        class: "danger small",
        "aria-label": `Remove binding of ${b.roleName} to ${b.subjectName ?? b.subjectId}`,
        onclick: async (/** @type {Event} */ event) => {
          const button = /** @type {HTMLButtonElement} */ (event.currentTarget);
          const body = [`${b.subjectName ?? b.subjectId} loses the role ${b.roleName}${b.namespace ? ` in ${b.namespace}` : ""}.`];
          await confirmThenAct(
            { title: "Remove this binding?", body, confirm: "Remove binding" },
            {
              act: () => api("DELETE", `${base}/${encodeURIComponent(b.id)}`),
              done: `Binding of ${b.roleName} removed.`,
              reload: changed,
              failed: (err) => button.replaceWith(errorBox(err)),
            },
          );
        },
      },
      "Remove",
    );
  };
  return stackedTable("Bindings", ["Role", "Subject", "Namespace", "Created", ""], bindings, (b) => [
    b.roleName,
    subjectOf(ctx, b),
    b.namespace ?? "whole tenant",
    when(b.createdAt),
    actionOf(b),
  ]);
}

/**
 * A form binding a role to a subject. `subjects` lists what can be picked per subject type.
 * No role is preselected: the first in the list could be one that writes users and groups.
 * @param {import("../context.js").ViewContext} ctx
 * @param {{ roles: any[],
 *   subjects: Record<string, [string, string][] | ((text: string) => Promise<[string, string][]>)>,
 *   fixed?: { type: string, id: string, name: string } }} options
 * @param {() => void} changed called after a binding was created
 */
export function bindForm(ctx, { roles, subjects, fixed }, changed) {
  const role = select("roleId", [["", "Choose a role"], ...roles.map((r) => /** @type {[string, string]} */ ([r.id, roleLabel(r)]))], "");
  role.required = true;
  const types = Object.keys(subjects).filter((type) => {
    const choices = subjects[type];
    return typeof choices === "function" || (choices ?? []).length > 0;
  });
  const type = select("subjectType", types.map((t) => [t, SUBJECT_LABELS[t] ?? t]));
  const subject = h("select", { name: "subjectId" });
  // Subjects given as a search (users: a tenant can hold many) get a search box above the list.
  const find = h("input", { type: "search", name: "find", maxlength: 200, autocomplete: "off" });
  const findField = field("Find a user", find, "Part of a userName or display name; the list shows the first 50 matches.");
  // The machine role given to a person or a group: said before it is bound, not refused.
  const machine = h(
    "p",
    { class: "warning", role: "note", hidden: true },
    `${MACHINE_ROLE} is the role of provisioning integrations: it creates and changes users, groups and bindings. `,
    "People rarely need it; pick a role with only what they need.",
  );
  const subjectType = () => (fixed ? fixed.type : type.value);
  const showMachineNote = () => {
    const chosen = roles.find((r) => r.id === role.value);
    machine.hidden = !(chosen?.name === MACHINE_ROLE && subjectType() !== "SERVICE_ACCOUNT");
  };
  let searches = 0;
  async function fillSubjects() {
    const choices = subjects[type.value];
    findField.hidden = typeof choices !== "function";
    if (typeof choices !== "function") {
      subject.replaceChildren(...(choices ?? []).map(([value, text]) => h("option", { value }, text)));
      return;
    }
    const run = ++searches;
    try {
      const found = await choices(find.value.trim());
      if (run !== searches) return; // a later search already answered
      subject.replaceChildren(...found.map(([value, text]) => h("option", { value }, text)));
      if (found.length === 0) subject.append(h("option", { value: "" }, "no user matches"));
    } catch (err) {
      if (run === searches) status.replaceChildren(errorBox(err));
    }
  }
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let typing;
  find.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => void fillSubjects(), 250);
  });
  type.addEventListener("change", () => {
    showMachineNote();
    void fillSubjects();
  });
  role.addEventListener("change", () => {
    role.removeAttribute("aria-invalid");
    showMachineNote();
  });
  const namespace = h("input", { name: "namespace", maxlength: 400, autocomplete: "off", placeholder: "company.team" });
  const status = h("div", {});
  const form = h(
    "form",
    { class: "card", novalidate: true },
    h("h2", {}, fixed ? `Bind a role to ${fixed.name}` : "Bind a role"),
    roles.length === 0 ? empty("This tenant has no roles yet.") : null,
    h(
      "div",
      { class: "row" },
      field("Role", role),
      fixed ? null : field("Subject type", type),
      fixed ? null : findField,
      fixed ? null : field("Subject", subject),
      field("Namespace (optional)", namespace, "Empty: the whole tenant."),
    ),
    machine,
    status,
    h("div", { class: "actions" }, h("button", { type: "submit", disabled: roles.length === 0 }, "Bind role")),
  );
  if (!fixed) void fillSubjects();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.replaceChildren();
    if (!role.value) {
      // Nothing is preselected, so nothing is granted by a hasty click.
      role.setAttribute("aria-invalid", "true");
      status.replaceChildren(errorBox("Choose a role to bind: none is picked yet."));
      role.focus();
      return;
    }
    const subjectId = fixed ? fixed.id : subject.value;
    if (!subjectId) {
      status.replaceChildren(errorBox("Pick a subject to bind the role to."));
      return;
    }
    try {
      await api("POST", `/${encodeURIComponent(ctx.tenant)}/bindings`, {
        roleId: role.value,
        subjectType: subjectType(),
        subjectId,
        ...(namespace.value.trim() ? { namespace: namespace.value.trim() } : {}),
      });
      notify("Role bound.");
      changed();
    } catch (err) {
      status.replaceChildren(errorBox(err));
    }
  });
  return form;
}

/** Roles of the tenant, for pickers (empty when the token may not read roles). */
export async function rolesOf(/** @type {import("../context.js").ViewContext} */ ctx) {
  return can(ctx.me, "ROLES:READ") ? listAll(`/${encodeURIComponent(ctx.tenant)}/roles`) : [];
}
