// @ts-check
/**
 * Provisioning, as on Kestra's page: integrations with their enabled switch, Create (Name,
 * Description, Provisioning Type), the endpoint and secret token shown once after Save, token
 * rotation and deletion behind a confirmation, and how to set up Microsoft Entra ID.
 */
import { confirmThenAct } from "../actions.js";
import { api } from "../api.js";
import { can, link, tenantPath } from "../context.js";
import { badge, copyField, errorBox, field, h, notify, openDialog, select, showSecretOnce, uid, when } from "../dom.js";
import { integrationActivity, integrationProblems } from "./integration-activity.js";
import { pagedList } from "./paged.js";

/**
 * Why the README recommends creating the integration enabled, said in the Create dialog and under
 * the Entra steps: Entra provisions nothing until its status is On, and a disabled integration
 * fails Test Connection.
 */
const ADVICE =
  "Entra's Test Connection needs it, and nothing is provisioned until Entra's Provisioning Status is On (try Provision on demand for a one-user test first). The Enabled switch pauses provisioning later: while it is off, every request from Entra, Test Connection included, is refused (403).";

/**
 * What the parts of the page share.
 * @typedef {object} Page
 * @property {string} tenant
 * @property {import("../context.js").Me} me
 * @property {string} base the integrations' API path
 * @property {HTMLElement} list where the integrations are drawn
 * @property {() => void} reload draws the list again
 * @property {Map<string, Promise<any>>} tokenUses the service account of each integration, read
 *   once per visit (the cards are drawn again on "Load more")
 */

/**
 * The one time an integration's secret token is visible, with the endpoint it goes with.
 * @param {string} title
 * @param {{ endpoint: string, secretToken: string }} values
 */
async function showIntegrationSecret(title, { endpoint, secretToken }) {
  await showSecretOnce(title, {
    note: "It will not be shown again: scim-edge keeps only its hash. If it is lost, rotate the token and paste the new one into Entra.",
    fields: [copyField("Tenant URL", endpoint), copyField("Secret Token", secretToken, { secret: true })],
  });
}

/** The README's Entra steps and recommended order, where the values are pasted. */
function entraPanel() {
  return h(
    "details",
    { class: "card entra", open: true },
    h("summary", {}, "Configure Microsoft Entra ID"),
    h(
      "ol",
      {},
      h("li", {}, "Entra admin center → Enterprise applications → New application → Create your own application (a non-gallery app)."),
      h("li", {}, "In the app: Provisioning → Provisioning Mode: Automatic."),
      h("li", {}, "Admin Credentials: paste the integration's Tenant URL and Secret Token. Entra needs a public HTTPS URL: your deployed Worker, or PUBLIC_URL behind a tunnel."),
      h("li", {}, "Click Test Connection (the integration must be enabled: scim-edge answers Entra's probe with an empty list), then Save."),
      h("li", {}, "Review the user and group Mappings and assign users and groups to the app."),
      h("li", {}, "Try Provision on demand with one assigned user: it runs one cycle for that user and shows each step."),
      h("li", {}, "Set Provisioning Status to On: Entra provisions nothing before."),
    ),
    h("p", { class: "tip" }, h("strong", {}, "Recommended: create the integration enabled. "), ADVICE),
  );
}

/**
 * The integration's Enabled switch, labelled with the state it is in (its accessible name too,
 * so the words seen are the words a voice user says), the badge that says what "off" means for
 * Entra, and where a refused change is shown.
 * @param {Page} page @param {any} integration
 */
function enabledSwitch({ me, base }, integration) {
  const input = h("input", { type: "checkbox", role: "switch", checked: integration.enabled, disabled: !can(me, "INTEGRATIONS:UPDATE") });
  const state = h("span", {});
  const off = badge("Disabled: SCIM refused", "bad");
  const problem = h("div", { class: "switch-error" });
  const show = () => {
    state.textContent = integration.enabled ? "Enabled" : "Disabled";
    input.setAttribute("aria-label", `${state.textContent}: ${integration.name}`);
    off.hidden = integration.enabled;
  };
  show();
  input.addEventListener("change", async () => {
    const wanted = input.checked;
    input.disabled = true;
    problem.replaceChildren();
    try {
      await api("PATCH", `${base}/${encodeURIComponent(integration.id)}`, { enabled: wanted });
      integration.enabled = wanted;
      notify(`${integration.name} is ${wanted ? "enabled: SCIM requests are accepted" : "disabled: SCIM requests are refused"}.`);
    } catch (err) {
      input.checked = !wanted;
      problem.replaceChildren(errorBox(err));
    } finally {
      show();
      input.disabled = false;
      input.focus();
    }
  });
  return [off, h("label", { class: "switch" }, input, state), problem];
}

