import { describe, expect, it } from "vitest";
import { admin, ADMIN_TOKEN, call, fetchWithEnv, newIntegration, ORIGIN, scim } from "../../support/helpers";

const TEST_CONNECTION = `/Users?filter=${encodeURIComponent('userName eq "2b9a4d7c-9f4e-4c62-8d8e-0d1f3e5a7b9c"')}`;

function expectScimError(res: { status: number; headers: Headers; json: Record<string, unknown> }, status: number) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/scim+json");
  expect(res.json.schemas).toEqual(["urn:ietf:params:scim:api:messages:2.0:Error"]);
  expect(res.json.status).toBe(String(status));
  expect(typeof res.json.detail).toBe("string");
}

describe("SCIM gate", () => {
  it("passes Entra's Test Connection: 200 with an empty ListResponse", async () => {
    const integration = await newIntegration();
    const res = await scim(integration, "GET", TEST_CONNECTION);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/scim+json");
    expect(res.json).toEqual({
      schemas: ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
      totalResults: 0,
      startIndex: 1,
      itemsPerPage: 0,
      Resources: [],
    });
  });

  it("answers Entra's group lookup with excludedAttributes=members", async () => {
    const integration = await newIntegration();
    const res = await scim(integration, "GET", "/Groups?excludedAttributes=members&filter=displayName+eq+%22Engineering%22");
    expect(res.status).toBe(200);
    expect(res.json.totalResults).toBe(0);
  });

  it("rejects a missing token with 401, WWW-Authenticate: Bearer and a SCIM error", async () => {
    const integration = await newIntegration();
    const res = await call("GET", `${integration.scimPath}${TEST_CONNECTION}`);
    expectScimError(res, 401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });

  it("rejects a token with one character changed", async () => {
    const integration = await newIntegration();
    const last = integration.token.at(-1)!;
    const tampered = integration.token.slice(0, -1) + (last === "A" ? "B" : "A");
    const res = await call("GET", `${integration.scimPath}${TEST_CONNECTION}`, { token: tampered });
    expectScimError(res, 401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });

  it("rejects another integration's token, in the same tenant or another", async () => {
    const a = await newIntegration();
    const sameTenant = await newIntegration(a.tenant);
    const otherTenant = await newIntegration();
    for (const token of [sameTenant.token, otherTenant.token]) {
      expectScimError(await call("GET", `${a.scimPath}${TEST_CONNECTION}`, { token }), 401);
    }
    // A valid token on a path naming another tenant is refused too.
    const forged = a.scimPath.replace(`/${a.tenant}/`, `/${otherTenant.tenant}/`);
    expectScimError(await call("GET", `${forged}${TEST_CONNECTION}`, { token: a.token }), 401);
  });

  it("rejects the admin token", async () => {
    const integration = await newIntegration();
    expectScimError(await call("GET", `${integration.scimPath}${TEST_CONNECTION}`, { token: ADMIN_TOKEN }), 401);
  });

  it("answers 403 for a disabled integration, and serves again once enabled", async () => {
    const integration = await newIntegration(undefined, { enabled: false });
    const res = await scim(integration, "GET", TEST_CONNECTION);
    expectScimError(res, 403);
    expect(res.json.detail).toMatch(/disabled/);
    await admin("PATCH", `/${integration.tenant}/integrations/${integration.id}`, { enabled: true });
    expect((await scim(integration, "GET", TEST_CONNECTION)).status).toBe(200);
  });

  it("stops accepting a rotated token on the next request", async () => {
    const integration = await newIntegration();
    const rotated = await admin("POST", `/${integration.tenant}/integrations/${integration.id}/token`);
    expectScimError(await scim(integration, "GET", TEST_CONNECTION), 401);
    expect((await scim({ ...integration, token: rotated.json.secretToken }, "GET", TEST_CONNECTION)).status).toBe(200);
  });

  it("rejects the token of a deleted integration", async () => {
    const integration = await newIntegration();
    await admin("DELETE", `/${integration.tenant}/integrations/${integration.id}`);
    expectScimError(await scim(integration, "GET", TEST_CONNECTION), 401);
  });

  it("says multi-tenancy must be enabled when TENANTS_ENABLED is false", async () => {
    const integration = await newIntegration();
    const response = await fetchWithEnv(
      new Request(`${ORIGIN}${integration.scimPath}${TEST_CONNECTION}`, { headers: { Authorization: `Bearer ${integration.token}` } }),
      { TENANTS_ENABLED: "false" },
    );
    const body = (await response.json()) as Record<string, unknown>;
    expectScimError({ status: response.status, headers: response.headers, json: body }, 403);
    expect(body.detail).toMatch(/multi-tenancy/);
    // It names this service's own setting, not another product's configuration key.
    expect(body.detail).toContain("TENANTS_ENABLED");
    expect(body.detail).not.toMatch(/kestra/i);
  });

  it("answers unknown SCIM paths with a SCIM 404, after authentication", async () => {
    const integration = await newIntegration();
    expectScimError(await scim(integration, "GET", "/Nope"), 404);
    expectScimError(await call("GET", `${integration.scimPath}/Nope`), 401);
  });

  it("ignores unknown query parameters such as aadOptscim062020", async () => {
    const integration = await newIntegration();
    expect((await scim(integration, "GET", `${TEST_CONNECTION}&aadOptscim062020`)).status).toBe(200);
  });
});

describe("SCIM discovery", () => {
  it("describes the service provider truthfully", async () => {
    const integration = await newIntegration();
    const res = await scim(integration, "GET", "/ServiceProviderConfig");
    expect(res.status).toBe(200);
    expect(res.json.schemas).toEqual(["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]);
    expect(res.json.filter).toEqual({ supported: true, maxResults: 200 });
    expect(res.json.bulk).toEqual({ supported: true, maxOperations: 100, maxPayloadSize: 1_048_576 });
    expect(res.json.authenticationSchemes[0].type).toBe("oauthbearertoken");
    expect(res.json.meta.location).toBe(`${integration.endpoint}/ServiceProviderConfig`);
  });

  it("lists User (with the enterprise extension) and Group resource types", async () => {
    const integration = await newIntegration();
    const res = await scim(integration, "GET", "/ResourceTypes");
    expect(res.json.totalResults).toBe(2);
    const user = res.json.Resources.find((r: { id: string }) => r.id === "User");
    expect(user).toMatchObject({
      endpoint: "/Users",
      schema: "urn:ietf:params:scim:schemas:core:2.0:User",
      schemaExtensions: [{ schema: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", required: false }],
    });
    expect((await scim(integration, "GET", "/ResourceTypes/Group")).json.endpoint).toBe("/Groups");
    expect((await scim(integration, "GET", "/ResourceTypes/Device")).status).toBe(404);
  });

  it("serves the schemas, each with its attributes", async () => {
    const integration = await newIntegration();
    const res = await scim(integration, "GET", "/Schemas");
    expect(res.json.Resources.map((s: { id: string }) => s.id)).toEqual([
      "urn:ietf:params:scim:schemas:core:2.0:User",
      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
      "urn:ietf:params:scim:schemas:core:2.0:Group",
    ]);
    const user = await scim(integration, "GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User");
    expect(user.status).toBe(200);
    const userName = user.json.attributes.find((a: { name: string }) => a.name === "userName");
    expect(userName).toMatchObject({ type: "string", required: true, uniqueness: "server", caseExact: false });
    const password = user.json.attributes.find((a: { name: string }) => a.name === "password");
    expect(password).toMatchObject({ mutability: "writeOnly", returned: "never" });
    const enterprise = await scim(integration, "GET", "/Schemas/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User");
    const manager = enterprise.json.attributes.find((a: { name: string }) => a.name === "manager");
    expect(manager.subAttributes.map((a: { name: string }) => a.name)).toEqual(["value", "$ref", "displayName"]);
    expect((await scim(integration, "GET", "/Schemas/urn:x:y")).status).toBe(404);
    expect((await scim(integration, "GET", "/Schemas?filter=id+pr")).status).toBe(403);
  });

  it("needs a valid token", async () => {
    const integration = await newIntegration();
    expectScimError(await call("GET", `${integration.scimPath}/ServiceProviderConfig`), 401);
  });
});
