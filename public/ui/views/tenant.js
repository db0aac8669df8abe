// @ts-check
/**
 * A tenant's own page, for the operator (admin token): its id, name and creation, the database
 * (shard) it lives on, a move's progress, refreshed while it runs, the last move's failure, and
 * a form that moves it to another database (docs/sharding.md, "Moving a tenant").
 */
import { api, ApiError } from "../api.js";
import { link, tenantPath } from "../context.js";
import { confirmAction, errorBox, field, focusView, h, loading, notify, plural, select, when } from "../dom.js";

/**
 * A tenant as GET /api/v1/tenants/{id} answers it.
 * @typedef {{ from: string, to: string, step: string, copied: number, total: number | null,
 *   startedAt: string | null, lastError: { at: string, message: string } | null }} Move
 * @typedef {{ id: string, name: string, createdAt: string, shard: string, moving: Move | null,
 *   lastMoveFailed?: string, lastMoveFailedAt?: string | null, lastMoveTo?: string }} Tenant
 * @typedef {{ name: string, directory?: boolean, tenants: number, arriving: number,
 *   sizeBytes: number | null }} Shard
 */

/** How often the page reads the tenant again while it moves, and after a failed read. */
const POLL_MS = 2000;
const RETRY_MS = 5000;
/** After this long without any progress, the page says where to look. */
const STALLED_MS = 60_000;

/** A move's steps in order (`advanceMove` in src/iam/tenant-moves.ts), each in a few words. */
const STEPS = /** @type {const} */ ([
  ["settle", "Settle", "Nothing is frozen yet: the move waits about 15 seconds, until no server still routes the tenant by what it read before the move began."],
  ["freeze", "Freeze", "Writes to the tenant are stopped on the old database, and its rows counted."],
  ["prepare", "Prepare", "What an earlier move left on the new database is cleared."],
  ["copy", "Copy", "Rows are copied to the new database, 400 at a time."],
  ["switch", "Switch", "Rows are counted on both databases; only if they match does the tenant's home change."],
  ["grace", "Grace", "The tenant lives on the new database; the old copy stays whole for about 30 seconds, while cached placements expire."],
  ["purge", "Purge", "The old database is emptied of the tenant."],
]);

/** Steps after which the tenant's home is already the new database. */
const SWITCHED = ["grace", "purge"];