/**
 * Rotates the integration's token after a confirmation, and shows the new one once.
 * @param {Page} page @param {any} integration
 */
function rotateToken(page, integration) {
  return confirmThenAct(
    {
      title: `Rotate the token of ${integration.name}?`,
      body: ["The current secret token stops working at once: provisioning fails until the new token is pasted into Entra (Admin Credentials → Secret Token)."],
      confirm: "Rotate token",
    },
    {
      act: async () => {
        const { secretToken } = await api("POST", `${page.base}/${encodeURIComponent(integration.id)}/token`);
        page.tokenUses.delete(integration.id);
        await showIntegrationSecret(`New token of ${integration.name}`, { endpoint: integration.endpoint, secretToken });
      },
      reload: page.reload, // the card's "…last four, last used" now describe the new token
      failed: (err) => page.list.prepend(errorBox(err)),
      focus: false,
    },
  );
}

/**
 * Deletes the integration after a confirmation.
 * @param {Page} page @param {any} integration
 */
function deleteIntegration(page, integration) {
  return confirmThenAct(
    {
      title: `Delete ${integration.name}?`,
      body: [
        "Its token stops working and its service account and bindings are removed. Users and groups it provisioned stay, as does the audit log.",
        "This cannot be undone.",
      ],
      confirm: "Delete integration",
    },
    {
      act: () => api("DELETE", `${page.base}/${encodeURIComponent(integration.id)}`),
      done: `${integration.name} deleted.`,
      reload: page.reload,
      failed: (err) => page.list.prepend(errorBox(err)),
    },
  );
}

/**
 * When the integration's token was last used: the quickest sign that Entra is connected.
 * @param {Page} page @param {any} integration
 */
function tokenUse({ tenant, me, tokenUses }, integration) {
  const out = h("span", {});
  if (!can(me, "SERVICE_ACCOUNTS:READ")) return out;
  let account = tokenUses.get(integration.id);
  if (!account) {
    account = api("GET", `/${encodeURIComponent(tenant)}/service-accounts/${encodeURIComponent(integration.serviceAccountId)}`);
    tokenUses.set(integration.id, account);
  }
  account
    .then((account) => {
      const token = account.tokens[0];
      if (token) out.textContent = ` · secret token …${token.lastFour}, last used ${when(token.lastUsedAt)}`;
    })
    .catch(() => {}); // a detail: the card stands without it
  return out;
}

/**
 * One integration's card: its switch, Tenant URL, token use, activity and actions.
 * @param {Page} page @param {any} integration
 */
function integrationCard(page, integration) {
  const { tenant, me } = page;
  return h(
    "li",
    { class: "card integration", "data-integration": integration.id },
    h("div", { class: "card-head" }, h("h2", {}, integration.name), badge("SCIM 2.0", "neutral"), ...enabledSwitch(page, integration)),
    integrationProblems(integration),
    integration.description ? h("p", {}, integration.description) : null,
    copyField("Tenant URL", integration.endpoint),
    h("p", { class: "meta" }, `Created ${when(integration.createdAt)} · updated ${when(integration.updatedAt)}`, tokenUse(page, integration)),
    integrationActivity(page, integration),
    h(
      "div",
      { class: "actions" },
      link(`${tenantPath(tenant, "audit")}?integrationId=${encodeURIComponent(integration.id)}`, "Audit log", { class: "button secondary", "aria-label": `Audit log of ${integration.name}` }),
      can(me, "INTEGRATIONS:UPDATE") ? h("button", { type: "button", class: "secondary", "aria-label": `Rotate token of ${integration.name}`, onclick: () => rotateToken(page, integration) }, "Rotate token") : null,
      can(me, "INTEGRATIONS:DELETE") ? h("button", { type: "button", class: "danger", "aria-label": `Delete ${integration.name}`, onclick: () => deleteIntegration(page, integration) }, "Delete") : null,
    ),
  );
}

