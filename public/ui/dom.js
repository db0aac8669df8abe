// @ts-check
/**
 * DOM building blocks of the console. Text always goes in as text nodes, never as HTML, so
 * anything an identity provider sent (a displayName, an error detail) cannot inject markup.
 */

/** @typedef {Node | string | number | null | undefined | false} Child */

/**
 * Creates an element with attributes, event handlers (`onclick`…) and children.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), /** @type {EventListener} */ (value));
    } else if (key === "class") {
      el.className = String(value);
    } else if (key === "value" || key === "checked" || key === "selected") {
      /** @type {any} */ (el)[key] = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === "number" ? String(child) : child);
  }
  return el;
}

let nextId = 0;
/** A unique element id, for label/aria wiring. */
export const uid = (/** @type {string} */ prefix) => `${prefix}-${++nextId}`;

/**
 * A labelled form field: the label names the control, the hint is read out with it.
 * @param {string} label
 * @param {HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement} control
 * @param {string} [hint]
 */
export function field(label, control, hint) {
  control.id ||= uid("field");
  const hintEl = hint ? h("small", { class: "hint", id: uid("hint") }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control, hintEl);
}

/**
 * A select with options given as [value, text] pairs.
 * @param {string} name
 * @param {[string, string][]} options
 * @param {string} [selected]
 */
export function select(name, options, selected) {
  return h("select", { name }, ...options.map(([value, text]) => h("option", { value, selected: value === selected }, text)));
}

/** A loading line, announced to screen readers. */
export const loading = (/** @type {string} */ what) => h("p", { class: "loading", role: "status" }, `Loading ${what}…`);

/** What an empty list says, with what to do about it. */
export const empty = (/** @type {string} */ text) => h("p", { class: "empty" }, text);

/**
 * An error in words, as an alert (read out at once).
 * @param {unknown} err
 */
export function errorBox(err) {
  const message = err instanceof Error ? err.message : String(err);
  return h("div", { class: "error", role: "alert" }, message);
}

/**
 * A table whose rows are built by `cells`; wrapped so it scrolls sideways on a phone.
 * @template T
 * @param {string} caption
 * @param {string[]} headings
 * @param {T[]} rows
 * @param {(row: T) => (Child | Child[])[]} cells
 * @param {(row: T) => string} [rowClass]
 */
export function table(caption, headings, rows, cells, rowClass) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, ...headings.map((text) => h("th", { scope: "col" }, text)))),
      // Each cell names its column (data-label): a stacked table shows it beside the value.
      h("tbody", {}, ...rows.map((row) => h("tr", { class: rowClass?.(row) ?? "" }, ...cells(row).map((cell, i) => h("td", { "data-label": headings[i] ?? "" }, cell))))),
    ),
  );
}

/**
 * `table`, shown on a phone as one block of "heading: value" lines per row, so that no column
 * (its actions least of all) is hidden off to the side. Explicit ARIA roles keep it a table for
 * screen readers, some of which drop a table's semantics once CSS displays its cells as blocks.
 * @type {typeof table}
 */
export function stackedTable(caption, headings, rows, cells, rowClass) {
  const wrap = table(caption, headings, rows, cells, rowClass);
  wrap.classList.add("stacked");
  const roles = /** @type {Record<string, string>} */ ({ TABLE: "table", THEAD: "rowgroup", TBODY: "rowgroup", TR: "row", TH: "columnheader", TD: "cell" });
  for (const el of wrap.querySelectorAll("table, thead, tbody, tr, th, td")) el.setAttribute("role", roles[el.tagName] ?? "");
  // One box per value, beside its label however many nodes it holds.
  for (const td of wrap.querySelectorAll("td")) td.append(h("div", { class: "value" }, ...td.childNodes));
  return wrap;
}

/** "1 member", "2 members": a count with its noun. */
export const plural = (/** @type {number} */ n, /** @type {string} */ one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Moves focus to the view (after what had it was removed), so keyboard users stay in place. */
export function focusView() {
  document.getElementById("main")?.focus({ preventScroll: true });
}

/**
 * Redraws `container` with `render`, keeping keyboard focus inside it when it was there (on its
 * "Load more" button if one is drawn again, else on the container itself).
 * @param {HTMLElement} container
 * @param {() => void} render
 */
export function redrawKeepingFocus(container, render) {
  const hadFocus = container.contains(document.activeElement);
  render();
  if (!hadFocus) return;
  const more = container.querySelector("button.more");
  if (more instanceof HTMLElement) return more.focus();
  container.tabIndex = -1;
  container.focus();
}

/** Shows a short message in the polite live region; it fades after a while. */
export function notify(/** @type {string} */ message) {
  const region = document.getElementById("toasts");
  if (!region) return;
  const toast = h("p", { class: "toast" }, message);
  region.append(toast);
  setTimeout(() => toast.remove(), 6000);
}

/**
 * A modal dialog (native <dialog>: focus is trapped, Escape closes it). Resolves when closed.
 * @param {string} title
 * @param {(close: (value?: string) => void, dialog: HTMLDialogElement) => Node[]} content
 *   receives a function that closes it
 * @param {{ holdOpen?: () => boolean }} [options] while `holdOpen()` is true, Escape does not
 *   close it
 * @returns {Promise<string>} the value it was closed with ("" on Escape)
 */
export function openDialog(title, content, options = {}) {
  const titleId = uid("dialog-title");
  const dialog = h("dialog", { "aria-labelledby": titleId });
  const close = (value = "") => dialog.close(value);
  dialog.append(h("h2", { id: titleId }, title), ...content(close, dialog));
  dialog.addEventListener("cancel", (event) => {
    if (options.holdOpen?.()) event.preventDefault();
  });
  document.body.append(dialog);
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue);
      dialog.remove();
    });
  });
}

