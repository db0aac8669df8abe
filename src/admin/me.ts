/** Admin API: /api/v1/me, who the bearer token is, so a client (the console) can adapt to it. */
import { createRoute, z } from "@hono/zod-openapi";
import { bearer, json, problems, type AdminApp } from "./app";

export const Me = z
  .discriminatedUnion("kind", [
    z.object({ kind: z.literal("admin") }),
    z.object({
      kind: z.literal("service-account"),
      tenant: z.string(),
      serviceAccountId: z.string(),
      integrationId: z.string().nullable(),
      permissions: z.array(z.string()).openapi({ example: ["USERS:READ", "GROUPS:READ"] }),
    }),
  ])
  .openapi("Me", { description: "The admin token, or a service account confined to one tenant and what its bindings grant." });

/** Registers GET /me. */
export function registerMe(app: AdminApp): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/me",
      tags: ["Session"],
      summary: "Describe the caller's token",
      security: bearer,
      responses: { 200: json(Me, "The caller."), ...problems(401, 403) },
    }),
    (c) => {
      const principal = c.var.principal;
      switch (principal.kind) {
        case "admin":
          return c.json({ kind: "admin" as const }, 200);
        case "service-account": {
          const { tenantId, serviceAccountId, integrationId, permissions } = principal.credential;
          return c.json(
            { kind: "service-account" as const, tenant: tenantId, serviceAccountId, integrationId, permissions: [...permissions].sort() },
            200,
          );
        }
      }
    },
  );
}
