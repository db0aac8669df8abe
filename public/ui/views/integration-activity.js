// @ts-check
/**
 * An integration's provisioning health on its card: what keeps it from working (its problems),
 * the requests the SCIM gate refused (a wrong token, a disabled integration: never in the audit
 * log), the last week's writes by outcome, the last contact, and a warning when refusals in the
 * last hour exceed a fifth of its writes.
 */
import { api } from "../api.js";
import { activityChart, CAUSES, describeGate, describeTotals } from "../chart.js";
import { link, tenantPath } from "../context.js";
import { errorBox, h, when } from "../dom.js";

/** What to do about wrong tokens (a disabled integration's own answer already says what to do). */
const REMEDY = "Entra must send this integration's current Secret Token: paste it again (Admin Credentials), or rotate the token and paste the new one.";

/**
 * What keeps an integration from working although it may be enabled (no token, permissions its
 * service account lacks), said next to its switch; nothing when it is healthy.
 * @param {{ name: string, problems?: string[] }} integration
 */
export function integrationProblems({ name, problems = [] }) {
  if (!problems.length) return null;
  return h(
    "section",
    { class: "error problems", "aria-label": `Problems of ${name}` },
    h("strong", {}, problems.length === 1 ? "A problem keeps it from working:" : `${problems.length} problems keep it from working:`),
    h("ul", {}, ...problems.map((problem) => h("li", {}, problem))),
  );
}

/**
 * The requests the gate refused: a warning while this clock hour has some, else a line with the
 * latest one; nothing if none was ever refused.
 * @param {any} activity
 */
function gateRefusals({ thisHour, lastRefusal }) {
  if (!lastRefusal) return null;
  /** @type {"unauthorized" | "disabled"} */
  const cause = lastRefusal.cause;
  const latest = `Latest refused request: ${when(lastRefusal.at)}, ${CAUSES[cause] ?? cause}. ${lastRefusal.detail}`;
  if (thisHour.unauthorized + thisHour.disabled === 0) return h("p", { class: "gate-latest" }, latest);
  return h(
    "div",
    { class: "warning gate-refusals" },
    h("strong", {}, `${describeGate(thisHour, " this hour")}.`),
    h("span", {}, latest),
    thisHour.unauthorized > 0 ? h("span", {}, REMEDY) : null,
  );
}

/**
 * The alert of an unhealthy integration (before Entra quarantines the app), with a link to the
 * last hour's refusals in the audit log.
 * @param {string} tenant @param {any} integration
 * @param {{ writes: number, refused: number, failed: number }} lastHour
 */
function healthWarning(tenant, integration, { writes, refused, failed }) {
  const since = new Date(Date.now() - 3_600_000).toISOString();
  const refusals = `${tenantPath(tenant, "audit")}?integrationId=${encodeURIComponent(integration.id)}&outcome=FAILURE&after=${encodeURIComponent(since)}`;
  return h(
    "div",
    { class: "warning health-warning", role: "alert" },
    h("strong", {}, `${refused + failed} of ${writes} SCIM writes in the last hour were refused or failed. `),
    "Entra ID quarantines an application whose provisioning calls keep failing. ",
    link(refusals, "See these refusals in the audit log"),
  );
}

/**
 * The integration's health section: drawn once its activity is read, an error box if that fails.
 * @param {{ tenant: string, base: string }} page `base` is the integrations' API path
 * @param {any} integration
 */
export function integrationActivity({ tenant, base }, integration) {
  const out = h("section", { class: "health", "aria-label": `Activity of ${integration.name}` }, h("p", { class: "loading meta", role: "status" }, "Loading activity…"));
  api("GET", `${base}/${encodeURIComponent(integration.id)}/activity?days=7`)
    .then((/** @type {any} */ activity) => {
      out.replaceChildren(
        ...[gateRefusals(activity), activity.unhealthy ? healthWarning(tenant, integration, activity.lastHour) : null].filter((x) => x !== null),
        h(
          "p",
          { class: "meta" },
          `Last contact ${activity.lastContactAt ? when(activity.lastContactAt) : "never"} · last write ${activity.lastWriteAt ? when(activity.lastWriteAt) : "never"} · last 7 days: ${describeTotals(activity.totals)}`,
        ),
        activityChart(activity, integration.name, { since: integration.createdAt }),
      );
    })
    .catch((err) => out.replaceChildren(errorBox(err)));
  return out;
}
