// @ts-check
/** A list read page by page from the admin API, with a "Load more" button. */
import { api } from "../api.js";
import { empty, errorBox, h, loading, redrawKeepingFocus } from "../dom.js";

/**
 * Fills `into` with the first page of `path`, rendered by `render`, and offers the next pages.
 * @param {HTMLElement} into
 * @param {{
 *   path: string,
 *   what: string,
 *   emptyText: string,
 *   render: (rows: any[]) => Node,
 *   rowsOf?: (page: any) => any[],
 * }} options `what` is a plural noun; `rowsOf` finds the rows in a page (default: its `results`)
 */
export async function pagedList(into, { path, what, emptyText, render, rowsOf = (page) => page.results }) {
  /** @type {any[]} */
  const rows = [];
  into.replaceChildren(loading(what));
  const separator = path.includes("?") ? "&" : "?";
  /** @param {string | undefined} cursor */
  async function load(cursor) {
    const page = await api("GET", `${path}${separator}limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    rows.push(...rowsOf(page));
    if (rows.length === 0) {
      into.replaceChildren(empty(emptyText));
      return;
    }
    const more = page.nextCursor
      ? h("button", { type: "button", class: "secondary more", onclick: async (/** @type {Event} */ event) => {
          const button = /** @type {HTMLButtonElement} */ (event.currentTarget);
          button.disabled = true;
          button.textContent = "Loading…";
          try {
            await load(page.nextCursor);
          } catch (err) {
            button.replaceWith(errorBox(err));
          }
        } }, "Load more")
      : null;
    redrawKeepingFocus(into, () => into.replaceChildren(render(rows), h("p", { class: "count" }, page.nextCursor ? `Showing the first ${rows.length} ${what}; more below.` : `Showing all ${what}: ${rows.length}.`), more ?? ""));
  }
  await load(undefined);
}
