/**
 * The first, per-location line against abuse: the Workers Rate Limiting binding, keyed by client IP and
 * route group. (The consistent per-identity lockout is services/lockout.ts.)
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { ApiError } from "../lib/errors";
import type { AppEnv } from "../types";

export type LimiterName = "CREDENTIALS_LIMITER" | "MESSAGES_LIMITER";

export function clientIp(req: { header(name: string): string | undefined }): string {
  return req.header("cf-connecting-ip") ?? req.header("x-real-ip") ?? "unknown";
}

/** Counts one request of `group` for the client; throws 429 (with Retry-After) over the limit. */
export async function checkRateLimit(c: Context<AppEnv>, limiter: LimiterName, group: string): Promise<void> {
  const { success } = await c.env[limiter].limit({ key: `${group}:${clientIp(c.req)}` });
  if (!success) throw new ApiError("rate_limited", { headers: { "Retry-After": "60" } });
}

export const rateLimit = (limiter: LimiterName, group: string) =>
  createMiddleware<AppEnv>(async (c, next) => {
    await checkRateLimit(c, limiter, group);
    await next();
  });
