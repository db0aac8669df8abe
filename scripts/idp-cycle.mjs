// Drives an Entra ID provisioning cycle, then Okta's SCIM spec-test steps, against a running
// scim-edge over HTTP, and checks every answer. Useful after `npm start` (or against a
// deployment) to see the product work as the identity providers use it:
//
//   ADMIN_TOKEN=... node scripts/idp-cycle.mjs [base-url]      (default http://localhost:8787)
//
// It creates a fresh tenant and integration, then runs Test Connection, matching, user and group
// creation, both Entra PATCH dialects, manager, deprovisioning and deletion, then Okta's steps
// (PUT profile updates, path-less replace, group push), and prints one line a step.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
// The documents the conformance tests send too (test/scim/conformance), written once.
import {
  ENTERPRISE,
  PATCH,
  USER_SCHEMA,
  entraGroup,
  oktaAddMembers,
  oktaGroup,
  oktaRenameGroup,
  oktaSetActive,
  oktaUser,
} from "../test/support/idp-payloads.mjs";

const base = (process.argv[2] ?? "http://localhost:8787").replace(/\/+$/, "");
const adminToken =
  process.env.ADMIN_TOKEN ?? /^ADMIN_TOKEN=(.*)$/m.exec(readFileSync(new URL("../.dev.vars", import.meta.url), "utf8"))?.[1];
if (!adminToken) throw new Error("set ADMIN_TOKEN (or run from the project folder with a .dev.vars)");

let failures = 0;

/**
 * @param {string} method @param {string} url @param {string} token @param {unknown} [body] @param
 * {Record<string,string>} [headers]
 */
