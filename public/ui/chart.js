// @ts-check
/**
 * The provisioning activity chart: per hour, SCIM writes by outcome (succeeded, refused, failed)
 * and the requests refused before any write (a wrong or missing token, a disabled integration),
 * as stacked bars drawn in inline SVG (no library, nothing for the CSP to allow). The picture is
 * for the eye; its title and description carry the totals for screen readers, and the busy hours
 * are listed in a table beneath it.
 */
import { h, table, uid } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const HOUR_MS = 3_600_000;

/**
 * @param {string} tag
 * @param {Record<string, string | number>} attrs
 * @param {...(Node | string)} children
 */
function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  el.append(...children);
  return el;
}

/**
 * @typedef {{ unauthorized: number, disabled: number }} GateRefusals requests the SCIM gate
 *   refused: 401 (a wrong, rotated, revoked or missing token) and 403 (the integration is off)
 * @typedef {{ start: string, succeeded: number, refused: number, failed: number }} Writes
 * @typedef {Writes & GateRefusals} Hour
 * @typedef {{ succeeded: number, refused: number, failed: number } & GateRefusals} Totals
 * @typedef {{ from: string, to: string, hours: Hour[], totals: Totals }} Activity
 */

/** What each cause of a refusal at the gate means to the person reading the card. */
export const CAUSES = /** @type {const} */ ({ unauthorized: "wrong or missing token", disabled: "integration disabled" });

// Stacked bottom to top. "gate" sums the two causes: one colour, the table has them apart.
const SERIES = /** @type {const} */ ([
  ["succeeded", "Succeeded"],
  ["refused", "Refused (4xx)"],
  ["failed", "Failed (5xx)"],
  ["gate", "Refused: wrong token or disabled"],
]);

/** "1 request", "2 requests" */
export const plural = (/** @type {number} */ n, /** @type {string} */ word) => `${n} ${word}${n === 1 ? "" : "s"}`;

/**
 * "3 requests refused this hour: wrong or missing token"; with both causes, how many of each.
 * @param {GateRefusals} counts @param {string} [when] said after "refused", e.g. " this hour"
 */
export function describeGate(counts, when = "") {
  const total = counts.unauthorized + counts.disabled;
  const causes = /** @type {(keyof typeof CAUSES)[]} */ (["unauthorized", "disabled"]).filter((cause) => counts[cause] > 0);
  if (!total) return `0 requests refused${when} (wrong token or disabled)`;
  const why = causes.length === 1 ? CAUSES[causes[0]] : causes.map((cause) => `${counts[cause]} ${CAUSES[cause]}`).join(", ");
  return `${plural(total, "request")} refused${when}: ${why}`;
}

/** "12 writes succeeded, 3 refused, 0 failed; 2 requests refused: wrong or missing token" */
export function describeTotals(/** @type {Totals} */ t) {
  return `${plural(t.succeeded, "write")} succeeded, ${t.refused} refused, ${t.failed} failed; ${describeGate(t)}`;
}

/** Everything charted in an hour. */
const sum = (/** @type {Hour} */ x) => x.succeeded + x.refused + x.failed + x.unauthorized + x.disabled;

/**
 * The whole days to chart: those since the integration was created (at least one, at most the
 * window), so a new integration's first hours fill the chart instead of a sliver at its edge.
 * @param {Activity} activity @param {string} [since] when the integration was created
 */
function daysShown(activity, since) {
  const all = Math.round(activity.hours.length / 24);
  const created = since ? Math.floor(Date.parse(since) / HOUR_MS) * HOUR_MS : NaN;
  const first = activity.hours.findIndex((x) => sum(x) > 0); // never hide an hour with activity
  const oldest = Math.min(Number.isNaN(created) ? -Infinity : created, first < 0 ? Infinity : Date.parse(activity.hours[first].start));
  if (!Number.isFinite(oldest)) return all;
  return Math.min(all, Math.max(1, Math.ceil((Date.parse(activity.to) - oldest) / (24 * HOUR_MS))));
}

