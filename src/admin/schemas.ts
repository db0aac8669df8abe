/**
 * The admin API's schemas: they validate input (through @hono/zod-openapi's validators) and
 * describe every request and response in /api/v1/openapi.json, so the two cannot drift.
 */
import { z } from "@hono/zod-openapi";
import { ACTOR_TYPES, REFUSAL_CAUSES, SUBJECT_TYPES } from "../db/schema";
import { MAX_ACTIVITY_DAYS } from "../iam/integration-activity";
import { ACTIONS, RESOURCES } from "../iam/permissions";
import { DECLARATION_LIMITS } from "../iam/scim-schemas";
import { RESERVED_TENANT_IDS } from "../iam/tenants";
import { UNIQUE_TYPES } from "../scim/model/extensions";

export const time = z.string().openapi({ format: "date-time", example: "2026-11-29T08:00:00.000Z" });
const id = (example = "01a225a4-32dd-7c51-8459-6a6169f0ad2b") => z.string().min(1).max(200).openapi({ example });

export const Problem = z
  .object({
    type: z.string().openapi({ example: "about:blank" }),
    title: z.string().openapi({ example: "Bad Request" }),
    status: z.number().int().openapi({ example: 400 }),
    detail: z.string().openapi({ example: "name: must not be empty" }),
  })
  .openapi("Problem", { description: "RFC 9457 problem details (application/problem+json)." });

// ---- parameters -------------------------------------------------------------------------------

/** A tenant id: a lowercase DNS-style slug, safe in URLs and unambiguous. */
export const TenantId = z
  .string()
  .max(63, "at most 63 characters")
  .regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, "a lowercase slug: a-z, 0-9 and inner hyphens")
  .refine((value) => !RESERVED_TENANT_IDS.includes(value), { message: `reserved (${RESERVED_TENANT_IDS.join(", ")})` })
  .openapi({ example: "acme" });

export const TenantParam = z.object({ tenant: z.string().openapi({ param: { name: "tenant", in: "path" }, example: "acme" }) });
export const TenantIdParams = TenantParam.extend({ id: id().openapi({ param: { name: "id", in: "path" } }) });
export const IdParam = z.object({ id: id().openapi({ param: { name: "id", in: "path" } }) });

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50).openapi({ param: { name: "limit", in: "query" }, example: 50 }),
  cursor: z.string().max(200).optional().openapi({ param: { name: "cursor", in: "query" }, description: "nextCursor of the previous page" }),
});

/** `{results, nextCursor?}`, the shape of every list. */
export const page = <T extends z.ZodType>(item: T, name: string) =>
  z.object({ results: z.array(item), nextCursor: z.string().optional() }).openapi(name);

// ---- tenants ---------------------------------------------------------------------------------


// ---- integrations ------------------------------------------------------------------------------

const integrationName = z.string().trim().min(1, "must not be empty").max(200).openapi({ example: "Microsoft Entra ID" });
const description = z.string().max(2000).nullable().openapi({ example: "Production directory" });

export const Integration = z
  .object({
    id: z.string(),
    tenant: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    provisioningType: z.literal("SCIM_2_0"),
    enabled: z.boolean(),
    endpoint: z.string().openapi({ description: "The Tenant URL to paste into Entra ID.", example: "https://scim.example.com/api/v1/acme/integrations/ID/scim/v2" }),
    serviceAccountId: z.string(),
    roleId: z.string().nullable(),
    problems: z.array(z.string()).openapi({
      description: "What keeps it from working although enabled (no token, permissions its service account lacks); empty when healthy.",
    }),
    createdAt: time,
    updatedAt: time,
  })
  .openapi("Integration");

export const SecretToken = z
  .object({ secretToken: z.string().openapi({ description: "Shown once: only its hash is stored." }) })
  .openapi("SecretToken");

export const CreatedIntegration = Integration.extend(SecretToken.shape).openapi("CreatedIntegration");

export const CreateIntegration = z
  .strictObject({
    name: integrationName,
    description: description.optional(),
    provisioningType: z.literal("SCIM_2_0", { error: "only SCIM_2_0 is supported" }).default("SCIM_2_0"),
    enabled: z.boolean().default(true),
  })
  .openapi("CreateIntegration");