/**
 * A dialog with a form that saves through the API: `save` runs on submit; what it throws (a
 * refused request, a local check) is shown in the form, which stays open to be corrected.
 * While it saves, neither Cancel nor Escape closes it: the answer may hold something shown once.
 * @param {{ title: string, fields: Node[], submit: string, save: () => Promise<void>,
 *   className?: string }} options `className` styles the form (a dense editor, say)
 * @returns {Promise<boolean>} whether it was saved
 */
export async function formDialog({ title, fields, submit, save, className }) {
  const status = h("div", {});
  let saved = false;
  let saving = false;
  await openDialog(
    title,
    (close) => {
      const cancel = h("button", { type: "button", class: "secondary", onclick: () => close("cancel") }, "Cancel");
      const confirm = h("button", { type: "submit" }, submit);
      const form = h("form", { class: className }, ...fields, status, h("div", { class: "actions" }, cancel, confirm));
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        if (saving) return;
        saving = cancel.disabled = confirm.disabled = true;
        try {
          await save();
          saved = true;
          saving = false;
          close("saved");
        } catch (err) {
          status.replaceChildren(errorBox(err));
          saving = cancel.disabled = confirm.disabled = false;
        }
      });
      return [form];
    },
    { holdOpen: () => saving },
  );
  return saved;
}

/**
 * Asks before doing something that cannot be undone.
 * @param {{ title: string, body: (string | Node)[], confirm: string }} options
 * @returns {Promise<boolean>}
 */
export async function confirmAction({ title, body, confirm }) {
  const answer = await openDialog(title, (close) => [
    ...body.map((part) => (typeof part === "string" ? h("p", {}, part) : part)),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "secondary", onclick: () => close("cancel"), autofocus: true }, "Cancel"),
      h("button", { type: "button", class: "danger", onclick: () => close("confirm") }, confirm),
    ),
  ]);
  return answer === "confirm";
}

/**
 * A read-only value with a Copy button: for endpoint URLs and secret tokens.
 * @param {string} label
 * @param {string} value
 * @param {{ secret?: boolean }} [options]
 */
export function copyField(label, value, options = {}) {
  const input = h("input", { type: "text", readonly: true, value, class: options.secret ? "secret mono" : "mono", spellcheck: "false", autocomplete: "off" });
  const button = h("button", { type: "button", class: "secondary", "aria-label": `Copy ${label}` }, "Copy");
  button.addEventListener("click", async () => {
    let copied = false;
    try {
      await navigator.clipboard.writeText(value);
      copied = true;
    } catch {
      // No clipboard permission (or not a secure context): copy the selection the old way.
      input.focus();
      input.select();
      copied = document.execCommand("copy");
    }
    if (!copied) {
      // Never claim a copy that did not happen: this may be the only time the value is shown.
      notify(`Could not copy the ${label} automatically: it is selected, press Ctrl+C (⌘C on a Mac).`);
      input.focus();
      input.select();
      return;
    }
    button.textContent = "Copied";
    notify(`${label} copied to the clipboard.`);
    setTimeout(() => (button.textContent = "Copy"), 2000);
  });
  input.addEventListener("focus", () => input.select());
  input.id = uid("copy");
  return h("div", { class: "field" }, h("label", { for: input.id }, label), h("div", { class: "copy-row" }, input, button));
}

/**
 * The one time a secret token is visible: a modal the person closes, once it is copied, with its
 * button only (a stray Escape would throw the only copy away).
 * @param {string} title
 * @param {{ note: string, fields: Node[] }} content `note` says what to do if the token is lost;
 *   `fields` are the values to copy (copyField), the secret among them
 */
export async function showSecretOnce(title, { note, fields }) {
  await openDialog(
    title,
    (close) => [
      h("p", { class: "warning", role: "note" }, h("strong", {}, "Copy the secret token now. "), note),
      ...fields,
      h("div", { class: "actions" }, h("button", { type: "button", onclick: () => close("done") }, "I have copied the token")),
    ],
    { holdOpen: () => true },
  );
}

/** A date and time in the reader's locale. */
export const when = (/** @type {string | null} */ iso) => (iso ? new Date(iso).toLocaleString() : "never");

/** A small coloured label. */
export const badge = (/** @type {string} */ text, /** @type {string} */ kind) => h("span", { class: `badge ${kind}` }, text);