/** "last 24 hours", "last 3 days" */
const spanOf = (/** @type {number} */ days) => (days === 1 ? "last 24 hours" : `last ${days} days`);

/** A short local date and hour for the axis, e.g. "Dec 3, 4 AM". */
const axisTime = (/** @type {string} */ iso) => new Date(iso).toLocaleString(undefined, { month: "short", day: "numeric", hour: "numeric" });

/**
 * What a quiet window shows instead of a blank chart.
 * @param {number} days @param {number} all the window's days
 */
function emptyChart(days, all) {
  const since = days < all ? "since it was created" : `in the ${spanOf(all)}`;
  return h(
    "p",
    { class: "empty activity-empty" },
    `No provisioning activity ${since}: no SCIM write, no refused request. Reads such as Entra's Test Connection show as the last contact above.`,
  );
}

/**
 * One hour's stacked bars, each with its own tooltip.
 * @param {Hour} hour @param {number} i its slot
 * @param {number} max the tallest hour @param {number} height the chart's
 */
function bars(hour, i, max, height) {
  const out = [];
  let y = height;
  for (const [key] of SERIES) {
    const value = key === "gate" ? hour.unauthorized + hour.disabled : hour[key];
    if (!value) continue;
    const barHeight = Math.max(1, (value / max) * (height - 2));
    y -= barHeight;
    const what = key === "gate" ? describeGate(hour) : `${value} ${key}`;
    out.push(svg("rect", { x: i * 4, y, width: 3, height: barHeight, class: `bar ${key}` }, svg("title", {}, `${new Date(hour.start).toLocaleString()}: ${what}`)));
  }
  return out;
}

/**
 * A stacked bar chart of an integration's activity per hour, or an explicit empty state when
 * nothing happened in the window.
 * @param {Activity} activity
 * @param {string} name the integration's name, for the accessible title
 * @param {{ since?: string }} [options] `since`: when the integration was created
 */
export function activityChart(activity, name, { since } = {}) {
  const days = daysShown(activity, since);
  const hours = activity.hours.slice(-days * 24);
  if (!hours.some((x) => sum(x) > 0)) return emptyChart(days, Math.round(activity.hours.length / 24));
  const width = hours.length * 4;
  const height = 48;
  const peak = Math.max(...hours.map(sum));
  const titleId = uid("chart-title");
  const descId = uid("chart-desc");
  const chart = svg(
    "svg",
    { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none", role: "img", "aria-labelledby": `${titleId} ${descId}`, class: "activity-chart" },
    svg("title", { id: titleId }, `Provisioning activity of ${name} per hour, ${spanOf(days)}`),
    svg("desc", { id: descId }, `${describeTotals(activity.totals)}. The busiest hour had ${peak} (writes and refused requests).`),
    svg("line", { x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5, class: "axis" }),
    ...hours.flatMap((hour, i) => bars(hour, i, peak, height)),
  );
  const busy = hours.filter((x) => sum(x) > 0).reverse();
  return h(
    "figure",
    { class: "activity" },
    chart,
    h(
      "figcaption",
      {},
      h("span", { class: "axis-labels" }, h("span", {}, axisTime(hours[0].start)), h("span", {}, "now")),
      h("span", { class: "legend" }, ...SERIES.map(([key, label]) => h("span", { class: `key ${key}` }, label))),
    ),
    h(
      "details",
      { class: "activity-table" },
      h("summary", {}, `Hours with activity (${busy.length})`),
      table(
        `Activity of ${name} per hour`,
        ["Hour", "Succeeded", "Refused", "Failed", `Refused: ${CAUSES.unauthorized}`, `Refused: ${CAUSES.disabled}`],
        busy,
        (x) => [new Date(x.start).toLocaleString(), x.succeeded, x.refused, x.failed, x.unauthorized, x.disabled],
      ),
    ),
  );
}