export const PatchIntegration = z
  .strictObject({ name: integrationName.optional(), description: description.optional(), enabled: z.boolean().optional() })
  .refine((patch) => Object.keys(patch).length > 0, { message: "give at least one of name, description, enabled" })
  .openapi("PatchIntegration");

// ---- roles and bindings ------------------------------------------------------------------------

export const Resource = z.enum(RESOURCES).openapi("Resource");
export const Action = z.enum(ACTIONS).openapi("Action");

export const Permissions = z
  .partialRecord(Resource, z.array(Action).min(1).max(ACTIONS.length))
  .openapi("Permissions", { example: { GROUPS: ["READ", "UPDATE"], USERS: ["READ"] } });

export const Role = z
  .object({
    id: z.string(),
    tenant: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    permissions: Permissions,
    createdAt: time,
    updatedAt: time,
  })
  .openapi("Role");

const roleName = z.string().trim().min(1, "must not be empty").max(200).openapi({ example: "GroupAdmins" });

export const CreateRole = z
  .strictObject({ name: roleName, description: description.optional(), permissions: Permissions })
  .openapi("CreateRole");

export const PatchRole = z
  .strictObject({ name: roleName.optional(), description: description.optional(), permissions: Permissions.optional() })
  .refine((patch) => Object.keys(patch).length > 0, { message: "give at least one of name, description, permissions" })
  .openapi("PatchRole");

export const SubjectType = z.enum(SUBJECT_TYPES).openapi("SubjectType");

export const Binding = z
  .object({
    id: z.string(),
    tenant: z.string(),
    roleId: z.string(),
    roleName: z.string(),
    subjectType: SubjectType,
    subjectId: z.string(),
    subjectName: z.string().nullable().openapi({ description: "The user's userName here, the group's displayName or the account's name." }),
    integrationId: z.string().nullable().openapi({ description: "The provisioning integration this binding belongs to (its own SCIMProvisioner binding: removed with the integration), or null." }),
    namespace: z.string().nullable(),
    createdAt: time,
  })
  .openapi("Binding");

export const CreateBinding = z
  .strictObject({
    roleId: id(),
    subjectType: SubjectType,
    subjectId: id(),
    namespace: z.string().trim().min(1).max(400).nullable().optional().openapi({ example: "company.team" }),
  })
  .openapi("CreateBinding");

export const BindingQuery = PageQuery.extend({
  roleId: z.string().max(200).optional().openapi({ param: { name: "roleId", in: "query" } }),
  subjectType: SubjectType.optional().openapi({ param: { name: "subjectType", in: "query" } }),
  subjectId: z.string().max(200).optional().openapi({ param: { name: "subjectId", in: "query" } }),
});

// ---- service accounts ---------------------------------------------------------------------------

const expiresAt = time.nullable().openapi({ description: "When the token stops working; null: until revoked (integration tokens never expire)." });

export const TokenInfo = z
  .object({ id: z.string(), createdAt: time, lastUsedAt: time.nullable(), lastFour: z.string().openapi({ example: "x9Qa" }), expiresAt })
  .openapi("TokenInfo", { description: "A token as the store knows it: never the secret, never its hash." });

export const ServiceAccount = z
  .object({
    id: z.string(),
    tenant: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    integrationId: z.string().nullable(),
    createdAt: time,
    tokens: z.array(TokenInfo),
  })
  .openapi("ServiceAccount");

export const TokenParams = TenantIdParams.extend({ tokenId: id().openapi({ param: { name: "tokenId", in: "path" } }) });

const accountName = z.string().trim().min(1, "must not be empty").max(200).openapi({ example: "deploy-bot" });
const accountDescription = z.string().max(1000).nullable().openapi({ example: "Deploys flows from CI" });

export const CreateServiceAccount = z
  .strictObject({ name: accountName, description: accountDescription.optional() })
  .openapi("CreateServiceAccount");

export const PatchServiceAccount = z
  .strictObject({ name: accountName.optional(), description: accountDescription.optional() })
  .refine((patch) => Object.keys(patch).length > 0, { message: "give at least one of name, description" })
  .openapi("PatchServiceAccount");

