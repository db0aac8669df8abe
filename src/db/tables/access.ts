/**
 * Access: roles and their permissions, bindings, service accounts and their tokens, integrations.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { createdAt, updatedAt } from "./columns";
import { tenants } from "./directory";


export const roles = sqliteTable(
  "roles",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    description: text("description"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("roles_tenant_name_unique").on(t.tenantId, t.name)],
);

/** A role grants `action` on `resource`; one row per pair. */
export const rolePermissions = sqliteTable(
  "role_permissions",
  {
    roleId: text("role_id")
      .notNull()
      .references(() => roles.id, { onDelete: "cascade" }),
    resource: text("resource").notNull(),
    action: text("action").notNull(),
  },
  (t) => [primaryKey({ columns: [t.roleId, t.resource, t.action] })],
);

export const SUBJECT_TYPES = ["USER", "GROUP", "SERVICE_ACCOUNT"] as const;
export type SubjectType = (typeof SUBJECT_TYPES)[number];

/** Role → subject, optionally limited to a namespace. Immutable: delete and create. */
export const bindings = sqliteTable(
  "bindings",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    roleId: text("role_id")
      .notNull()
      .references(() => roles.id),
    subjectType: text("subject_type", { enum: SUBJECT_TYPES }).notNull(),
    subjectId: text("subject_id").notNull(),
    namespace: text("namespace"),
    createdAt: createdAt(),
  },
  (t) => [
    index("bindings_subject_idx").on(t.tenantId, t.subjectType, t.subjectId),
    index("bindings_role_idx").on(t.roleId),
    // One binding per role, subject and namespace: concurrent identical creates cannot both land.
    // Two partial indexes, as NULLs are distinct in a unique index.
    uniqueIndex("bindings_unique_tenant_wide").on(t.tenantId, t.roleId, t.subjectType, t.subjectId).where(sql`namespace is null`),
    uniqueIndex("bindings_unique_namespaced").on(t.tenantId, t.roleId, t.subjectType, t.subjectId, t.namespace).where(sql`namespace is not null`),
  ],
);

export const serviceAccounts = sqliteTable(
  "service_accounts",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    description: text("description"),
    createdAt: createdAt(),
  },
  (t) => [index("service_accounts_tenant_idx").on(t.tenantId)],
);

/** API tokens, stored only as a SHA-256 hash (hex) plus the last four characters for display. */
export const apiTokens = sqliteTable(
  "api_tokens",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    serviceAccountId: text("service_account_id")
      .notNull()
      .references(() => serviceAccounts.id, { onDelete: "cascade" }),
    tokenHash: text("token_hash").notNull(),
    lastFour: text("last_four").notNull(),
    createdAt: createdAt(),
    lastUsedAt: integer("last_used_at"),
    /**
     * When the token stops working (epoch ms); null: until revoked. Integration tokens never
     * expire.
     */
    expiresAt: integer("expires_at"),
  },
  (t) => [
    uniqueIndex("api_tokens_hash_unique").on(t.tokenHash),
    index("api_tokens_service_account_idx").on(t.serviceAccountId),
  ],
);

export const PROVISIONING_TYPES = ["SCIM_2_0"] as const;

export const integrations = sqliteTable(
  "integrations",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    description: text("description"),
    provisioningType: text("provisioning_type", { enum: PROVISIONING_TYPES }).notNull(),
    enabled: integer("enabled", { mode: "boolean" }).notNull(),
    serviceAccountId: text("service_account_id")
      .notNull()
      .references(() => serviceAccounts.id),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("integrations_tenant_idx").on(t.tenantId, t.id),
    index("integrations_service_account_idx").on(t.serviceAccountId),
  ],
);