async function http(method, url, token, body, headers = {}) {
  const response = await fetch(url, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/scim+json" } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  /** @type {any} */
  let json = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch {}
  return { status: response.status, json, headers: response.headers };
}

/** @param {string} name @param {boolean} ok @param {string} [detail] */
function check(name, ok, detail = "") {
  if (!ok) failures++;
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail ? `: ${detail}` : ""}`);
}

const tenant = `cycle-${Date.now().toString(36)}`;
await http("POST", `${base}/api/v1/tenants`, adminToken, { id: tenant });
const integration = (await http("POST", `${base}/api/v1/${tenant}/integrations`, adminToken, { name: "Entra cycle" })).json;
const scim = integration.endpoint;
const token = integration.secretToken;
check("integration created", Boolean(scim && token), scim);

const tc = await http("GET", `${scim}/Users?filter=${encodeURIComponent(`userName eq "${randomUUID()}"`)}`, token);
check("Test Connection: 200 and an empty list", tc.status === 200 && tc.json.totalResults === 0);

const upn = `adele.vance.${Date.now().toString(36)}@contoso.com`;
const match = await http("GET", `${scim}/Users?filter=userName+eq+%22${encodeURIComponent(upn)}%22`, token);
check("matching before create finds nothing", match.json.totalResults === 0);

const user = await http("POST", `${scim}/Users`, token, {
  schemas: [USER_SCHEMA, ENTERPRISE],
  externalId: randomUUID(),
  userName: upn,
  active: true,
  displayName: "Adele Vance",
  emails: [{ primary: true, type: "work", value: upn }],
  meta: { resourceType: "User" },
  name: { formatted: "Adele Vance", familyName: "Vance", givenName: "Adele" },
  roles: [],
  title: null,
  [ENTERPRISE]: { department: "Retail", employeeNumber: "1001" },
});
check("create user: 201 with id and Location", user.status === 201 && Boolean(user.json.id) && Boolean(user.headers.get("location")));
const boss = await http("POST", `${scim}/Users`, token, { userName: `boss.${upn}`, active: true }, { "Content-Type": "application/json; charset=utf-8" });
check("create manager with application/json", boss.status === 201);
const duplicate = await http("POST", `${scim}/Users`, token, { userName: upn.toUpperCase() });
check("duplicate create: 409 uniqueness", duplicate.status === 409 && duplicate.json.scimType === "uniqueness");

const flagged = await http("PATCH", `${scim}/Users/${user.json.id}?aadOptscim062020`, token, {
  schemas: [PATCH],
  Operations: [{ op: "replace", value: { "name.givenName": "Adèle", [`${ENTERPRISE}:department`]: "Sales" } }],
});
check("PATCH, flag dialect (dotted and URN keys)", flagged.status === 200 && flagged.json.name.givenName === "Adèle" && flagged.json[ENTERPRISE].department === "Sales");
const legacy = await http("PATCH", `${scim}/Users/${user.json.id}`, token, {
  schemas: [PATCH],
  Operations: [
    { op: "Replace", path: 'emails[type eq "work"].value', value: `new.${upn}` },
    { op: "Add", path: "manager", value: [{ $ref: null, value: boss.json.id }] },
  ],
});
check("PATCH, default dialect (filtered path, manager)", legacy.status === 200 && legacy.json[ENTERPRISE].manager?.value === boss.json.id);
const managerCheck = await http("GET", `${scim}/Users?filter=${encodeURIComponent(`id eq "${user.json.id}" and manager eq "${boss.json.id}"`)}`, token);
check("manager check filter", managerCheck.json.totalResults === 1);

const groupName = `Sales ${Date.now().toString(36)}`;
const groupMatch = await http("GET", `${scim}/Groups?excludedAttributes=members&filter=${encodeURIComponent(`displayName eq "${groupName}"`)}`, token);
check("group matching finds nothing", groupMatch.json.totalResults === 0);
const group = await http("POST", `${scim}/Groups`, token, entraGroup(groupName, randomUUID()));
check("create group: 201", group.status === 201);
const add = await http("PATCH", `${scim}/Groups/${group.json.id}`, token, {
  schemas: [PATCH],
  Operations: [{ op: "Add", path: "members", value: [{ $ref: null, value: user.json.id }, { $ref: null, value: boss.json.id }] }],
});
check("add two members in one PATCH: 204", add.status === 204);
const removeOne = await http("PATCH", `${scim}/Groups/${group.json.id}`, token, {
  schemas: [PATCH],
  Operations: [{ op: "Remove", path: "members", value: [{ value: boss.json.id }] }],
});
const afterRemove = await http("GET", `${scim}/Groups/${group.json.id}`, token);
check(
  "remove one member keeps the other",
  removeOne.status === 204 && afterRemove.json.members?.length === 1 && afterRemove.json.members[0].value === user.json.id,
);

const disabled = await http("PATCH", `${scim}/Users/${user.json.id}`, token, {
  schemas: [PATCH],
  Operations: [{ op: "Replace", path: "active", value: "False" }],
});
const stillMember = await http("GET", `${scim}/Groups/${group.json.id}`, token);
check("disable with \"False\": readable, inactive, still a member", disabled.json.active === false && stillMember.json.members?.length === 1);

const deleted = await http("DELETE", `${scim}/Users/${user.json.id}`, token);
const gone = await http("GET", `${scim}/Users/${user.json.id}`, token);
check("hard delete: 204, then 404", deleted.status === 204 && gone.status === 404);
const global = await http("GET", `${base}/api/v1/users/${user.json.id}`, adminToken);
check("the global user stays (admin view)", global.status === 200 && global.json.tenants.length === 0);

const badFilter = await http("GET", `${scim}/Users?filter=${encodeURIComponent("userName eq")}`, token);
check("bad filter: 400 invalidFilter", badFilter.status === 400 && badFilter.json.scimType === "invalidFilter");

// ---- Okta: the SCIM 2.0 spec-test steps and group push ----------------------------------------
const login = `okta.${Date.now().toString(36)}@atko.com`;
const oktaList = await http("GET", `${scim}/Users?count=1&startIndex=1`, token);
check("okta: list with count and startIndex", oktaList.status === 200 && oktaList.json.itemsPerPage <= 1 && oktaList.json.startIndex === 1);
const oktaMissing = await http("GET", `${scim}/Users/010101001010101`, token);
check("okta: unknown id is a 404 SCIM error", oktaMissing.status === 404 && oktaMissing.json.schemas?.[0]?.endsWith(":Error"));
const oktaCreated = await http("POST", `${scim}/Users`, token, oktaUser(login));
check("okta: create", oktaCreated.status === 201 && oktaCreated.json.password === undefined);
const oktaAgain = await http("POST", `${scim}/Users`, token, oktaUser(login));
check("okta: recreate is 409", oktaAgain.status === 409);
const oktaUpper = await http("GET", `${scim}/Users?filter=${encodeURIComponent(`userName eq "${login.toUpperCase()}"`)}`, token);
check("okta: userName is case-insensitive", oktaUpper.json.totalResults === 1);
const oktaPut = await http("PUT", `${scim}/Users/${oktaCreated.json.id}`, token, { ...oktaUser(login), name: { givenName: "Another", familyName: "Tester" } });
check("okta: PUT profile update", oktaPut.status === 200 && oktaPut.json.name.givenName === "Another");
const oktaOff = await http("PATCH", `${scim}/Users/${oktaCreated.json.id}`, token, oktaSetActive(false));
check("okta: deactivate with path-less replace", oktaOff.status === 200 && oktaOff.json.active === false);
const pushed = await http("POST", `${scim}/Groups`, token, oktaGroup(`Okta ${login}`));
const oktaRename = await http("PATCH", `${scim}/Groups/${pushed.json.id}`, token, oktaRenameGroup(pushed.json.id, `Okta renamed ${login}`));
const oktaAdd = await http("PATCH", `${scim}/Groups/${pushed.json.id}`, token, oktaAddMembers([{ value: oktaCreated.json.id, display: login }]));
const oktaGroupRead = await http("GET", `${scim}/Groups/${pushed.json.id}`, token);
check(
  "okta: group push (create, rename, add member)",
  pushed.status === 201 && oktaRename.status === 204 && oktaAdd.status === 204 && oktaGroupRead.json.members?.length === 1,
);
const oktaGroupDelete = await http("DELETE", `${scim}/Groups/${pushed.json.id}`, token);
check("okta: delete group", oktaGroupDelete.status === 204);

await http("DELETE", `${base}/api/v1/${tenant}/integrations/${integration.id}`, adminToken);
const afterDelete = await http("GET", `${scim}/Users`, token);
check("deleted integration: its token is refused", afterDelete.status === 401);

console.log(failures === 0 ? "\nall steps passed" : `\n${failures} step(s) failed`);
process.exit(failures === 0 ? 0 : 1);
