// @ts-check
/**
 * The audit log: filters in the URL (so a filtered view, a user's history say, can be linked),
 * each event's resource by the name it had then, each change's diff, refusals and failures marked.
 */
import { download, listAll, query as queryString } from "../api.js";
import { can, link, tenantPath } from "../context.js";
import { badge, errorBox, field, h, notify, select, table, when } from "../dom.js";
import { pagedList } from "./paged.js";

const RESOURCES = ["USER", "GROUP", "INTEGRATION", "ROLE", "BINDING", "SERVICE_ACCOUNT", "API_TOKEN", "SCIM_SCHEMA", "TENANT"];
const ACTIONS = ["CREATE", "UPDATE", "DELETE", "ROTATE_TOKEN"];

const show = (/** @type {unknown} */ value) => (value === undefined ? "—" : typeof value === "string" ? value : JSON.stringify(value));

/**
 * How an event ended: OK, refused (4xx: the request was turned down, as the Provisioning page
 * counts it) or failed (5xx, or no status: our side failed), with the reason given.
 * @param {{ outcome: string, status: number | null, detail: string | null }} e
 */
function outcomeView(e) {
  if (e.outcome !== "FAILURE") return badge("OK", "ok");
  const refused = e.status !== null && e.status >= 400 && e.status < 500;
  return h(
    "div",
    {},
    badge(`${refused ? "Refused" : "Failed"}${e.status ? ` ${e.status}` : ""}`, refused ? "refused" : "bad"),
    e.detail ? h("p", { class: "failure-detail" }, e.detail) : null,
  );
}

/**
 * An event's resource: its type, and the name it had when the event was recorded, linked to the
 * user's or group's page while it may still be there (not for a deletion), with its id beneath.
 * @param {string} tenant
 * @param {{ action: string, resourceType: string, resourceId: string | null,
 *   resourceName: string | null }} e
 */
function resourceView(tenant, e) {
  const section = { USER: "users", GROUP: "groups" }[e.resourceType];
  const href = section && e.resourceId && e.action !== "DELETE" ? `${tenantPath(tenant, section)}/${encodeURIComponent(e.resourceId)}` : null;
  // Without a name (a binding, a token, an event from before names), the id stands for it.
  const label = e.resourceName ?? e.resourceId;
  const style = e.resourceName ? "name" : "mono small";
  return h(
    "span",
    { class: "touched" },
    h("span", { class: "type" }, e.resourceType),
    label ? " " : null,
    label ? (href ? link(href, label, { class: style }) : h("span", { class: style }, label)) : null,
    e.resourceName && e.resourceId ? h("span", { class: "resource-id mono small" }, e.resourceId) : null,
  );
}

/** The fields an event changed, before and after. */
function diffView(/** @type {Record<string, { before?: unknown, after?: unknown }> | null} */ diff) {
  const fields = Object.entries(diff ?? {});
  if (fields.length === 0) return h("span", { class: "muted" }, "no field changes");
  return h(
    "details",
    { class: "diff" },
    h("summary", {}, `${fields.length} field${fields.length === 1 ? "" : "s"} changed`),
    table("Changed fields", ["Field", "Before", "After"], fields, ([name, change]) => [
      h("span", { class: "mono" }, name),
      h("span", { class: "mono before" }, show(change.before)),
      h("span", { class: "mono after" }, show(change.after)),
    ]),
  );
}

