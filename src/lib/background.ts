/**
 * Work that runs after the response (`waitUntil`): message delivery, and lookups whose timing must not
 * show in the answer (a reset for an unknown email answers as fast as one for a known email).
 * Failures are logged with the request id and the error (never request data, codes or message bodies).
 */
import type { Context } from "hono";
import { dbErrorMessage } from "../db/rows";
import { deliverDue } from "../services/outbox";
import type { AppEnv } from "../types";
import { logger } from "./log";

export function afterResponse<E extends AppEnv>(c: Context<E>, work: () => Promise<unknown>): void {
  const task = work().catch((err) =>
    logger(c.get("requestId")).error("background_failed", {
      error: err instanceof Error ? err.name : "Error",
      message: dbErrorMessage(err),
    }),
  );
  try {
    c.executionCtx.waitUntil(task);
  } catch {
    // No execution context (app.request in tests): the task runs all the same, unawaited.
  }
}

/** The first delivery attempt of the messages a request queued, right after its response. */
export function deliverSoon<E extends AppEnv>(c: Context<E>, ids: number[]): void {
  if (ids.length > 0)
    afterResponse(c, () => deliverDue(c.env, { ids, limit: ids.length, requestId: c.get("requestId") }));
}