export const CreateToken = z
  .strictObject({
    expiresAt: z.iso
      .datetime({ offset: true, message: "an ISO 8601 time, e.g. 2026-11-29T08:00:00Z" })
      .nullable()
      .optional()
      .openapi({ description: "When the token stops working: in the future, at most 730 days ahead. Absent or null: until revoked." }),
  })
  .openapi("CreateToken");

export const CreatedToken = z
  .object({
    id: z.string(),
    secretToken: z.string().openapi({ description: "Shown once: only its hash is stored." }),
    lastFour: z.string().openapi({ example: "x9Qa" }),
    createdAt: time,
    expiresAt,
  })
  .openapi("CreatedToken");

// ---- provisioned users and groups ---------------------------------------------------------------

export const TenantUser = z
  .object({
    id: z.string(),
    userName: z.string(),
    displayName: z.string().nullable(),
    externalId: z.string().nullable(),
    active: z.boolean(),
    groups: z.array(z.object({ id: z.string(), displayName: z.string() })).openapi({ description: "The user's groups in this tenant." }),
    createdAt: time,
    updatedAt: time,
  })
  .openapi("TenantUser");

export const TenantUserDetail = TenantUser.extend({
  name: z.record(z.string(), z.string()).nullable().openapi({ description: "SCIM name as this tenant sent it.", example: { givenName: "Ada", familyName: "Lovelace" } }),
  emails: z.array(z.object({ value: z.string(), type: z.string().optional(), primary: z.boolean().optional() })).openapi({ description: "SCIM emails as this tenant sent them." }),
}).openapi("TenantUserDetail");

export const UserQuery = PageQuery.extend({
  search: z
    .string()
    .trim()
    .max(200)
    .optional()
    .openapi({ param: { name: "search", in: "query" }, description: "Only users whose userName or displayName contains this text (case-insensitive).", example: "ada" }),
});

export const GlobalUser = z
  .object({
    id: z.string(),
    userName: z.string().openapi({
      description: "The identity: the userName a POST from any tenant links on. Each tenant's own userName is in its view.",
    }),
    createdAt: time,
    updatedAt: time,
    tenants: z
      .array(
        z.object({
          tenant: z.string(),
          tenantName: z.string(),
          userName: z.string(),
          displayName: z.string().nullable(),
          emails: z.array(z.unknown()),
          externalId: z.string().nullable(),
          active: z.boolean(),
          attributes: z.record(z.string(), z.unknown()).openapi({ description: "Every other SCIM attribute this tenant provisioned." }),
          since: time,
          updatedAt: time,
        }),
      )
      .openapi({ description: "Each tenant's own view of the user: what that tenant provisioned, and nothing else." }),
  })
  .openapi("GlobalUser");

export const GroupSummary = z
  .object({
    id: z.string(),
    displayName: z.string(),
    externalId: z.string().nullable(),
    memberCount: z.number().int(),
    createdAt: time,
    updatedAt: time,
  })
  .openapi("GroupSummary");

export const GroupDetail = GroupSummary.extend({
  members: z.array(z.object({ id: z.string(), userName: z.string(), displayName: z.string().nullable() })),
  nextCursor: z.string().optional().openapi({ description: "Cursor of the next page of members." }),
}).openapi("GroupDetail");

// ---- audit log ----------------------------------------------------------------------------------

export const AuditEvent = z
  .object({
    id: z.string(),
    tenant: z.string(),
    integrationId: z.string().nullable(),
    actor: z.object({ type: z.enum(ACTOR_TYPES), id: z.string().nullable() }),
    action: z.string().openapi({ example: "UPDATE" }),
    resourceType: z.string().openapi({ example: "GROUP" }),
    resourceId: z.string().nullable(),
    resourceName: z.string().nullable().openapi({
      example: "ada@contoso.example",
      description:
        "The resource's name when the event was recorded: a user's userName in this tenant, a group's displayName, the name of a role, service account, integration, tenant or SCIM schema. " +
        "Null for bindings and tokens, for refused writes whose body named none, and for events recorded before names were (a user's or group's event from then has its name as of the upgrade).",
    }),
    outcome: z.enum(["SUCCESS", "FAILURE"]),
    status: z.number().int().nullable(),
    detail: z.string().nullable(),
    diff: z.record(z.string(), z.object({ before: z.unknown().optional(), after: z.unknown().optional() })).nullable(),
    requestId: z.string().nullable(),
    createdAt: time,
  })
  .openapi("AuditEvent");