/** @param {import("../context.js").ViewContext} ctx */
export async function renderAudit(ctx) {
  const { tenant, query } = ctx;
  ctx.title("Audit log");
  const integrations = can(ctx.me, "INTEGRATIONS:READ") ? await listAll(`/${encodeURIComponent(tenant)}/integrations`).catch(() => []) : [];
  const integrationNames = new Map(integrations.map((i) => [i.id, i.name]));
  const current = {
    integrationId: query.get("integrationId") ?? "",
    resourceName: query.get("resourceName") ?? "",
    resourceType: query.get("resourceType") ?? "",
    action: query.get("action") ?? "",
    outcome: query.get("outcome") ?? "",
  };
  // "Since" comes only from links (the Provisioning page's refusal warning), shown with a way out.
  const after = query.get("after") ?? "";

  /**
   * The choices of a filter, plus the value in the URL when it is not among them (a deleted
   * integration's events, say), so the form always shows the filter actually applied.
   * @param {[string, string][]} options @param {string} value
   * @param {(value: string) => string} describe
   * @returns {[string, string][]}
   */
  const withCurrent = (options, value, describe) => (value && !options.some(([v]) => v === value) ? [...options, [value, describe(value)]] : options);
  const integration = select(
    "integrationId",
    withCurrent([["", "All integrations and the admin API"], ...integrations.map((i) => /** @type {[string, string]} */ ([i.id, i.name]))], current.integrationId, (id) => `Integration ${id} (deleted or not readable)`),
    current.integrationId,
  );
  const resource = select("resourceType", withCurrent([["", "All resources"], ...RESOURCES.map((r) => /** @type {[string, string]} */ ([r, r]))], current.resourceType, (r) => r), current.resourceType);
  const action = select("action", withCurrent([["", "All actions"], ...ACTIONS.map((a) => /** @type {[string, string]} */ ([a, a]))], current.action, (a) => a), current.action);
  const outcome = select("outcome", [["", "All outcomes"], ["SUCCESS", "Succeeded"], ["FAILURE", "Refused or failed"]], current.outcome);
  const name = h("input", { type: "search", name: "resourceName", value: current.resourceName, maxlength: 600, autocomplete: "off", spellcheck: "false" });
  /** A field of the filters, with the class that places it in their grid. */
  const placed = (/** @type {HTMLElement} */ el, /** @type {string} */ place) => {
    el.classList.add(place);
    return el;
  };
  const form = h(
    "form",
    { class: "audit-filters", role: "search", "aria-label": "Filter the audit log" },
    placed(field("Integration", integration), "integration"),
    placed(field("Name", name, "The whole name (a userName, a group's name…), in any case."), "name"),
    placed(field("Resource", resource), "resource"),
    placed(field("Action", action), "action"),
    placed(field("Outcome", outcome), "outcome"),
    h("button", { type: "submit" }, "Filter"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    if (integration.value) params.set("integrationId", integration.value);
    if (name.value.trim()) params.set("resourceName", name.value.trim());
    if (resource.value) params.set("resourceType", resource.value);
    if (action.value) params.set("action", action.value);
    if (outcome.value) params.set("outcome", outcome.value);
    if (after) params.set("after", after);
    const text = params.toString();
    ctx.navigate(`${tenantPath(tenant, "audit")}${text ? `?${text}` : ""}`);
  });
  const filters = Object.fromEntries(Object.entries(current).filter(([, value]) => value));
  const sinceNote = after
    ? h(
        "p",
        { class: "meta" },
        `Showing events since ${when(after)}. `,
        link(`${tenantPath(tenant, "audit")}${queryString(filters)}`, "Show all times"),
      )
    : null;

  // The export: every event of a date range with these filters, from D1 and the archive alike.
  const fromDate = h("input", { type: "date", name: "from" });
  const toDate = h("input", { type: "date", name: "to" });
  const format = select("format", [["csv", "CSV"], ["ndjson", "NDJSON"]], "csv");
  const exportStatus = h("div", { role: "status" });
  const exportForm = h(
    "form",
    { class: "export", "aria-label": "Download the audit log" },
    field("From (UTC day)", fromDate),
    field("To (UTC day, included)", toDate),
    field("Format", format),
    h("button", { type: "submit", class: "secondary" }, "Download"),
    exportStatus,
  );
  exportForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const day = 86_400_000;
    const from = fromDate.value ? new Date(`${fromDate.value}T00:00:00Z`).toISOString() : after || undefined;
    const to = toDate.value ? new Date(Date.parse(`${toDate.value}T00:00:00Z`) + day).toISOString() : undefined;
    const path = `/${encodeURIComponent(tenant)}/audit-logs/export${queryString({ ...filters, from, to, format: format.value })}`;
    exportStatus.replaceChildren(h("span", { class: "loading" }, "Preparing the download…"));
    try {
      const file = await download(path, `audit-${tenant}.${format.value}`);
      exportStatus.replaceChildren();
      notify(`Downloaded ${file.name} (${file.bytes.toLocaleString()} bytes).`);
    } catch (err) {
      exportStatus.replaceChildren(errorBox(err));
    }
  });

  const list = h("div", { class: "audit-list" });
  ctx.view.append(
    ...[
    h("h1", {}, "Audit log"),
    h(
      "p",
      { class: "lead" },
      "Every SCIM and admin write, newest first. Refused SCIM calls are recorded too, with the reason the identity provider was given. Events older than the retention period are archived: Download includes them.",
    ),
    form,
    sinceNote,
    h("details", { class: "card" }, h("summary", {}, "Download"), exportForm),
    list,
    ].filter((node) => node !== null),
  );

  const params = new URLSearchParams(filters);
  if (after) params.set("after", after);
  await pagedList(list, {
    path: `/${encodeURIComponent(tenant)}/audit-logs${params.size ? `?${params}` : ""}`,
    what: "events",
    emptyText: params.size ? "No event matches these filters." : "Nothing recorded yet. Provisioning and admin changes appear here as they happen.",
    render: (rows) =>
      table(
        "Audit events",
        ["Time", "Outcome", "Action", "Resource", "By", "Changes"],
        rows,
        (e) => [
          when(e.createdAt),
          outcomeView(e),
          e.action,
          resourceView(tenant, e),
          e.actor.type === "ADMIN"
            ? "admin"
            : e.integrationId
              ? `${integrationNames.get(e.integrationId) ?? "integration"} (SCIM)`
              : `${e.actor.type.toLowerCase().replace("_", " ")}${e.actor.id ? ` ${e.actor.id.slice(0, 8)}` : ""}`,
          diffView(e.diff),
        ],
        (e) => (e.outcome !== "FAILURE" ? "" : e.status >= 400 && e.status < 500 ? "refused" : "failed"),
      ),
  });
}
