/**
 * The Worker's Cron Trigger (wrangler.toml `[triggers]`), daily: the audit retention run, and
 * the gate's refusal counters past the longest activity window dropped.
 */
import { auditRetentionDays } from "./config";
import { createDb } from "./db/client";
import { DIRECTORY, isSharded, shardBinding, shardNames } from "./db/shards";
import { archiveAuditEvents } from "./iam/audit-archive";
import { pruneRefusals } from "./iam/integration-activity";
import { describeError } from "./observability";

/**
 * Archives audit events older than `AUDIT_RETENTION_DAYS` to `AUDIT_ARCHIVE` and logs one JSON
 * line per database with the outcome. A failure is logged and rethrown, so the Cron Trigger
 * shows it failed; the next run resumes where this one stopped.
 */
export async function scheduled(controller: ScheduledController, env: Env): Promise<void> {
  // Each database that holds tenants has its own events, counters and lease: one run each, so
  // a slow or failing shard holds up no other.
  const names = isSharded(env) ? [...shardNames(env), DIRECTORY] : [DIRECTORY];
  const failed = (await Promise.allSettled(names.map((shard) => runOn(controller, env, shard)))).find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

async function runOn(controller: ScheduledController, env: Env, shard: string): Promise<void> {
  const started = Date.now();
  const db = createDb(shardBinding(env, shard));
  // First and on its own: one bounded delete that the archive run's failure must not skip.
  await pruneRefusals(db, controller.scheduledTime).catch((err) =>
    console.error(JSON.stringify({ level: "error", job: "refusal-counters", shard, cron: controller.cron, error: describeError(err) })),
  );
  try {
    const report = await archiveAuditEvents(db, env.AUDIT_ARCHIVE, {
      retentionDays: auditRetentionDays(env),
      now: controller.scheduledTime,
    });
    console.log(JSON.stringify({ level: "info", job: "audit-archive", shard, cron: controller.cron, ms: Date.now() - started, ...report }));
  } catch (err) {
    console.error(JSON.stringify({ level: "error", job: "audit-archive", shard, cron: controller.cron, ms: Date.now() - started, error: describeError(err) }));
    throw err;
  }
}
