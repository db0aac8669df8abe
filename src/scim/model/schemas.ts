/**
 * The one definition of the SCIM resources (RFC 7643 §4, §8.7): it is served as /Schemas, and
 * drives validation, attribute projection and filter compilation, so the four cannot disagree.
 */

export const USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User";
export const ENTERPRISE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
export const GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group";
export const LIST_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
export const SEARCH_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
export const PATCH_OP_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

export type AttributeType = "string" | "boolean" | "decimal" | "integer" | "dateTime" | "reference" | "complex" | "binary";
export type Mutability = "readOnly" | "readWrite" | "immutable" | "writeOnly";
export type Returned = "always" | "never" | "default" | "request";

export interface AttributeDef {
  name: string;
  type: AttributeType;
  multiValued: boolean;
  description: string;
  required: boolean;
  caseExact: boolean;
  mutability: Mutability;
  returned: Returned;
  uniqueness: "none" | "server" | "global";
  canonicalValues?: string[];
  referenceTypes?: string[];
  subAttributes?: AttributeDef[];
}

export interface SchemaDef {
  id: string;
  name: string;
  description: string;
  attributes: AttributeDef[];
}

type Options = Partial<Omit<AttributeDef, "name" | "type" | "description">>;

function attr(name: string, type: AttributeType, description: string, options: Options = {}): AttributeDef {
  return {
    name,
    type,
    multiValued: false,
    description,
    required: false,
    caseExact: false,
    mutability: "readWrite",
    returned: "default",
    uniqueness: "none",
    ...options,
  };
}

const str = (name: string, description: string, options?: Options) => attr(name, "string", description, options);

/** value/display/type/primary, the shape of most multi-valued attributes. */
function multi(name: string, description: string, types: string[] | undefined): AttributeDef {
  return attr(name, "complex", description, {
    multiValued: true,
    subAttributes: [
      str("value", `The value of the ${name} entry.`),
      str("display", "A human-readable name, primarily used for display purposes."),
      str("type", "A label indicating the attribute's function.", types ? { canonicalValues: types } : {}),
      attr("primary", "boolean", "Indicates the primary or preferred value."),
    ],
  });
}

