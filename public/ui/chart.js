// @ts-check
/**
 * The provisioning activity chart: SCIM writes per hour as stacked bars (succeeded, refused,
 * failed), drawn as inline SVG (no library, nothing for the CSP to allow). The picture is for
 * the eye; its title and description carry the totals for screen readers, and the hours with
 * writes are listed in a table beneath it.
 */
import { h, table, uid } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";

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
 * @typedef {{ start: string, succeeded: number, refused: number, failed: number }} Hour
 * @typedef {{ from: string, to: string, hours: Hour[], totals: { succeeded: number, refused: number, failed: number } }} Activity
 */

const SERIES = /** @type {const} */ ([
  ["succeeded", "Succeeded"],
  ["refused", "Refused (4xx)"],
  ["failed", "Failed (5xx)"],
]);

const plural = (/** @type {number} */ n, /** @type {string} */ word) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** "12 writes succeeded, 3 refused, 0 failed" */
export function describeTotals(/** @type {Activity["totals"]} */ t) {
  return `${plural(t.succeeded, "write")} succeeded, ${t.refused} refused, ${t.failed} failed`;
}

/**
 * A stacked bar chart of an integration's writes per hour.
 * @param {Activity} activity
 * @param {string} name the integration's name, for the accessible title
 */
export function activityChart(activity, name) {
  const hours = activity.hours;
  const width = hours.length * 4;
  const height = 48;
  const peak = Math.max(0, ...hours.map((x) => x.succeeded + x.refused + x.failed));
  const max = Math.max(1, peak);
  const days = Math.round(hours.length / 24);
  const titleId = uid("chart-title");
  const descId = uid("chart-desc");
  const chart = svg(
    "svg",
    { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none", role: "img", "aria-labelledby": `${titleId} ${descId}`, class: "activity-chart" },
    svg("title", { id: titleId }, `SCIM writes of ${name} per hour, last ${plural(days, "day")}`),
    svg("desc", { id: descId }, `${describeTotals(activity.totals)}. The busiest hour had ${plural(peak, "write")}.`),
    svg("line", { x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5, class: "axis" }),
  );
  hours.forEach((hour, i) => {
    let y = height;
    for (const [key] of SERIES) {
      const value = hour[key];
      if (!value) continue;
      const barHeight = Math.max(1, (value / max) * (height - 2));
      y -= barHeight;
      const bar = svg("rect", { x: i * 4, y, width: 3, height: barHeight, class: `bar ${key}` });
      bar.append(svg("title", {}, `${new Date(hour.start).toLocaleString()}: ${value} ${key}`));
      chart.append(bar);
    }
  });
  const busy = hours.filter((x) => x.succeeded + x.refused + x.failed > 0);
  return h(
    "figure",
    { class: "activity" },
    chart,
    h(
      "figcaption",
      {},
      h("span", { class: "axis-label" }, new Date(activity.from).toLocaleDateString()),
      h("span", { class: "legend" }, ...SERIES.map(([key, label]) => h("span", { class: `key ${key}` }, label))),
      h("span", { class: "axis-label" }, "now"),
    ),
    busy.length
      ? h(
          "details",
          { class: "activity-table" },
          h("summary", {}, `Hours with writes (${busy.length})`),
          table(`SCIM writes of ${name} per hour`, ["Hour", "Succeeded", "Refused", "Failed"], busy.reverse(), (x) => [
            new Date(x.start).toLocaleString(),
            x.succeeded,
            x.refused,
            x.failed,
          ]),
        )
      : null,
  );
}
