/** The directory: tenants, global users and their tenant views, groups and memberships. */
import { sql } from "drizzle-orm";
import { foreignKey, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { createdAt, updatedAt, versionCheck } from "./columns";

/**
 * Tenants. The directory (`DB`) holds every tenant and says where it lives (`shard`); each shard
 * holds a row of its own for each tenant whose data it has, the parent of that data's foreign
 * keys. With one database the two are the same row. See docs/sharding.md.
 */
export const tenants = sqliteTable("tenants", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  createdAt: createdAt(),
  /**
   * The binding of the shard holding the tenant's data. In a shard's own row: where the tenant
   * lives, which is this shard only while it is the tenant's home.
   */
  shard: text("shard").notNull().default("DB"),
  /**
   * In a shard's row: 1 while no write may change the tenant here (a move copies it away, or
   * into here), enforced by triggers (migration 0021) that only the mover's batches pass.
   */
  frozen: integer("frozen").notNull().default(0),
  /** In the directory's row, while the tenant moves: the shard it moves to. */
  moveTo: text("move_to"),
  /** The move's progress (directory): the step it is at, as JSON (src/iam/tenant-moves.ts). */
  moveState: text("move_state", { mode: "json" }).$type<Record<string, unknown>>(),
  moveCopied: integer("move_copied"),
  moveTotal: integer("move_total"),
  moveStartedAt: integer("move_started_at"),
});

/**
 * Which tenants hold a view of a global identity (directory, sharded only): where the operator's
 * instance-wide view of a person fans out to. Written when a tenant links to the identity; a
 * pair whose view was deleted since is harmless (the shard then has nothing to show).
 */
export const identityLinks = sqliteTable(
  "identity_links",
  {
    userId: text("user_id").notNull(),
    tenantId: text("tenant_id").notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.tenantId] })],
);

/**
 * The mover's pass (shard): a move's batches insert a row first and delete it last, and the
 * freeze triggers let writes through only while it holds one. Batches run one at a time, so
 * no other writer ever sees it.
 */
export const movePasses = sqliteTable("move_passes", {
  id: integer("id").primaryKey(),
});

/**
 * How much of each kind a tenant holds, kept by triggers (migrations 0012, 0016) on every insert,
 * update and delete, so a request is priced in rows before it runs (src/scim/model/cost.ts)
 * without counting anything. `viewUnits` is what walking every view reads: one per view plus
 * one per KiB of its profile JSON.
 */
export const tenantSizes = sqliteTable("tenant_sizes", {
  tenantId: text("tenant_id")
    .primaryKey()
    .references(() => tenants.id, { onDelete: "cascade" }),
  views: integer("views").notNull().default(0),
  viewUnits: integer("view_units").notNull().default(0),
  /**
   * The most units one view has had (a high-water mark): the price of a view chosen by the caller.
   */
  maxViewUnits: integer("max_view_units").notNull().default(1),
  /** Elements of JSON arrays in the views' profiles (phoneNumbers, addresses…), at any depth. */
  elements: integer("elements").notNull().default(0),
  emails: integer("emails").notNull().default(0),
  groups: integer("groups").notNull().default(0),
  memberships: integer("memberships").notNull().default(0),
  /**
   * The most groups one user has been in (a high-water mark): what a user brings along in `groups`.
   */
  maxUserGroups: integer("max_user_groups").notNull().default(0),
  uniqueValues: integer("unique_values").notNull().default(0),
});

/**
 * Users are global: one row per person across every tenant (Kestra's model). The row holds only
 * the person's identity, the userName a POST from any tenant links on; everything a tenant
 * provisions about the person lives in that tenant's view (`tenant_users`), so tenants never see
 * or change each other's data.
 */
export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    /** The identity key: the userName the person was first provisioned with (see SECURITY.md). */
    userName: text("user_name").notNull(),
    userNameKey: text("user_name_key").notNull(),
    /** Bumped when the identity changes. */
    version: integer("version").notNull().default(1),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("users_user_name_key_unique").on(t.userNameKey),
    versionCheck("users_version_guard", t.version),
  ],
);

/**
 * A tenant's view of a user: the user's access to the tenant and every SCIM attribute this
 * tenant provisioned (userName, profile, manager, externalId, active). Reads, filters, ETags and
 * writes of a tenant touch only its own views. The defaults only let the columns be added to
 * rows that existed before views (migration 0003 filled them); every write sets them.
 */
