/** Discovery documents (RFC 7643 §5–7): what this server implements, truthfully. */
import { ALL_SCHEMAS, LIST_RESPONSE_SCHEMA, RESOURCE_TYPES, type ResourceTypeDef, type SchemaDef } from "./schemas";
import { LIMITS } from "./limits";
import type { ScimBase } from "./resources";

/** What is implemented; flip a capability here when its behaviour lands. */
export const CAPABILITIES = {
  patch: true,
  sort: true,
  etag: true,
  changePassword: false,
  bulk: true,
} as const;

/** /ServiceProviderConfig. */
export function serviceProviderConfig(base: ScimBase) {
  return {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
    patch: { supported: CAPABILITIES.patch },
    bulk: { supported: CAPABILITIES.bulk, maxOperations: LIMITS.maxBulkOperations, maxPayloadSize: LIMITS.maxPayloadSize },
    filter: { supported: true, maxResults: LIMITS.maxResults },
    changePassword: { supported: CAPABILITIES.changePassword },
    sort: { supported: CAPABILITIES.sort },
    etag: { supported: CAPABILITIES.etag },
    authenticationSchemes: [
      {
        type: "oauthbearertoken",
        name: "OAuth Bearer Token",
        description: "The provisioning integration's secret token, sent as 'Authorization: Bearer <token>'.",
        specUri: "https://www.rfc-editor.org/rfc/rfc6750",
        primary: true,
      },
    ],
    meta: { resourceType: "ServiceProviderConfig", location: `${base}/ServiceProviderConfig` },
  };
}

/** One /ResourceTypes entry. */
export function resourceType(type: ResourceTypeDef, base: ScimBase) {
  return {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
    id: type.id,
    name: type.name,
    endpoint: type.endpoint,
    description: type.description,
    schema: type.schema.id,
    schemaExtensions: type.extensions.map((e) => ({ schema: e.schema.id, required: e.required })),
    meta: { resourceType: "ResourceType", location: `${base}/ResourceTypes/${type.id}` },
  };
}

/** One /Schemas entry. */
export function schemaDocument(schema: SchemaDef, base: ScimBase) {
  return {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
    id: schema.id,
    name: schema.name,
    description: schema.description,
    attributes: schema.attributes,
    meta: { resourceType: "Schema", location: `${base}/Schemas/${schema.id}` },
  };
}

/** A ListResponse of every item (discovery lists are never paged). */
export function listOf<T>(items: T[]) {
  return { schemas: [LIST_RESPONSE_SCHEMA], totalResults: items.length, startIndex: 1, itemsPerPage: items.length, Resources: items };
}