/** "1.2 MB": a database's size as D1 reports it. */
export function size(/** @type {number | null} */ bytes) {
  if (bytes === null) return "size unknown";
  const units = ["bytes", "kB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** A shard as the move form offers it: "SHARD_2: 3 tenants (1 arriving), 1.2 MB". */
const describeShard = (/** @type {Shard} */ s) =>
  `${s.name}: ${plural(s.tenants, "tenant")}${s.arriving ? ` (${s.arriving} arriving)` : ""}, ${size(s.sizeBytes)}`;

/** Whether a failed read is worth trying again (the service busy or out of reach). */
const transient = (/** @type {unknown} */ err) => !(err instanceof ApiError) || err.status === 0 || err.status === 429 || err.status >= 500;

/** @param {import("../context.js").ViewContext} ctx */
export async function renderTenant(ctx) {
  const id = ctx.params[0] ?? "";
  ctx.title(`Tenant ${id}`);
  const back = h("p", {}, link("/ui/tenants", "← Tenants"));
  if (ctx.me.kind !== "admin") {
    ctx.view.append(
      back,
      h("h1", {}, "Tenant"),
      h("p", {}, "A tenant's page (its database, and moving it to another) is for the operator of this scim-edge instance: sign in with the admin token to see it."),
    );
    return;
  }
  const path = `/tenants/${encodeURIComponent(id)}`;
  const head = h("div", {}, loading("the tenant"));
  const about = h("section", { "aria-labelledby": "about-heading" });
  const progress = h("section", { "aria-labelledby": "move-progress-heading" });
  // Said once per step, not on every refresh: the rows count would chatter.
  const stepNews = h("p", { class: "visually-hidden", role: "status" });
  const failure = h("div", {});
  const problem = h("div", {});
  // A move refused while another runs: kept while that one's progress refreshes.
  const refusal = h("div", {});
  const form = h("section", { "aria-labelledby": "move-heading" });
  // Redrawn in place on every refresh (the rest of the card keeps its focus).
  const database = h("dd", {});
  ctx.view.append(back, head, about, refusal, progress, stepNews, failure, problem, form);

  /** @type {Tenant} */
  let tenant;
  /** @type {Shard[] | Error} */
  let shards;
  try {
    [tenant, shards] = await Promise.all([api("GET", path), api("GET", "/shards").then((answer) => answer.shards, (/** @type {Error} */ err) => err)]);
  } catch (err) {
    if (!ctx.isCurrent()) return;
    head.replaceChildren(h("h1", {}, "Tenant"), h("p", { class: "meta mono" }, id), errorBox(err));
    return;
  }
  if (!ctx.isCurrent()) return;
  ctx.title(tenant.name || id);

  /** Why the last move asked for was refused, shown in the form drawn again. */
  /** @type {unknown} */
  let refused = null;
  /** When the move last advanced, and what it was then (to tell a stalled move). */
  let seen = { at: Date.now(), key: "" };
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  ctx.signal.addEventListener("abort", () => clearTimeout(timer));

  function draw() {
    head.replaceChildren(h("h1", {}, tenant.name || id), h("p", { class: "meta mono" }, id));
    about.replaceChildren(
      h("h2", { id: "about-heading", class: "visually-hidden" }, "About the tenant"),
      h(
        "div",
        { class: "card" },
        h(
          "dl",
          { class: "profile" },
          ...[
            ["Tenant ID", h("span", { class: "mono" }, tenant.id)],
            ["Name", tenant.name],
            ["Created", when(tenant.createdAt)],
          ].flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]),
          h("dt", {}, "Database"),
          database,
        ),
        h(
          "p",
          { class: "tenant-links" },
          "Its sections: ",
          ...[
            ["provisioning", "Provisioning"],
            ["users", "Users"],
            ["groups", "Groups"],
            ["audit", "Audit log"],
          ].flatMap(([section, label], i) => [i ? " · " : "", link(tenantPath(tenant.id, section), label)]),
        ),
      ),
    );
    drawProgress();
    failure.replaceChildren(
      tenant.lastMoveFailed && !tenant.moving
        ? h(
            "div",
            { class: "warning move-failed" },
            h("strong", {}, `The last move${tenant.lastMoveTo ? ` (to ${tenant.lastMoveTo})` : ""} failed`),
            tenant.lastMoveFailedAt ? [" ", when(tenant.lastMoveFailedAt)] : "",
            ": ",
            tenant.lastMoveFailed,
            `. The tenant stayed on ${tenant.shard}, where it takes writes again; moving it again starts over.`,
          )
        : "",
    );
    drawForm();
  }

  /** The tenant's shard, and what is special about it (or where it is moving). */
  function drawDatabase() {
    const list = shards instanceof Error ? [] : shards;
    const own = list.find((s) => s.name === tenant.shard);
    const move = tenant.moving;
    const note = move
      ? SWITCHED.includes(move.step)
        ? ` (moved in; ${move.from} ${move.step === "grace" ? "is emptied shortly" : "is being emptied"})`
        : ` (moving to ${move.to})`
      : own?.directory
        ? " (the only database: it also holds the directory of tenants)"
        : !own && list.length > 0
          ? " (the directory: it was placed there before this deployment had shards)"
          : "";
    database.replaceChildren(h("strong", { class: "mono" }, tenant.shard), note);
  }

  function drawProgress() {
    drawDatabase();
    const move = tenant.moving;
    if (!move) {
      progress.replaceChildren();
      stepNews.textContent = "";
      return;
    }
    const switched = SWITCHED.includes(move.step);
    const current = STEPS.findIndex(([step]) => step === move.step);
    const key = `${move.step}/${move.copied}`;
    if (key !== seen.key) seen = { at: Date.now(), key };
    const copied = move.total === null ? h("progress", { "aria-labelledby": "rows-label" }) : h("progress", { max: Math.max(move.total, 1), value: move.total ? move.copied : 1, "aria-labelledby": "rows-label" });
    const rows =
      move.total === null
        ? "counting the rows to copy…"
        : `${move.copied.toLocaleString()} of ${move.total.toLocaleString()} rows${move.total ? ` (${Math.floor((100 * move.copied) / move.total)}%)` : ""}`;
    progress.replaceChildren(
      h("h2", { id: "move-progress-heading" }, `Moving to ${move.to}`),
      h(
        "div",
        { class: "card move-progress" },
        h(
          "ol",
          { class: "move-steps" },
          ...STEPS.map(([step, label], i) =>
            h("li", { class: i < current ? "done" : i === current ? "current" : "", "aria-current": i === current ? "step" : false }, label),
          ),
        ),
        h("p", { class: "step-now" }, current >= 0 ? STEPS[current]?.[2] : `Step: ${move.step}.`),
        h("div", { class: "rows" }, h("span", { id: "rows-label" }, "Rows copied"), copied, h("span", { class: "rows-count" }, rows)),
        h(
          "dl",
          { class: "profile" },
          ...[
            ["From", h("span", { class: "mono" }, move.from)],
            ["To", h("span", { class: "mono" }, move.to)],
            ["Step", h("span", { class: "mono" }, move.step)],
            ["Started", move.startedAt ? when(move.startedAt) : h("span", { class: "muted" }, "not known")],
            [
              "Writes",
              switched
                ? `Accepted, on ${move.to}.`
                : move.step === "settle"
                  ? `Accepted, on ${move.from}: nothing is frozen yet.`
                  : "Refused with 503 and Retry-After until the switch (Entra retries them); reads go on.",
            ],
          ].flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]),
        ),
        move.lastError
          ? h(
              "p",
              { class: "warning move-error" },
              h("strong", {}, "A step failed "),
              when(move.lastError.at),
              `: ${move.lastError.message}. The mover retries it every 5 seconds; the Worker's logs (component "tenant-mover") have the details.`,
            )
          : "",
        !move.lastError && Date.now() - seen.at > STALLED_MS
          ? h(
              "p",
              { class: "warning stalled" },
              `No progress for ${Math.round((Date.now() - seen.at) / 60_000)} min. The mover retries a failed step every 5 seconds: the Worker's logs (component "tenant-mover") say what fails.`,
            )
          : "",
        h("p", { class: "meta" }, `This page refreshes every ${POLL_MS / 1000} seconds while the move runs.`),
      ),
    );
    const news = `Moving to ${move.to}: ${current >= 0 ? STEPS[current]?.[1] : move.step}.`;
    if (stepNews.textContent !== news) stepNews.textContent = news;
  }

  function drawForm() {
    if (tenant.moving) {
      form.replaceChildren();
      return;
    }
    const heading = h("h2", { id: "move-heading" }, "Move to another database");
    if (shards instanceof Error) {
      form.replaceChildren(heading, errorBox(shards));
      return;
    }
    const others = shards.filter((s) => s.name !== tenant.shard);
    if (others.length === 0) {
      const only = shards.length === 1 && shards[0]?.directory;
      form.replaceChildren(
        heading,
        h(
          "div",
          { class: "empty one-database" },
          h(
            "p",
            {},
            only
              ? `This deployment has one database, ${tenant.shard}: it holds the directory and every tenant, so there is no other database to move this tenant to.`
              : `This deployment has no database other than ${tenant.shard} to place tenants on.`,
          ),
          h(
            "p",
            {},
            "To spread tenants over several databases, bind more D1 databases as SHARD_1, SHARD_2, … (README, “Shards”; locally, ",
            h("span", { class: "mono" }, "npm start -- --env sharded"),
            "). A tenant can then be moved here, live.",
          ),
        ),
      );
      return;
    }
    const target = select("shard", others.map((s) => /** @type {[string, string]} */ ([s.name, describeShard(s)])));
    const status = h("div", {}, refused ? errorBox(refused) : "");
    refused = null;
    const submit = h("button", { type: "submit" }, "Move…");
    const move = h(
      "form",
      { class: "card move-form" },
      h(
        "p",
        {},
        `The tenant lives on ${tenant.shard}. Moving it copies its rows to another database, live: reads go on throughout, writes are refused (503, Entra retries them) while its rows are copied, then go to the new database.`,
      ),
      field("Target database", target, "Each with its tenants and its size, as D1 reports it."),
      status,
      h("div", { class: "actions" }, submit),
    );
    move.addEventListener("submit", async (event) => {
      event.preventDefault();
      const to = target.value;
      status.replaceChildren();
      refusal.replaceChildren();
      const go = await confirmAction({
        title: `Move ${tenant.id} to ${to}?`,
        body: [
          `After about 15 seconds (while servers drop what they cached of its placement), its rows are copied from ${tenant.shard} to ${to}. From then until the copy is checked and the tenant switched over, every SCIM and admin write of ${tenant.id} is refused with 503 and Retry-After: Entra retries them, other clients should too. Reads go on.`,
          "A move cannot be stopped once started. If the copy does not match, the tenant stays where it is.",
        ],
        confirm: `Move to ${to}`,
      });
      if (!go || !ctx.isCurrent()) return;
      submit.disabled = true;
      try {
        tenant = await api("POST", `${path}/move`, { shard: to });
        notify(`Moving ${tenant.id} to ${to}.`);
      } catch (err) {
        // Someone may have started a move meanwhile: show it, and why this one was refused.
        tenant = await api("GET", path).catch(() => tenant);
        if (tenant.moving) refusal.replaceChildren(errorBox(err));
        else refused = err;
      }
      if (!ctx.isCurrent()) return;
      draw();
      // The button is gone with the form: focus goes to what took its place.
      const heading = progress.querySelector("h2");
      if (tenant.moving && heading) {
        heading.tabIndex = -1;
        heading.focus();
      } else if (form.querySelector("select")) form.querySelector("select")?.focus();
      else focusView();
      if (tenant.moving) poll(POLL_MS);
    });
    form.replaceChildren(heading, move);
  }

  /** Reads the tenant again after `delay`, until its move ends or the view is left. */
  function poll(/** @type {number} */ delay) {
    clearTimeout(timer);
    if (ctx.signal.aborted) return;
    timer = setTimeout(async () => {
      try {
        const next = /** @type {Tenant} */ (await api("GET", path));
        if (ctx.signal.aborted) return;
        problem.replaceChildren();
        const was = tenant.moving;
        tenant = next;
        if (tenant.moving) {
          drawProgress();
          poll(POLL_MS);
          return;
        }
        // The move ended: the shards' counts changed too.
        shards = await api("GET", "/shards").then((answer) => answer.shards, (/** @type {Error} */ err) => err);
        if (ctx.signal.aborted) return;
        refusal.replaceChildren();
        notify(
          tenant.lastMoveFailed
            ? `The move of ${tenant.id} failed; it stayed on ${tenant.shard}.`
            : `${tenant.id} moved to ${was?.to ?? tenant.shard}.`,
        );
        draw();
      } catch (err) {
        if (ctx.signal.aborted) return;
        problem.replaceChildren(errorBox(err));
        if (transient(err)) poll(RETRY_MS);
      }
    }, delay);
  }

  draw();
  if (tenant.moving) poll(POLL_MS);
}