export const userSchema: SchemaDef = {
  id: USER_SCHEMA,
  name: "User",
  description: "User Account",
  attributes: [
    str("userName", "Unique identifier for the User, typically used to sign in. Unique across the whole server.", {
      required: true,
      uniqueness: "server",
    }),
    attr("name", "complex", "The components of the user's real name.", {
      subAttributes: [
        str("formatted", "The full name, formatted for display."),
        str("familyName", "The family name of the User."),
        str("givenName", "The given name of the User."),
        str("middleName", "The middle name(s) of the User."),
        str("honorificPrefix", "The honorific prefix(es) of the User."),
        str("honorificSuffix", "The honorific suffix(es) of the User."),
      ],
    }),
    str("displayName", "The name of the User, suitable for display to end-users."),
    str("nickName", "The casual way to address the user."),
    attr("profileUrl", "reference", "A fully qualified URL pointing to a page representing the User's online profile.", {
      referenceTypes: ["external"],
    }),
    str("title", "The user's title, such as \"Vice President\"."),
    str("userType", "Used to identify the relationship between the organization and the user."),
    str("preferredLanguage", "The User's preferred written or spoken language (RFC 7231 Accept-Language)."),
    str("locale", "The User's default location for localization (e.g. en-US)."),
    str("timezone", "The User's time zone in IANA format (e.g. America/Los_Angeles)."),
    attr(
      "active",
      "boolean",
      "The User's administrative status in this tenant. Omitted when the User is created or replaced (POST, PUT): true. " +
        "Unassigned by a PATCH (remove, or replace with null): false, since an unassigned status grants no access here.",
    ),
    str("password", "Never stored and never returned by this server.", { mutability: "writeOnly", returned: "never" }),
    multi("emails", "Email addresses for the user.", ["work", "home", "other"]),
    multi("phoneNumbers", "Phone numbers for the User.", ["work", "home", "mobile", "fax", "pager", "other"]),
    multi("ims", "Instant messaging addresses for the User.", ["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]),
    attr("photos", "complex", "URLs of photos of the User.", {
      multiValued: true,
      subAttributes: [
        attr("value", "reference", "URL of a photo of the User.", { referenceTypes: ["external"] }),
        str("display", "A human-readable name, primarily used for display purposes."),
        str("type", "A label indicating the attribute's function.", { canonicalValues: ["photo", "thumbnail"] }),
        attr("primary", "boolean", "Indicates the primary or preferred photo."),
      ],
    }),
    attr("addresses", "complex", "A physical mailing address for this User.", {
      multiValued: true,
      subAttributes: [
        str("formatted", "The full mailing address, formatted for display."),
        str("streetAddress", "The full street address component."),
        str("locality", "The city or locality component."),
        str("region", "The state or region component."),
        str("postalCode", "The zip code or postal code component."),
        str("country", "The country name component (ISO 3166-1 alpha-2)."),
        str("type", "A label indicating the attribute's function.", { canonicalValues: ["work", "home", "other"] }),
        attr("primary", "boolean", "Indicates the primary or preferred address."),
      ],
    }),
    attr("groups", "complex", "The groups of this tenant the user belongs to, derived from memberships.", {
      multiValued: true,
      mutability: "readOnly",
      subAttributes: [
        str("value", "The identifier of the User's group.", { mutability: "readOnly" }),
        attr("$ref", "reference", "The URI of the corresponding Group resource.", {
          mutability: "readOnly",
          referenceTypes: ["Group"],
        }),
        str("display", "The displayName of the group.", { mutability: "readOnly" }),
        str("type", "How the membership is held.", { mutability: "readOnly", canonicalValues: ["direct", "indirect"] }),
      ],
    }),
    multi("entitlements", "A list of entitlements for the User.", undefined),
    multi("roles", "A list of roles for the User.", undefined),
    attr("x509Certificates", "complex", "A list of certificates issued to the User.", {
      multiValued: true,
      subAttributes: [
        attr("value", "binary", "The value of an X.509 certificate."),
        str("display", "A human-readable name, primarily used for display purposes."),
        str("type", "A label indicating the attribute's function."),
        attr("primary", "boolean", "Indicates the primary certificate."),
      ],
    }),
  ],
};

export const enterpriseUserSchema: SchemaDef = {
  id: ENTERPRISE_USER_SCHEMA,
  name: "EnterpriseUser",
  description: "Enterprise User",
  attributes: [
    str("employeeNumber", "Numeric or alphanumeric identifier assigned to a person by the organization."),
    str("costCenter", "Identifies the name of a cost center."),
    str("organization", "Identifies the name of an organization."),
    str("division", "Identifies the name of a division."),
    str("department", "Identifies the name of a department."),
    attr("manager", "complex", "The User's manager, always rendered as an object.", {
      subAttributes: [
        str("value", "The id of the SCIM resource representing the User's manager."),
        attr("$ref", "reference", "The URI of the SCIM resource representing the User's manager.", {
          referenceTypes: ["User"],
        }),
        str("displayName", "The displayName of the User's manager.", { mutability: "readOnly" }),
      ],
    }),
  ],
};

export const groupSchema: SchemaDef = {
  id: GROUP_SCHEMA,
  name: "Group",
  description: "Group",
  attributes: [
    str("displayName", "A human-readable name for the Group. Unique within a tenant.", {
      required: true,
      uniqueness: "server",
    }),
    attr("members", "complex", "A list of members of the Group: users with access to this tenant.", {
      multiValued: true,
      subAttributes: [
        str("value", "Identifier of the member of this Group.", { mutability: "immutable" }),
        attr("$ref", "reference", "The URI of the member resource.", { mutability: "immutable", referenceTypes: ["User"] }),
        str("display", "The displayName of the member.", { mutability: "readOnly" }),
        str("type", "The type of member; only User is accepted.", { mutability: "immutable", canonicalValues: ["User"] }),
      ],
    }),
  ],
};

export const ALL_SCHEMAS: SchemaDef[] = [userSchema, enterpriseUserSchema, groupSchema];

export interface ResourceTypeDef {
  id: "User" | "Group";
  name: string;
  endpoint: string;
  description: string;
  schema: SchemaDef;
  extensions: { schema: SchemaDef; required: boolean }[];
}

export const RESOURCE_TYPES: ResourceTypeDef[] = [
  {
    id: "User",
    name: "User",
    endpoint: "/Users",
    description: "User Account",
    schema: userSchema,
    extensions: [{ schema: enterpriseUserSchema, required: false }],
  },
  { id: "Group", name: "Group", endpoint: "/Groups", description: "Group", schema: groupSchema, extensions: [] },
];

/** Case-insensitive lookup of an attribute definition (RFC 7643 §2.1). */
export function findAttribute(attributes: AttributeDef[] | undefined, name: string): AttributeDef | undefined {
  const lower = name.toLowerCase();
  return attributes?.find((a) => a.name.toLowerCase() === lower);
}