const isoTime = () => z.iso.datetime({ offset: true, message: "an ISO 8601 time, e.g. 2026-11-29T08:00:00Z" });

/** The filters the audit list and the export share. */
const AuditFilters = z.object({
  integrationId: z.string().max(200).optional().openapi({ param: { name: "integrationId", in: "query" } }),
  resourceType: z.string().max(100).optional().openapi({ param: { name: "resourceType", in: "query" }, example: "USER" }),
  resourceName: z.string().min(1).max(600).optional().openapi({
    param: { name: "resourceName", in: "query" },
    example: "ada@contoso.example",
    description: "Only events of the resource of this name when they were recorded: the whole name, in any case. Across renames, follow the resource by `resourceId` instead.",
  }),
  action: z.string().max(100).optional().openapi({ param: { name: "action", in: "query" }, example: "DELETE" }),
  outcome: z
    .enum(["SUCCESS", "FAILURE"])
    .optional()
    .openapi({ param: { name: "outcome", in: "query" }, description: "Only successful writes, or only refused and failed ones." }),
});

export const AuditQuery = PageQuery.extend(AuditFilters.shape).extend({
  resourceId: z.string().max(200).optional().openapi({ param: { name: "resourceId", in: "query" } }),
  after: isoTime()
    .optional()
    .openapi({ param: { name: "after", in: "query" }, description: "Only events at or after this time." }),
});

export const AuditExportQuery = AuditFilters.extend({
  from: isoTime()
    .optional()
    .openapi({ param: { name: "from", in: "query" }, description: "Start of the range (inclusive); default: the first event ever recorded." }),
  to: isoTime()
    .optional()
    .openapi({ param: { name: "to", in: "query" }, description: "End of the range (exclusive); default: now." }),
  format: z.enum(["ndjson", "csv"]).default("ndjson").openapi({ param: { name: "format", in: "query" } }),
}).refine((q) => q.from === undefined || q.to === undefined || Date.parse(q.from) < Date.parse(q.to), { message: "from must be before to", path: ["from"] });

// ---- provisioning health ------------------------------------------------------------------------

export const ActivityQuery = z.object({
  days: z.coerce.number().int().min(1).max(MAX_ACTIVITY_DAYS).default(7).openapi({ param: { name: "days", in: "query" }, description: `How many days back, 1 to ${MAX_ACTIVITY_DAYS}.` }),
});

const Outcomes = { succeeded: z.number().int(), refused: z.number().int().openapi({ description: "Refused with a 4xx." }), failed: z.number().int().openapi({ description: "Failed with a 5xx." }) };
const GateRefusals = {
  unauthorized: z.number().int().openapi({ description: "Requests the SCIM gate refused with 401: a token that is not this integration's (wrong, rotated, revoked) or none." }),
  disabled: z.number().int().openapi({ description: "Requests the SCIM gate refused with 403 because the integration is disabled." }),
};

export const IntegrationActivity = z
  .object({
    integrationId: z.string(),
    from: time,
    to: time,
    hours: z.array(z.object({ start: time, ...Outcomes, ...GateRefusals })).openapi({ description: "SCIM writes per hour by outcome, and requests the gate refused by cause, oldest first, every hour of the window." }),
    totals: z.object({ ...Outcomes, ...GateRefusals }),
    lastHour: z.object({ writes: z.number().int(), refused: z.number().int(), failed: z.number().int() }).openapi({ description: "The last 60 minutes." }),
    unhealthy: z.boolean().openapi({ description: "Refused and failed writes exceed a fifth of the last hour's writes: Entra quarantines an app whose calls keep failing." }),
    lastContactAt: time.nullable().openapi({ description: "Last request with the integration's token (reads too), to the minute." }),
    lastWriteAt: time.nullable(),
    thisHour: z.object({ start: time, ...GateRefusals }).openapi({ description: "The gate's refusals in the current clock hour." }),
    lastRefusal: z
      .object({ at: time, cause: z.enum(REFUSAL_CAUSES), detail: z.string() })
      .nullable()
      .openapi({ description: "The latest request the gate refused and why." }),
  })
  .openapi("IntegrationActivity");

