/** Admin API: /api/v1/me, who the bearer token is, so a client (the console) can adapt to it. */
import { createRoute, z } from "@hono/zod-openapi";
import { tenantsOfEmail } from "../iam/sign-in";
import { tenantStores } from "./stores";
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
    z.object({
      kind: z.literal("user"),
      email: z.string(),
      tenants: z
        .array(z.object({ tenant: z.string(), userId: z.string(), userName: z.string(), permissions: z.array(z.string()) }))
        .openapi({ description: "The tenants where this person is an active provisioned user, with what their bindings (and their groups') grant tenant-wide." }),
    }),
  ])
  .openapi("Me", {
    description: "The admin token, a service account confined to one tenant and what its bindings grant, or a person signed in through Cloudflare Access.",
  });

/** Registers GET /me. */
export function registerMe(app: AdminApp): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/me",
      tags: ["Session"],
      summary: "Describe the caller (token or Access sign-in)",
      security: bearer,
      responses: { 200: json(Me, "The caller."), ...problems(401, 403) },
    }),
    async (c) => {
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
        case "user": {
          // Read now, not at sign-in: a deactivation or a lost binding shows on the next call.
          const tenants = (await tenantsOfEmail(tenantStores(c), principal.email))
            .filter((m) => m.active)
            .map(({ tenantId, userId, userName, permissions }) => ({ tenant: tenantId, userId, userName, permissions }));
          return c.json({ kind: "user" as const, email: principal.email, tenants }, 200);
        }
      }
    },
  );
}
