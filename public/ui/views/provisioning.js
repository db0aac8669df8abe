// @ts-check
/**
 * Provisioning, as on Kestra's page: integrations with their enabled switch, Create (Name,
 * Description, Provisioning Type), the endpoint and secret token shown once after Save, token
 * rotation and deletion behind a confirmation, and how to set up Microsoft Entra ID.
 */
import { api } from "../api.js";
import { can, link, tenantPath } from "../context.js";
import { activityChart, describeTotals } from "../chart.js";
import { badge, confirmAction, copyField, errorBox, field, focusView, h, notify, openDialog, select, showSecretOnce, when } from "../dom.js";
import { pagedList } from "./paged.js";

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

/** The README's Entra steps, where the values are pasted. */
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
      h("li", {}, "Click Test Connection (scim-edge answers Entra's probe with an empty list), then Save."),
      h("li", {}, "Review the user and group Mappings, assign users and groups to the app, and set Provisioning Status to On."),
    ),
    h("p", {}, "Tip: create the integration disabled, configure Entra, then switch it on here. While it is off, every SCIM request is refused (403)."),
  );
}

/** @param {import("../context.js").ViewContext} ctx */
export async function renderProvisioning(ctx) {
  const { tenant, me } = ctx;
  ctx.title("Provisioning");
  const base = `/${encodeURIComponent(tenant)}/integrations`;
  const list = h("div", {});
  const reload = () => void show().catch((err) => list.replaceChildren(errorBox(err)));
  /** The service account of each integration, read once per visit (the card redraws on "Load more"). @type {Map<string, Promise<any>>} */
  const tokenUses = new Map();

  /** @param {any} integration */
  function toggle(integration) {
    const input = h("input", { type: "checkbox", role: "switch", checked: integration.enabled, disabled: !can(me, "INTEGRATIONS:UPDATE") });
    const label = h("label", { class: "switch" }, input, h("span", {}, "Enabled"));
    const problem = h("div", { class: "switch-error" });
    input.setAttribute("aria-label", `Enabled: ${integration.name}`);
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
        input.disabled = false;
        input.focus();
      }
    });
    return [label, problem];
  }

  /** @param {any} integration */
  async function rotate(integration) {
    const sure = await confirmAction({
      title: `Rotate the token of ${integration.name}?`,
      body: ["The current secret token stops working at once: provisioning fails until the new token is pasted into Entra (Admin Credentials → Secret Token)."],
      confirm: "Rotate token",
    });
    if (!sure) return;
    try {
      const { secretToken } = await api("POST", `${base}/${encodeURIComponent(integration.id)}/token`);
      tokenUses.delete(integration.id);
      await showIntegrationSecret(`New token of ${integration.name}`, { endpoint: integration.endpoint, secretToken });
      reload(); // the card's "…last four, last used" now describe the new token
    } catch (err) {
      list.prepend(errorBox(err));
    }
  }

  /** @param {any} integration */
  async function remove(integration) {
    const sure = await confirmAction({
      title: `Delete ${integration.name}?`,
      body: [
        "Its token stops working and its service account and bindings are removed. Users and groups it provisioned stay, as does the audit log.",
        "This cannot be undone.",
      ],
      confirm: "Delete integration",
    });
    if (!sure) return;
    try {
      await api("DELETE", `${base}/${encodeURIComponent(integration.id)}`);
      notify(`${integration.name} deleted.`);
      reload();
      focusView();
    } catch (err) {
      list.prepend(errorBox(err));
    }
  }

  /**
   * When the integration's token was last used: the quickest sign that Entra is connected.
   * @param {any} integration
   */
  function tokenUse(integration) {
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
   * Provisioning health: the last week's writes by outcome, the last contact, and a warning when
   * refusals in the last hour exceed a fifth of its writes (before Entra quarantines the app).
   * @param {any} integration
   */
  function health(integration) {
    const out = h("section", { class: "health", "aria-label": `Activity of ${integration.name}` }, h("p", { class: "loading meta", role: "status" }, "Loading activity…"));
    api("GET", `${base}/${encodeURIComponent(integration.id)}/activity?days=7`)
      .then((/** @type {any} */ activity) => {
        const { writes, refused, failed } = activity.lastHour;
        const since = new Date(Date.now() - 3_600_000).toISOString();
        const refusals = `${tenantPath(tenant, "audit")}?integrationId=${encodeURIComponent(integration.id)}&outcome=FAILURE&after=${encodeURIComponent(since)}`;
        out.replaceChildren(
          ...[
          activity.unhealthy
            ? h(
                "div",
                { class: "warning health-warning", role: "alert" },
                h("strong", {}, `${refused + failed} of ${writes} SCIM writes in the last hour were refused or failed. `),
                "Entra ID quarantines an application whose provisioning calls keep failing. ",
                link(refusals, "See these refusals in the audit log"),
              )
            : null,
          h(
            "p",
            { class: "meta" },
            `Last contact ${activity.lastContactAt ? when(activity.lastContactAt) : "never"} · last write ${activity.lastWriteAt ? when(activity.lastWriteAt) : "never"} · last 7 days: ${describeTotals(activity.totals)}`,
          ),
          activityChart(activity, integration.name),
          ].filter((node) => node !== null),
        );
      })
      .catch((err) => out.replaceChildren(errorBox(err)));
    return out;
  }

  /** @param {any[]} rows */
  function cards(rows) {
    return h(
      "ul",
      { class: "cards" },
      ...rows.map((integration) =>
        h(
          "li",
          { class: "card integration", "data-integration": integration.id },
          h(
            "div",
            { class: "card-head" },
            h("h2", {}, integration.name),
            badge("SCIM 2.0", "neutral"),
            ...toggle(integration),
          ),
          integration.description ? h("p", {}, integration.description) : null,
          copyField("Tenant URL", integration.endpoint),
          h("p", { class: "meta" }, `Created ${when(integration.createdAt)} · updated ${when(integration.updatedAt)}`, tokenUse(integration)),
          health(integration),
          h(
            "div",
            { class: "actions" },
            link(`${tenantPath(tenant, "audit")}?integrationId=${encodeURIComponent(integration.id)}`, "Audit log", { class: "button secondary", "aria-label": `Audit log of ${integration.name}` }),
            can(me, "INTEGRATIONS:UPDATE") ? h("button", { type: "button", class: "secondary", "aria-label": `Rotate token of ${integration.name}`, onclick: () => rotate(integration) }, "Rotate token") : null,
            can(me, "INTEGRATIONS:DELETE") ? h("button", { type: "button", class: "danger", "aria-label": `Delete ${integration.name}`, onclick: () => remove(integration) }, "Delete") : null,
          ),
        ),
      ),
    );
  }

  async function show() {
    await pagedList(list, {
      path: base,
      what: "integrations",
      emptyText: "No provisioning integration yet. Create one, then paste its Tenant URL and Secret Token into Entra ID.",
      render: cards,
    });
  }

  async function create() {
    const name = h("input", { name: "name", required: true, maxlength: 200, value: "Microsoft Entra ID", autocomplete: "off" });
    const description = h("textarea", { name: "description", maxlength: 2000, rows: 3 });
    const type = select("provisioningType", [["SCIM_2_0", "SCIM 2.0"]], "SCIM_2_0");
    const enabled = h("input", { type: "checkbox", name: "enabled", checked: true });
    const status = h("div", {});
    let saving = false;
    await openDialog(
      "Create a provisioning integration",
      (close) => {
        const cancel = h("button", { type: "button", class: "secondary", onclick: () => close("cancel") }, "Cancel");
        const save = h("button", { type: "submit" }, "Save");
        const form = h(
          "form",
          {},
          field("Name", name),
          field("Description (optional)", description),
          field("Provisioning Type", type, "SCIM 2.0 is the only type."),
          h("label", { class: "check" }, enabled, " Enabled (switch off to configure Entra first and enable later)"),
          status,
          h("div", { class: "actions" }, cancel, save),
        );
        form.addEventListener("submit", async (event) => {
          event.preventDefault();
          // While the integration is being created the dialog stays: its answer holds the only copy of the token.
          saving = true;
          save.disabled = cancel.disabled = true;
          status.replaceChildren(h("p", { class: "loading", role: "status" }, "Creating…"));
          /** @type {any} */
          let created;
          try {
            created = await api("POST", base, {
              name: name.value.trim(),
              ...(description.value.trim() ? { description: description.value.trim() } : {}),
              provisioningType: type.value,
              enabled: enabled.checked,
            });
          } catch (err) {
            status.replaceChildren(errorBox(err));
            save.disabled = cancel.disabled = saving = false;
            return;
          }
          close("saved");
          reload();
          await showIntegrationSecret(`${created.name} is ready`, created);
        });
        return [form];
      },
      { holdOpen: () => saving },
    );
  }

  ctx.view.append(
    h(
      "div",
      { class: "view-head" },
      h("h1", {}, "Provisioning"),
      can(me, "INTEGRATIONS:CREATE") ? h("button", { type: "button", onclick: create }, "Create") : null,
    ),
    h("p", { class: "lead" }, "Each integration is one SCIM 2.0 endpoint with its own secret token, for one identity provider."),
    list,
    entraPanel(),
  );
  await show();
}
