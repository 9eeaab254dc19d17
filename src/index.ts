/**
 * Worker entry: the HTTP app, the scheduled handler (outbox retries, audit retention), and the care-record
 * Durable Object.
 */
import { app } from "./app";
import { dbErrorMessage } from "./db/rows";
import { logger } from "./lib/log";
import { handleTestClock, testClockEnabled } from "./lib/test-clock";
import { pruneAudit } from "./services/audit";
import { sweepFiles } from "./services/files";
import { resealSecrets } from "./services/mfa";
import { deliverBacklog } from "./services/outbox";
import { pruneCareLive, sweepRevoked } from "./services/sessions";
import type { Bindings } from "./types";

export { CareRecord } from "./durable-objects/care-record";

/**
 * One cron run: retry due messages, prune the audit log past each clinic's retention, seal MFA secrets
 * still sealed with a previous key with the current one, delete the KV tokens of revoked sessions
 * not cleared yet (a disabled clinic's), delete uploaded files that have been nobody's photo for a day,
 * and forget which care records expired sessions had sockets on.
 */
export async function scheduledRun(env: Bindings, runId = `cron-${crypto.randomUUID()}`): Promise<void> {
  const log = logger(runId);
  const [delivery, pruned, resealed, swept, files, live] = await Promise.allSettled([
    deliverBacklog(env, 5, 50, runId),
    pruneAudit(env),
    resealSecrets(env),
    sweepRevoked(env),
    sweepFiles(env),
    pruneCareLive(env),
  ]);
  for (const [task, result] of [
    ["outbox", delivery],
    ["audit_retention", pruned],
    ["mfa_reseal", resealed],
    ["revoked_sweep", swept],
    ["file_sweep", files],
    ["care_live_prune", live],
  ] as const) {
    if (result.status === "rejected") {
      log.error("cron_failed", { task, message: dbErrorMessage(result.reason) });
    }
  }
  if (pruned.status === "fulfilled" && pruned.value > 0) log.info("audit_pruned", { rows: pruned.value });
  if (swept.status === "fulfilled" && swept.value > 0) log.info("revoked_swept", { sessions: swept.value });
  if (files.status === "fulfilled" && files.value > 0) log.info("files_swept", { files: files.value });
  if (resealed.status === "fulfilled" && resealed.value.resealed + resealed.value.unopened > 0) {
    log.info("mfa_resealed", resealed.value);
  }
}

export default {
  fetch(req, env, ctx) {
    // Browser tests only (ALLOW_TEST_CLOCK=1 on a loopback host; never in production): see lib/test-clock.ts.
    if (testClockEnabled(env, req)) return handleTestClock(req);
    return app.fetch(req, env, ctx);
  },
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(scheduledRun(env));
  },
} satisfies ExportedHandler<Bindings>;
