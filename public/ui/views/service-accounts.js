// @ts-check
/**
 * Service accounts: the identities of applications. Each gets roles through bindings (on Roles
 * and bindings) and tokens here, each token shown once, optionally expiring. An integration's
 * account is listed too, but managed on Provisioning: only its tokens can be revoked here.
 */
import { confirmThenAct } from "../actions.js";
import { api } from "../api.js";
import { can, link, tenantPath } from "../context.js";
import { badge, copyField, errorBox, field, formDialog, h, notify, showSecretOnce, stackedTable, when } from "../dom.js";
import { pagedList } from "./paged.js";

/** How far ahead a token may expire, as the API allows (730 days). */
const MAX_LIFETIME_DAYS = 730;

/** The local calendar date `days` from today, as a date input's value (yyyy-mm-dd). */
function localDate(/** @type {number} */ days) {
  const d = new Date();
  d.setDate(d.getDate() + days);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/**
 * When a token stops working: never, a date, or expired.
 * @param {{ expiresAt: string | null }} token
 */
function expiry(token) {
  if (!token.expiresAt) return h("span", { class: "muted" }, "never");
  if (Date.parse(token.expiresAt) <= Date.now()) return h("span", {}, badge("Expired", "bad"), ` ${when(token.expiresAt)}`);
  return when(token.expiresAt);
}

/** @param {import("../context.js").ViewContext} ctx */
export async function renderServiceAccounts(ctx) {
  const { tenant, me } = ctx;
  ctx.title("Service accounts");
  const base = `/${encodeURIComponent(tenant)}/service-accounts`;
  const list = h("div", {});
  const reload = () => void show().catch((err) => list.replaceChildren(errorBox(err)));
  /** A refused revocation or deletion, shown above the list. @param {unknown} err */
  const failed = (err) => list.prepend(errorBox(err));
  /**
   * An account is changed here unless its integration manages it, or it is the signed-in token's
   * own.
   * @param {any} account
   */
  const ownedHere = (account) => account.integrationId === null && !(me.kind === "service-account" && me.serviceAccountId === account.id);

  /**
   * Create (account null) or edit an account's name and description.
   * @param {any | null} account
   */
  async function edit(account) {
    const name = h("input", { name: "name", required: true, maxlength: 200, value: account?.name ?? "", autocomplete: "off" });
    const description = h("textarea", { name: "description", maxlength: 1000, rows: 3 });
    description.value = account?.description ?? "";
    /** @type {any} */
    let saved = null;
    const done = await formDialog({
      title: account ? `Edit ${account.name}` : "New service account",
      fields: [field("Name", name, "The application or script it stands for."), field("Description (optional)", description)],
      submit: account ? "Save" : "Create service account",
      save: async () => {
        const body = { name: name.value.trim(), description: description.value.trim() || null };
        saved = account ? await api("PATCH", `${base}/${encodeURIComponent(account.id)}`, body) : await api("POST", base, body);
      },
    });
    if (!done || !saved) return;
    notify(account ? `${saved.name} saved.` : `${saved.name} created. Bind it a role under Roles and bindings, then give it a token.`);
    reload();
  }

  /** @param {any} account */
  async function newToken(account) {
    const expires = h("input", { type: "date", name: "expiresOn", min: localDate(0), max: localDate(MAX_LIFETIME_DAYS - 1) });
    /** @type {any} */
    let created = null;
    const done = await formDialog({
      title: `New token for ${account.name}`,
      fields: [
        field(
          "Expires on (optional)",
          expires,
          "The token stops working at the end of that day. Leave empty for a token that works until it is revoked. At most two years ahead.",
        ),
      ],
      submit: "Create token",
      save: async () => {
        // The end of the chosen day, in the reader's time zone.
        const body = expires.value ? { expiresAt: new Date(`${expires.value}T23:59:59.999`).toISOString() } : {};
        created = await api("POST", `${base}/${encodeURIComponent(account.id)}/tokens`, body);
      },
    });
    if (!done || !created) return;
    reload(); // the list shows the new token's last four under the dialog
    await showSecretOnce(`${account.name}'s new token`, {
      note: `It will not be shown again: scim-edge keeps only its hash. ${created.expiresAt ? `It works until ${when(created.expiresAt)}.` : "It works until it is revoked."} If it is lost, revoke it and create another.`,
      fields: [copyField("Secret Token", created.secretToken, { secret: true })],
    });
  }

  /** @param {any} account @param {any} token */
  function revoke(account, token) {
    return confirmThenAct(
      {
        title: `Revoke token …${token.lastFour} of ${account.name}?`,
        body: ["Whatever uses this token is refused from its next request."],
        confirm: "Revoke token",
      },
      {
        act: () => api("DELETE", `${base}/${encodeURIComponent(account.id)}/tokens/${encodeURIComponent(token.id)}`),
        done: `Token …${token.lastFour} of ${account.name} revoked.`,
        reload,
        failed,
      },
    );
  }

  /** @param {any} account */
  function remove(account) {
    return confirmThenAct(
      {
        title: `Delete ${account.name}?`,
        body: ["Its tokens stop working at once and its role bindings are removed. The audit log keeps what it did.", "This cannot be undone."],
        confirm: "Delete service account",
      },
      { act: () => api("DELETE", `${base}/${encodeURIComponent(account.id)}`), done: `${account.name} deleted.`, reload, failed },
    );
  }

  /** @param {any} account */
  function tokens(account) {
    if (account.tokens.length === 0) return h("p", { class: "meta" }, "No token.");
    const mayRevoke = can(me, "SERVICE_ACCOUNTS:DELETE");
    return stackedTable(`Tokens of ${account.name}`, ["Token", "Created", "Last used", "Expires", ""], account.tokens, (/** @type {any} */ t) => [
      h("span", { class: "mono" }, `…${t.lastFour}`),
      when(t.createdAt),
      when(t.lastUsedAt),
      expiry(t),
      // An integration's token is rotated on its card, never revoked here (the API answers 409).
      account.integrationId
        ? link(tenantPath(tenant, "provisioning"), "Rotate on Provisioning", { "aria-label": `Rotate the token of ${account.name} on Provisioning` })
        : mayRevoke
          ? h("div", { class: "row-actions" }, h("button", { type: "button", class: "danger small", "aria-label": `Revoke token …${t.lastFour} of ${account.name}`, onclick: () => revoke(account, t) }, "Revoke"))
          : "",
    ]);
  }

  /** @param {any[]} rows */
  function cards(rows) {
    return h(
      "ul",
      { class: "cards" },
      ...rows.map((account) =>
        h(
          "li",
          { class: "card", "data-service-account": account.id },
          h(
            "div",
            { class: "card-head" },
            h("h2", {}, account.name),
            account.integrationId ? link(tenantPath(tenant, "provisioning"), "Managed by an integration", { class: "badge neutral" }) : null,
          ),
          account.description ? h("p", {}, account.description) : null,
          h("p", { class: "meta" }, `Created ${when(account.createdAt)}`),
          tokens(account),
          ownedHere(account)
            ? h(
                "div",
                { class: "actions" },
                can(me, "SERVICE_ACCOUNTS:CREATE")
                  ? h("button", { type: "button", class: "secondary", "aria-label": `New token for ${account.name}`, onclick: () => newToken(account) }, "New token")
                  : null,
                can(me, "SERVICE_ACCOUNTS:UPDATE")
                  ? h("button", { type: "button", class: "secondary", "aria-label": `Edit ${account.name}`, onclick: () => edit(account) }, "Edit")
                  : null,
                can(me, "SERVICE_ACCOUNTS:DELETE")
                  ? h("button", { type: "button", class: "danger", "aria-label": `Delete ${account.name}`, onclick: () => remove(account) }, "Delete")
                  : null,
              )
            : null,
        ),
      ),
    );
  }

  async function show() {
    await pagedList(list, {
      path: base,
      what: "service accounts",
      emptyText: "No service account yet. Create one for each application that calls the admin API, bind it a role, then give it a token.",
      render: cards,
    });
  }

  ctx.view.append(
    h(
      "div",
      { class: "view-head" },
      h("h1", {}, "Service accounts"),
      can(me, "SERVICE_ACCOUNTS:CREATE") ? h("button", { type: "button", onclick: () => edit(null) }, "New service account") : null,
    ),
    h(
      "p",
      { class: "lead" },
      "A service account is the identity of an application: its tokens reach this tenant's admin API with what its roles grant (bind them under ",
      link(tenantPath(tenant, "roles"), "Roles and bindings"),
      "). Each provisioning integration has one too, managed on its Provisioning card.",
    ),
    list,
  );
  await show();
}
