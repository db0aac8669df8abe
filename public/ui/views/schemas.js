// @ts-check
/** The tenant's own SCIM schema extensions of Users: list, declare or replace, remove. */
import { confirmThenAct } from "../actions.js";
import { api } from "../api.js";
import { can } from "../context.js";
import { empty, errorBox, field, formDialog, h, loading, notify, stackedTable } from "../dom.js";

const EXAMPLE_URN = "urn:ietf:params:scim:schemas:extension:Contoso:2.0:User";
const EXAMPLE_ATTRIBUTES = [
  { name: "costCenter", type: "string" },
  { name: "badgeNumber", type: "string", uniqueness: "server" },
];

/** "costCenter: string, unique" lines of a declaration's attributes. */
function attributeList(/** @type {any[]} */ attributes) {
  return h(
    "ul",
    { class: "plain" },
    ...attributes.map((a) => {
      const flags = [a.multiValued ? "multi-valued" : "", a.required ? "required" : "", a.uniqueness === "server" ? "unique" : "", a.caseExact ? "case-exact" : ""].filter(Boolean);
      return h("li", {}, h("span", { class: "mono" }, a.name), `: ${a.type}${flags.length ? ` (${flags.join(", ")})` : ""}`);
    }),
  );
}

/**
 * Opens the declaration editor (a new one, or `schema` to replace). The attributes are RFC 7643
 * §7 definitions as JSON; the API validates them and its answer is shown as it is.
 * @param {import("../context.js").ViewContext} ctx @param {any} schema
 * @returns {Promise<boolean>} whether it was saved
 */
async function editSchema(ctx, schema) {
  const urn = h("input", { name: "urn", required: true, maxlength: 300, value: schema?.id ?? EXAMPLE_URN, autocomplete: "off", class: "mono", readonly: Boolean(schema) });
  const name = h("input", { name: "name", required: true, maxlength: 200, value: schema?.name ?? "", autocomplete: "off" });
  const description = h("textarea", { name: "description", maxlength: 1000, rows: 2 });
  description.value = schema?.description ?? "";
  const attributes = h("textarea", { name: "attributes", required: true, rows: 12, class: "mono", spellcheck: "false" });
  attributes.value = JSON.stringify(schema?.attributes ?? EXAMPLE_ATTRIBUTES, null, 2);
  return formDialog({
    title: schema ? `Replace ${schema.name}` : "Declare a schema extension",
    fields: [
      field("Schema URN", urn, "The URN your identity provider sends the attributes under, e.g. Entra's custom extension."),
      field("Name", name),
      field("Description (optional)", description),
      field("Attributes (JSON)", attributes, "RFC 7643 §7 attribute definitions: name and type, and any of multiValued, required, caseExact, mutability, returned, uniqueness (none or server), subAttributes."),
    ],
    submit: "Save extension",
    save: async () => {
      /** @type {unknown} */
      let parsed;
      try {
        parsed = JSON.parse(attributes.value);
      } catch {
        throw new Error("The attributes are not valid JSON: an array of attribute definitions is expected.");
      }
      const body = { name: name.value.trim(), description: description.value.trim() || null, attributes: parsed };
      await api("PUT", `/${encodeURIComponent(ctx.tenant)}/scim-schemas/${encodeURIComponent(urn.value.trim())}`, body);
    },
  });
}

/** @param {import("../context.js").ViewContext} ctx */
export async function renderSchemas(ctx) {
  ctx.title("SCIM schemas");
  const base = `/${encodeURIComponent(ctx.tenant)}/scim-schemas`;
  const area = h("div", {}, loading("schema extensions"));
  ctx.view.append(
    h("h1", {}, "SCIM schemas"),
    h(
      "p",
      { class: "lead" },
      "Extensions of the User your identity provider sends (for example Entra's custom extension attributes). A declared extension is listed in this tenant's /Schemas, validated on every write, and filterable; data under an extension that is not declared is kept as sent and answered back.",
    ),
    area,
  );
  const page = await api("GET", base);
  if (!ctx.isCurrent()) return;
  const reload = () => ctx.navigate(location.pathname, { replace: true });
  const editable = can(ctx.me, "USERS:UPDATE");
  /** @param {any} schema */
  const open = async (schema) => {
    try {
      if (await editSchema(ctx, schema)) {
        notify(schema ? `Schema extension ${schema.name} replaced.` : "Schema extension declared.");
        reload();
      }
    } catch (err) {
      area.prepend(errorBox(err));
    }
  };
  /** @param {any} schema */
  const remove = (schema) =>
    confirmThenAct(
      {
        title: `Remove the declaration ${schema.name}?`,
        body: ["The values users hold under it stay and are still answered back; they are no longer validated, filterable or kept unique."],
        confirm: "Remove declaration",
      },
      {
        act: () => api("DELETE", `${base}/${encodeURIComponent(schema.id)}`),
        done: `Declaration ${schema.name} removed.`,
        reload,
        failed: (err) => area.prepend(errorBox(err)),
      },
    );
  area.replaceChildren(
    page.results.length
      ? stackedTable("Schema extensions", ["URN", "Name", "Attributes", ""], page.results, (s) => [
          h("span", { class: "mono" }, s.id),
          s.name,
          attributeList(s.attributes),
          editable
            ? h(
                "div",
                { class: "row-actions" },
                h("button", { type: "button", class: "secondary small", "aria-label": `Replace ${s.name}`, onclick: () => open(s) }, "Replace"),
                h("button", { type: "button", class: "danger small", "aria-label": `Remove ${s.name}`, onclick: () => remove(s) }, "Remove"),
              )
            : "",
        ])
      : empty("No schema extension is declared. Users' extension data is kept as sent until one is."),
    editable ? h("div", { class: "actions" }, h("button", { type: "button", onclick: () => open(null) }, "Declare an extension")) : "",
  );
}
