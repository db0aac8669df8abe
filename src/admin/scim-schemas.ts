/** Admin API: /api/v1/{tenant}/scim-schemas, the tenant's own SCIM schema extensions of Users. */
import { createRoute, z } from "@hono/zod-openapi";
import { deleteDeclaredSchema, listDeclaredSchemas, putDeclaredSchema, type DeclaredSchema } from "../iam/scim-schemas";
import { BUILT_IN_URNS, schemaOf, uniqueAttributes, uniqueKey, userTypeWith } from "../scim/extensions";
import { profilePath } from "../scim/filter/targets";
import { tenantAccess } from "./access";
import { bearer, body, json, problems, type AdminApp } from "./app";
import { ProblemError } from "./problem";
import { PutScimSchema, ScimSchemaDeclaration, TenantParam, UrnParam } from "./schemas";
import { iso } from "./validation";

function render(schema: DeclaredSchema) {
  return {
    id: schema.urn,
    name: schema.name,
    description: schema.description,
    attributes: schema.attributes as Record<string, unknown>[],
    createdAt: iso(schema.createdAt),
    updatedAt: iso(schema.updatedAt),
  };
}

const tags = ["SCIM schemas"];

/** Registers the schema extension routes. */
export function registerScimSchemas(app: AdminApp): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/{tenant}/scim-schemas",
      tags,
      summary: "List the tenant's declared SCIM schema extensions",
      security: bearer,
      middleware: [tenantAccess("USERS", "READ")] as const,
      request: { params: TenantParam },
      responses: { 200: json(z.object({ results: z.array(ScimSchemaDeclaration) }), "The declarations."), ...problems(401, 403, 404) },
    }),
    async (c) => c.json({ results: (await listDeclaredSchemas(c.var.db, c.var.tenantId)).map(render) }, 200),
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/{tenant}/scim-schemas/{urn}",
      tags,
      summary: "Declare (or replace) a SCIM schema extension of Users",
      description:
        "Attributes are RFC 7643 §7 definitions. From this request on, the tenant's /Schemas and /ResourceTypes list the extension, and " +
        "SCIM writes under its URN are validated, stored, returned, projected and filterable; `uniqueness: server` makes a single-valued " +
        "attribute unique in the tenant (for values written from then on).",
      security: bearer,
      middleware: [tenantAccess("USERS", "UPDATE")] as const,
      request: { params: UrnParam, ...body(PutScimSchema) },
      responses: {
        200: json(ScimSchemaDeclaration, "Replaced."),
        201: json(ScimSchemaDeclaration, "Declared."),
        ...problems(400, 401, 403, 404, 409, 415),
      },
    }),
    async (c) => {
      const { urn } = c.req.valid("param");
      if (BUILT_IN_URNS.has(urn.toLowerCase())) throw new ProblemError(400, `'${urn}' is one of this server's own schemas; declare extensions under a URN of your own.`);
      const input = c.req.valid("json");
      const declared = schemaOf({ urn, ...input, createdAt: 0, updatedAt: 0 });
      const unique = uniqueAttributes(userTypeWith([declared])).map(({ schema, def }) => ({
        attribute: uniqueKey(schema, def),
        jsonPath: profilePath(schema.id, def.name),
        caseExact: def.caseExact,
      }));
      const result = await putDeclaredSchema(c.var.db, { tenantId: c.var.tenantId, actor: c.var.actor, requestId: c.var.requestId }, { urn, ...input, unique });
      if (result.kind === "not_unique") {
        throw new ProblemError(409, `Users of tenant '${c.var.tenantId}' already share values of an attribute this declaration makes unique; make the values unique first.`);
      }
      return c.json(render(result.schema), result.kind === "created" ? 201 : 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/{tenant}/scim-schemas/{urn}",
      tags,
      summary: "Remove a declaration (the values users hold stay, answered back as undeclared data)",
      security: bearer,
      middleware: [tenantAccess("USERS", "UPDATE")] as const,
      request: { params: UrnParam },
      responses: { 204: { description: "Removed." }, ...problems(401, 403, 404) },
    }),
    async (c) => {
      const { urn } = c.req.valid("param");
      const result = await deleteDeclaredSchema(c.var.db, { tenantId: c.var.tenantId, actor: c.var.actor, requestId: c.var.requestId }, urn);
      if (result.kind === "not_found") throw new ProblemError(404, `No SCIM schema '${urn}' is declared in tenant '${c.var.tenantId}'.`);
      return c.body(null, 204);
    },
  );
}
