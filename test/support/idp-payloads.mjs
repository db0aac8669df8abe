// @ts-check
/**
 * The documents identity providers send, written once: the conformance tests
 * (test/scim/conformance) send them inside workerd, scripts/idp-cycle.mjs to a running server.
 * Plain JS with JSDoc types, so Node imports it as it is and the tests through Vite.
 */

export const USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User";
export const GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group";
export const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
export const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

// ---- Okta: its SCIM 2.0 spec test (Runscope suite) and its SCIM guide --------------------------

/**
 * The spec test's user with realistic values; `login` is its userName and work email.
 * @param {string} login
 */
export function oktaUser(login) {
  return {
    schemas: [USER_SCHEMA],
    userName: login,
    name: { givenName: "Okta", familyName: "Tester" },
    emails: [{ primary: true, value: login, type: "work" }],
    displayName: "Okta Tester",
    locale: "en-US",
    externalId: "00ujl29u0le5T6Aj10h7",
    /** @type {unknown[]} */
    groups: [],
    password: "1mz050nq",
    active: true,
  };
}

/**
 * A pushed group: created without members, which Okta adds by PATCH.
 * @param {string} displayName
 */
export function oktaGroup(displayName) {
  return { schemas: [GROUP_SCHEMA], displayName, /** @type {unknown[]} */ members: [] };
}

/**
 * (De)activation: `replace` without a path.
 * @param {boolean} active
 */
export function oktaSetActive(active) {
  return { schemas: [PATCH], Operations: [{ op: "replace", value: { active } }] };
}

/**
 * A group rename: `replace` without a path, the id repeated in the value.
 * @param {string} id @param {string} displayName
 */
export function oktaRenameGroup(id, displayName) {
  return { schemas: [PATCH], Operations: [{ op: "replace", value: { id, displayName } }] };
}

/**
 * Members added to a pushed group, each with its display name.
 * @param {{ value: string, display: string }[]} members
 */
export function oktaAddMembers(members) {
  return { schemas: [PATCH], Operations: [{ op: "add", path: "members", value: members }] };
}

// ---- Microsoft Entra ID: the requests of Microsoft's SCIM tutorial -----------------------------

/**
 * The tutorial's "Create User" request, made unique by `suffix`.
 * @param {string} suffix
 */
export function entraUser(suffix) {
  return {
    schemas: [USER_SCHEMA, ENTERPRISE],
    externalId: `0a21f0f2-8d2a-4f8e-bf98-${suffix.padStart(12, "0")}`,
    userName: `Test_User_${suffix}@testuser.com`,
    active: true,
    emails: [{ primary: true, type: "work", value: `Test_User_${suffix}@testuser.com` }],
    meta: { resourceType: "User" },
    name: { formatted: "givenName familyName", familyName: "familyName", givenName: "givenName" },
    /** @type {unknown[]} */
    roles: [],
  };
}

/**
 * The tutorial's "Create Group" request, with Microsoft's own group schema URN.
 * @param {string} displayName @param {string} [externalId] the tutorial's unless given
 */
export function entraGroup(displayName, externalId = "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159") {
  return {
    schemas: [GROUP_SCHEMA, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
    externalId,
    displayName,
    meta: { resourceType: "Group" },
  };
}
