/**
 * Exports are safe to open: CSV cells neutralised as OWASP advises, refused writes' rows bounded
 * whatever path a client sends, and an export from a year before 1000 still reading the archive.
 */
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client";
import { auditEvents } from "../../src/db/schema";
import { AUDIT_LIMITS, excerpt } from "../../src/iam/audit";
import { archiveAuditEvents, dayPrefix } from "../../src/iam/audit-archive";
import { csvField, exportAuditEvents } from "../../src/iam/audit-export";
import { call, newIntegration, newTenant, scim } from "../support/helpers";

const db = createDb(env.DB);
const DAY = 86_400_000;

/** A UUIDv7 of the given millisecond, as the service would have made it then (archive keys hold id ranges). */
function idAt(ms: number): string {
  const hex = ms.toString(16).padStart(12, "0") + Array.from(crypto.getRandomValues(new Uint8Array(10)), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

describe("a CSV cell", () => {
  it("that starts with a formula character is prefixed with ' and quoted", () => {
    expect(csvField("=1+1")).toBe(`"'=1+1"`);
    expect(csvField("+1")).toBe(`"'+1"`);
    expect(csvField("-1")).toBe(`"'-1"`);
    expect(csvField("@SUM(A1)")).toBe(`"'@SUM(A1)"`);
    expect(csvField("  =1+1")).toBe(`"'  =1+1"`);
    expect(csvField("\t=1")).toBe(`"'\t=1"`);
    expect(csvField("\r=1")).toBe(`"'\r=1"`);
    expect(csvField("\n=1")).toBe(`"'\n=1"`);
  });

  it("with a formula character after any separator or quote is prefixed and quoted", () => {
    for (const separator of [",", ";", "\t", "|", "\r", "\n", '"', "'"]) {
      for (const start of ["=", "+", "-", "@"]) {
        const text = `ok${separator}${start}cmd|' /C calc'!A0`;
        expect(csvField(text), JSON.stringify(text)).toBe(`"'${text.replaceAll('"', '""')}"`);
      }
    }
    expect(csvField("a; =HYPERLINK(1)")).toBe(`"'a; =HYPERLINK(1)"`);
    // Inside a JSON diff too.
    expect(csvField({ after: "=cmd" })).toBe(`"'{""after"":""=cmd""}"`);
  });

  it("that holds a separator is quoted, so a reader splitting on another one still sees one cell", () => {
    expect(csvField("a;b")).toBe(`"a;b"`);
    expect(csvField("a\tb")).toBe(`"a\tb"`);
    expect(csvField("a|b")).toBe(`"a|b"`);
    expect(csvField("a\r\nb")).toBe(`"a\r\nb"`);
    expect(csvField("a,b")).toBe(`"a,b"`);
    expect(csvField('say "hi"')).toBe(`"say ""hi"""`);
  });

  it("that is plain text or a number is left as it is", () => {
    expect(csvField("user@example.com")).toBe("user@example.com");
    expect(csvField("a-b=c")).toBe("a-b=c");
    expect(csvField(-1)).toBe("-1");
    expect(csvField(null)).toBe("");
  });

  it("arrives neutralised in the export", async () => {
    const tenant = await newTenant("csv");
    await db.insert(auditEvents).values({
      id: idAt(Date.now()),
      tenantId: tenant,
      actorType: "ADMIN",
      action: "UPDATE",
      resourceType: "USER",
      resourceId: "x;=cmd",
      outcome: "FAILURE",
      detail: "refused\t@SUM(1)",
      createdAt: Date.now(),
    });
    const csv = await call("GET", `/api/v1/${tenant}/audit-logs/export?format=csv&resourceType=USER`, { token: env.ADMIN_TOKEN });
    const row = csv.text.trimEnd().split("\r\n")[1]!;
    expect(row).toContain(`,"'x;=cmd",`);
    expect(row).toContain(`,"'refused\t@SUM(1)",`);
  });
});

describe("a refused write's audit row", () => {
  it("keeps a bounded excerpt of the path and detail, marked as cut", async () => {
    const i = await newIntegration();
    const huge = "x".repeat(100_000);
    expect((await scim(i, "DELETE", `/Users/${huge}`)).status).toBe(404);
    expect((await scim(i, "PATCH", `/Users/${huge}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", path: "title", value: "y" }] })).status).toBe(404);
    // /Bulk: nearly 1 MiB of path in one operation.
    const bulkPath = `/Users/${"b".repeat(1_000_000)}`;
    const bulk = await scim(i, "POST", "/Bulk", { schemas: ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], Operations: [{ method: "DELETE", path: bulkPath }] });
    expect(bulk.status).toBe(200);
    const rows = await db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.tenantId, i.tenant), eq(auditEvents.outcome, "FAILURE")));
    expect(rows.length).toBe(3);
    for (const row of rows) {
      expect(row.resourceId!.length).toBeLessThanOrEqual(AUDIT_LIMITS.resourceIdChars + 40);
      expect(row.resourceId).toMatch(/…\[\d+ more characters\]$/);
      expect(row.detail!.length).toBeLessThanOrEqual(AUDIT_LIMITS.detailChars + 40);
      expect(JSON.stringify(row).length).toBeLessThan(4_096);
    }
  });

  it("excerpts never split a character and say how much is missing", () => {
    expect(excerpt("short", 10)).toBe("short");
    expect(excerpt("abcdef", 3)).toBe("abc…[3 more characters]");
    // "😀" is two UTF-16 units: cutting inside it keeps neither half.
    expect(excerpt("a😀b", 2)).toBe("a…[3 more characters]");
  });
});

describe("an export from a year before 1000", () => {
  it("still reads the archive, and so does one to a year past 9999", async () => {
    const tenant = await newTenant("y999");
    const start = Date.now() - 200 * DAY;
    const rows = [0, 1].map((n) => ({
      id: idAt(start + n * DAY),
      tenantId: tenant,
      actorType: "ADMIN" as const,
      action: "CREATE",
      resourceType: "USER",
      resourceId: `old-${n}`,
      outcome: "SUCCESS" as const,
      createdAt: start + n * DAY,
    }));
    await db.insert(auditEvents).values(rows);
    await archiveAuditEvents(db, env.AUDIT_ARCHIVE, { retentionDays: 90 });
    expect((await db.select().from(auditEvents).where(eq(auditEvents.tenantId, tenant))).filter((r) => r.resourceId?.startsWith("old-"))).toEqual([]);

    const res = await call("GET", `/api/v1/${tenant}/audit-logs/export?from=0999-01-01T00:00:00Z`, { token: env.ADMIN_TOKEN });
    expect(res.status).toBe(200);
    const ids = res.text.split("\n").filter(Boolean).map((l) => JSON.parse(l).resourceId);
    expect(ids).toEqual(expect.arrayContaining(["old-0", "old-1"]));

    const far: string[] = [];
    for await (const event of exportAuditEvents(db, env.AUDIT_ARCHIVE, tenant, { from: Date.UTC(500, 0, 1), to: Date.UTC(12_000, 0, 1) })) far.push(event.resourceId ?? "");
    expect(far).toEqual(expect.arrayContaining(["old-0", "old-1"]));
  });

  it("keys sort as the days they name", () => {
    expect(dayPrefix("t", Date.UTC(999, 0, 2))).toBe("audit/t/0999/01/02/");
    expect(dayPrefix("t", Date.UTC(2026, 10, 29))).toBe("audit/t/2026/11/29/");
    expect(dayPrefix("t", Date.UTC(12_000, 0, 1))).toBe("audit/t/9999/12/31/");
    expect(dayPrefix("t", Date.UTC(-50, 0, 1))).toBe("audit/t/0000/01/01/");
    expect(dayPrefix("t", Date.UTC(999, 0, 2)) < dayPrefix("t", Date.UTC(2026, 0, 1))).toBe(true);
  });
});
