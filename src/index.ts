/**
 * Worker entry: the HTTP app, the scheduled handler (outbox retries, audit retention), and the care-record
 * Durable Object.
 */
import { app } from "./app";
import { dbErrorMessage } from "./db/rows";
import { logger } from "./lib/log";
import { pruneAudit } from "./services/audit";
import { deliverBacklog } from "./services/outbox";
import type { Bindings } from "./types";

export { CareRecord } from "./durable-objects/care-record";

/** One cron run: retry due messages, prune the audit log past each clinic's retention. */
export async function scheduledRun(env: Bindings, runId = `cron-${crypto.randomUUID()}`): Promise<void> {
  const log = logger(runId);
  const [delivery, pruned] = await Promise.allSettled([deliverBacklog(env, 5, 50, runId), pruneAudit(env)]);
  for (const [task, result] of [
    ["outbox", delivery],
    ["audit_retention", pruned],
  ] as const) {
    if (result.status === "rejected") {
      log.error("cron_failed", { task, message: dbErrorMessage(result.reason) });
    }
  }
  if (pruned.status === "fulfilled" && pruned.value > 0) log.info("audit_pruned", { rows: pruned.value });
}

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(scheduledRun(env));
  },
} satisfies ExportedHandler<Bindings>;