/**
 * Draws the integrations, page by page, as cards.
 * @param {Page} page
 */
function integrationList(page) {
  return pagedList(page.list, {
    path: page.base,
    what: "integrations",
    emptyText: "No provisioning integration yet. Create one, then paste its Tenant URL and Secret Token into Entra ID.",
    render: (rows) => h("ul", { class: "cards" }, ...rows.map((integration) => integrationCard(page, integration))),
  });
}

/**
 * The Create form: on Save it creates the integration, closes the dialog, draws the list again
 * and shows the new token once.
 * @param {Page} page @param {(value?: string) => void} close @param {{ saving: boolean }} state
 */
function createForm(page, close, state) {
  const name = h("input", { name: "name", required: true, maxlength: 200, value: "Microsoft Entra ID", autocomplete: "off" });
  const description = h("textarea", { name: "description", maxlength: 2000, rows: 3 });
  const type = select("provisioningType", [["SCIM_2_0", "SCIM 2.0"]], "SCIM_2_0");
  const enabledHint = h("p", { class: "hint", id: uid("hint") }, `Leave it enabled: ${ADVICE}`);
  const enabled = h("input", { type: "checkbox", name: "enabled", checked: true, "aria-describedby": enabledHint.id });
  const status = h("div", {});
  const cancel = h("button", { type: "button", class: "secondary", onclick: () => close("cancel") }, "Cancel");
  const save = h("button", { type: "submit" }, "Save");
  const form = h(
    "form",
    {},
    field("Name", name),
    field("Description (optional)", description),
    field("Provisioning Type", type, "SCIM 2.0 is the only type."),
    h("label", { class: "check" }, enabled, " Enabled"),
    enabledHint,
    status,
    h("div", { class: "actions" }, cancel, save),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    // While the integration is being created the dialog stays: its answer holds the only copy of
    // the token.
    state.saving = true;
    save.disabled = cancel.disabled = true;
    status.replaceChildren(h("p", { class: "loading", role: "status" }, "Creating…"));
    /** @type {any} */
    let created;
    try {
      created = await api("POST", page.base, {
        name: name.value.trim(),
        ...(description.value.trim() ? { description: description.value.trim() } : {}),
        provisioningType: type.value,
        enabled: enabled.checked,
      });
    } catch (err) {
      status.replaceChildren(errorBox(err));
      save.disabled = cancel.disabled = state.saving = false;
      return;
    }
    close("saved");
    page.reload();
    await showIntegrationSecret(`${created.name} is ready`, created);
  });
  return form;
}

/**
 * Opens the Create dialog; Escape does not close it while the integration is being created.
 * @param {Page} page
 */
async function createIntegration(page) {
  const state = { saving: false };
  await openDialog("Create a provisioning integration", (close) => [createForm(page, close, state)], { holdOpen: () => state.saving });
}

/**
 * The Provisioning view: its head with Create, the integrations, and the Entra steps.
 * @param {import("../context.js").ViewContext} ctx
 */
export async function renderProvisioning(ctx) {
  const { tenant, me } = ctx;
  ctx.title("Provisioning");
  /** @type {Page} */
  const page = {
    tenant,
    me,
    base: `/${encodeURIComponent(tenant)}/integrations`,
    list: h("div", {}),
    reload: () => void integrationList(page).catch((err) => page.list.replaceChildren(errorBox(err))),
    tokenUses: new Map(),
  };
  ctx.view.append(
    h(
      "div",
      { class: "view-head" },
      h("h1", {}, "Provisioning"),
      can(me, "INTEGRATIONS:CREATE") ? h("button", { type: "button", onclick: () => createIntegration(page) }, "Create") : null,
    ),
    h("p", { class: "lead" }, "Each integration is one SCIM 2.0 endpoint with its own secret token, for one identity provider."),
    page.list,
    entraPanel(),
  );
  await integrationList(page);
}