// ---- SCIM schema extensions ---------------------------------------------------------------------

const attributeName = z.string().regex(/^[A-Za-z][A-Za-z0-9_$-]*$/, "an attribute name: a letter, then letters, digits, _, $ or -").max(64);

/** RFC 7643 §7's characteristics of one attribute, every one spelled out after validation. */
const AttributeCharacteristics = z.object({
  name: attributeName,
  type: z.enum(["string", "boolean", "integer", "decimal", "dateTime", "reference", "complex", "binary"]),
  multiValued: z.boolean().default(false),
  description: z.string().max(1000).default(""),
  required: z.boolean().default(false),
  caseExact: z.boolean().default(false),
  mutability: z.enum(["readOnly", "readWrite", "immutable", "writeOnly"]).default("readWrite"),
  returned: z.enum(["always", "never", "default", "request"]).default("default"),
  uniqueness: z.enum(["none", "server"]).default("none"),
  canonicalValues: z.array(z.string().max(200)).max(100).optional(),
  referenceTypes: z.array(z.string().max(100)).max(20).optional(),
});

function distinctNames(list: { name: string }[]): boolean {
  return new Set(list.map((a) => a.name.toLowerCase())).size === list.length;
}

const SubAttribute = AttributeCharacteristics.refine((a) => a.type !== "complex", { message: "a sub-attribute cannot be complex (RFC 7643 §2.3.8)" })
  .refine((a) => a.uniqueness === "none", { message: "only a top-level attribute can be unique" });

export const AttributeDefinition = AttributeCharacteristics.extend({
  subAttributes: z.array(SubAttribute).min(1).max(50).refine(distinctNames, { message: "sub-attribute names must differ (ignoring case)" }).optional(),
})
  .refine((a) => (a.type === "complex") === (a.subAttributes !== undefined), { message: "a complex attribute needs subAttributes, and only a complex one has them" })
  .refine((a) => a.uniqueness === "none" || !a.multiValued, { message: "only a single-valued attribute can be unique" })
  .refine((a) => a.uniqueness === "none" || UNIQUE_TYPES.has(a.type), {
    message: "only a simple attribute other than binary can be unique (RFC 7643 §2.3.6: a binary value has no uniqueness)",
  })
  .openapi("ScimAttributeDefinition", { description: "An attribute definition as in RFC 7643 §7; omitted characteristics take their defaults." });

export const UrnParam = TenantParam.extend({
  urn: z
    .string()
    .max(300)
    .regex(/^urn:[A-Za-z0-9][A-Za-z0-9-]*:[A-Za-z0-9()+,\-.:=@;$_!*'%]+$/, "a schema URN, such as urn:ietf:params:scim:schemas:extension:Contoso:2.0:User")
    .openapi({ param: { name: "urn", in: "path" }, example: "urn:ietf:params:scim:schemas:extension:Contoso:2.0:User" }),
});

export const PutScimSchema = z
  .object({
    name: z.string().min(1).max(200),
    description: z.string().max(1000).nullable().default(null),
    attributes: z
      .array(AttributeDefinition)
      .min(1)
      .max(100)
      .refine(distinctNames, { message: "attribute names must differ (ignoring case)" })
      .refine((list) => list.filter((a) => a.uniqueness !== "none").length <= DECLARATION_LIMITS.uniquePerDeclaration, {
        message: `at most ${DECLARATION_LIMITS.uniquePerDeclaration} attributes of a declaration can be unique`,
      }),
  })
  .openapi("PutScimSchema");

export const ScimSchemaDeclaration = z
  .object({
    id: z.string().openapi({ description: "The schema URN." }),
    name: z.string(),
    description: z.string().nullable(),
    attributes: z.array(z.record(z.string(), z.unknown())),
    createdAt: time,
    updatedAt: time,
  })
  .openapi("ScimSchemaDeclaration");
