/** Admin API: /api/v1/{tenant}/scim-schemas, the tenant's own SCIM schema extensions of Users. */
import { createRoute, z } from "@hono/zod-openapi";
import { DECLARATION_LIMITS, deleteDeclaredSchema, listDeclaredSchemas, putDeclaredSchema, type DeclaredSchema, type UniqueAttribute } from "../iam/scim-schemas";
import { BUILT_IN_URNS, declaredUniqueAttributes, schemaOf, uniqueKey, userTypeWith } from "../scim/model/extensions";
import { profilePath } from "../scim/model/filter/targets";
import { tenantAccess } from "./access";
import { bearer, body, json, problems, type AdminApp } from "./app";
import { ProblemError } from "./problem";
import { PutScimSchema, ScimSchemaDeclaration, TenantParam, UrnParam } from "./schemas";
import { iso } from "./times";

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

/** A declaration's unique attributes, as the index of their values needs them. */
function uniqueOf(declared: Pick<DeclaredSchema, "urn" | "name" | "description" | "attributes">): UniqueAttribute[] {
  const schema = schemaOf({ ...declared, createdAt: 0, updatedAt: 0 });
  return declaredUniqueAttributes(userTypeWith([schema])).map(({ def }) => ({
    attribute: uniqueKey(schema, def),
    jsonPath: profilePath(schema.id, def.name),
    type: def.type,
    caseExact: def.caseExact,
  }));
}

const n = (count: number) => count.toLocaleString("en-US");

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
        "attribute of a simple type (not binary) unique in the tenant, checked against the values users already hold. A tenant holds at most " +
        `${DECLARATION_LIMITS.perTenant} declarations of ${DECLARATION_LIMITS.bytesPerTenant.toLocaleString("en-US")} bytes of definition JSON in all; making attributes unique may walk at most ` +
        `${DECLARATION_LIMITS.indexRowsPerRequest.toLocaleString("en-US")} user rows (users × attributes) per request (409 beyond). A PUT equal to the stored declaration changes nothing.`,
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
      const result = await putDeclaredSchema(c.var.db, { tenantId: c.var.tenantId, actor: c.var.actor, requestId: c.var.requestId }, { urn, ...input }, uniqueOf);
      switch (result.kind) {
        case "not_unique":
          throw new ProblemError(409, `Users of tenant '${c.var.tenantId}' already share values of an attribute this declaration makes unique; make the values unique first.`);
        case "too_many":
          throw new ProblemError(409, `Tenant '${c.var.tenantId}' already declares ${result.limit} SCIM schema extensions, the most a tenant may; remove one (DELETE) before declaring another.`);
        case "too_large":
          throw new ProblemError(
            409,
            `A tenant's SCIM schema declarations may take ${n(result.limit)} bytes of definition JSON (attributes, name and description) in all; ` +
              `the others take ${n(result.used)} and this one ${n(result.size)}. Shorten its descriptions or canonical values, or remove a declaration.`,
          );
        case "over_limits":
          throw new ProblemError(
            409,
            `Declarations committed while this one was checked bring tenant '${c.var.tenantId}' past its limits (${result.perTenant} declarations, ` +
              `${n(result.bytesPerTenant)} bytes of definition JSON in all); nothing was changed. Check the tenant's declarations and try again.`,
          );
        case "rebuild_too_large": {
          const names = result.attributes.map((a) => `'${a}'`).join(", ");
          const perRequest = Math.floor(result.limit / Math.max(result.users, 1));
          throw new ProblemError(
            409,
            result.users > result.limit
              ? `Making ${names} unique would index the values of every user of tenant '${c.var.tenantId}', more than the ${n(result.limit)} one request may walk. ` +
                  "Keep `uniqueness: none` for it (its values stay filterable, and the source directory keeps its own attributes unique), or declare uniqueness before provisioning users."
              : `Making ${names} unique would walk ${n(result.users)} users for each of ${result.attributes.length} attributes, more than the ${n(result.limit)} rows one request may walk; ` +
                  `make at most ${perRequest} attribute${perRequest === 1 ? "" : "s"} unique per request.`,
          );
        }
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
      const result = await deleteDeclaredSchema(c.var.db, { tenantId: c.var.tenantId, actor: c.var.actor, requestId: c.var.requestId }, urn, uniqueOf);
      if (result.kind === "not_found") throw new ProblemError(404, `No SCIM schema '${urn}' is declared in tenant '${c.var.tenantId}'.`);
      return c.body(null, 204);
    },
  );
}
