/**
 * Work that runs after the response (`waitUntil`): message delivery (services/outbox.ts `deliverSoon`), and lookups whose timing must not
 * show in the answer (a reset for an unknown email answers as fast as one for a known email).
 * Failures are logged with the request id and the error (never request data, codes or message bodies).
 */
import type { Context } from "hono";
import { dbErrorMessage } from "../db/rows";
import type { AppEnv } from "../types";
import { logger } from "./log";

/** Logs a failure of work the answer does not wait for, or does not fail for. */
const logFailure =
  <E extends AppEnv>(c: Context<E>, level: "error" | "warn", event: string) =>
  (err: unknown) =>
    logger(c.get("requestId"))[level](event, {
      error: err instanceof Error ? err.name : "Error",
      message: dbErrorMessage(err),
    });

export function afterResponse<E extends AppEnv>(c: Context<E>, work: () => Promise<unknown>): void {
  const task = work().catch(logFailure(c, "error", "background_failed"));
  try {
    c.executionCtx.waitUntil(task);
  } catch {
    // No execution context (app.request in tests): the task runs all the same, unawaited.
  }
}

/**
 * Work a response waits for but does not fail for (a profile snapshot's rewrite after the write it follows
 * succeeded): a failure is logged like a background task's.
 */
export async function bestEffort<E extends AppEnv>(
  c: Context<E>,
  work: () => Promise<unknown>,
): Promise<void> {
  await work().catch(logFailure(c, "warn", "best_effort_failed"));
}