export const tenantUsers = sqliteTable(
  "tenant_users",
  {
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** This tenant's userName for the user; unique within the tenant. */
    userName: text("user_name").notNull().default(""),
    userNameKey: text("user_name_key").notNull().default(""),
    /** Core (but userName, active, externalId) and extension attributes, as JSON. */
    profile: text("profile", { mode: "json" }).$type<Record<string, unknown>>().notNull().default(sql`'{}'`),
    /**
     * The profile's displayName, kept beside it so the name a group shows for its members is
     * read from an index (tenant_users_display_idx) rather than by parsing each member's profile.
     */
    displayName: text("display_name"),
    /** Enterprise `manager.value`, kept in a column so `manager eq "id"` uses an index. */
    managerId: text("manager_id"),
    externalId: text("external_id"),
    active: integer("active", { mode: "boolean" }).notNull().default(true),
    version: integer("version").notNull().default(1),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.userId] }),
    index("tenant_users_external_id_idx").on(t.tenantId, t.externalId),
    index("tenant_users_user_idx").on(t.userId),
    uniqueIndex("tenant_users_user_name_key_unique").on(t.tenantId, t.userNameKey),
    // A person signing in through Cloudflare Access: the tenants whose view has their email as
    // userName.
    index("tenant_users_sign_in_idx").on(t.userNameKey),
    index("tenant_users_manager_idx").on(t.tenantId, t.managerId),
    // Covers a member's display (a group's members, a user's manager): no profile is read.
    index("tenant_users_display_idx").on(t.tenantId, t.userId, t.displayName, t.userName),
    // Lists go in the order users were provisioned in the tenant (user ids are random).
    index("tenant_users_created_idx").on(t.tenantId, t.createdAt, t.userId),
    versionCheck("tenant_users_version_guard", t.version),
  ],
);

/** Email addresses of a tenant's view of a user, so `emails.value eq "x"` is an index lookup. */
export const tenantUserEmails = sqliteTable(
  "tenant_user_emails",
  {
    tenantId: text("tenant_id").notNull(),
    userId: text("user_id").notNull(),
    position: integer("position").notNull(),
    value: text("value").notNull(),
    valueKey: text("value_key").notNull(),
    type: text("type"),
    display: text("display"),
    primary: integer("is_primary", { mode: "boolean" }).notNull().default(false),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.userId, t.position] }),
    foreignKey({ columns: [t.tenantId, t.userId], foreignColumns: [tenantUsers.tenantId, tenantUsers.userId] }).onDelete("cascade"),
    index("tenant_user_emails_value_key_idx").on(t.tenantId, t.valueKey),
    // …and the tenants that provisioned it as one of the person's emails.
    index("tenant_user_emails_sign_in_idx").on(t.valueKey),
  ],
);

/**
 * A tenant's own SCIM schema extensions for Users (RFC 7643 §7 definitions), declared by its
 * admins: served in that tenant's /Schemas and /ResourceTypes, validating writes from then on.
 */
export const scimSchemas = sqliteTable(
  "scim_schemas",
  {
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    urn: text("urn").notNull(),
    /** Lowercased URN: schema URNs compare case-insensitively. */
    urnKey: text("urn_key").notNull(),
    name: text("name").notNull(),
    description: text("description"),
    /** The attribute definitions, normalized (every characteristic spelled out). */
    attributes: text("attributes", { mode: "json" }).$type<unknown[]>().notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.urnKey] })],
);

/**
 * Values of declared extension attributes with `uniqueness: server`, one row per value: the
 * primary key makes a value unique in the tenant whatever writers interleave, and
 * `attr eq "x"` is an index lookup. The view's JSON stays the source of what is returned.
 */
export const tenantUserValues = sqliteTable(
  "tenant_user_values",
  {
    tenantId: text("tenant_id").notNull(),
    /** `<urn>:<attribute>`, lowercased. */
    attribute: text("attribute").notNull(),
    valueKey: text("value_key").notNull(),
    userId: text("user_id").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.attribute, t.valueKey] }),
    index("tenant_user_values_user_idx").on(t.tenantId, t.userId),
    foreignKey({ columns: [t.tenantId, t.userId], foreignColumns: [tenantUsers.tenantId, tenantUsers.userId] }).onDelete("cascade"),
  ],
);

export const groups = sqliteTable(
  "groups",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    displayName: text("display_name").notNull(),
    displayNameKey: text("display_name_key").notNull(),
    externalId: text("external_id"),
    version: integer("version").notNull().default(1),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("groups_tenant_display_name_unique").on(t.tenantId, t.displayNameKey),
    // (tenant, id) lets `groups.id in (…members subquery…)` drive a tenant's query by id.
    index("groups_tenant_id_idx").on(t.tenantId, t.id),
    index("groups_tenant_external_id_idx").on(t.tenantId, t.externalId),
    versionCheck("groups_version_guard", t.version),
  ],
);

/**
 * One row per membership: adding a member costs the same in a group of 10 or 100,000. A member
 * is a view of the group's tenant: the foreign key makes a membership of a user without access
 * impossible, whatever writers interleave, and revoking access removes the memberships with it.
 */
export const groupMembers = sqliteTable(
  "group_members",
  {
    groupId: text("group_id")
      .notNull()
      .references(() => groups.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.groupId, t.userId] }),
    index("group_members_tenant_user_idx").on(t.tenantId, t.userId, t.groupId),
    foreignKey({ columns: [t.tenantId, t.userId], foreignColumns: [tenantUsers.tenantId, tenantUsers.userId] }).onDelete("cascade"),
  ],
);

/**
 * Re-authorizes a SCIM write at commit: the first statement of its batch inserts `ok` = 1 only
 * while the token, the enabled integration and the permissions still hold (else NULL, which the
 * NOT NULL refuses, rolling the whole batch back); the last statement empties the table again.
 * Batches run one at a time, so the table is empty between them.
 */
export const commitGuards = sqliteTable("commit_guards", {
  id: integer("id").primaryKey(),
  ok: integer("ok").notNull(),
});
