/**
 * The first, per-location line against abuse: the Workers Rate Limiting binding, keyed by client IP and
 * route group. (The consistent per-identity lockout is services/lockout.ts.) The limits themselves are
 * the bindings' (wrangler.toml: CREDENTIALS_LIMITER 30, MESSAGES_LIMITER 10 and LOOKUP_LIMITER 10 requests
 * a minute per key); SECURITY.md lists which route counts where.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { ApiError } from "../lib/errors";
import type { AppEnv } from "../types";

export type LimiterName = "CREDENTIALS_LIMITER" | "MESSAGES_LIMITER" | "LOOKUP_LIMITER";

export function clientIp(req: { header(name: string): string | undefined }): string {
  return req.header("cf-connecting-ip") ?? req.header("x-real-ip") ?? "unknown";
}

/** Counts one request of `group` for the client; throws 429 (with Retry-After) over the limit. */
export async function checkRateLimit<E extends AppEnv>(
  c: Context<E>,
  limiter: LimiterName,
  group: string,
): Promise<void> {
  const { success } = await c.env[limiter].limit({ key: `${group}:${clientIp(c.req)}` });
  if (!success) throw new ApiError("rate_limited", { headers: { "Retry-After": "60" } });
}

export const rateLimit = (limiter: LimiterName, group: string) =>
  createMiddleware<AppEnv>(async (c, next) => {
    await checkRateLimit(c, limiter, group);
    await next();
  });

/**
 * The routes whose answer tells whether an email or mobile number has an account (the seeds need them:
 * SECURITY.md "Who can learn that an identity exists") share one group per client, so that a client
 * learns at most LOOKUP_LIMITER's limit of such answers a minute, whichever of them it asks.
 */
export const IDENTITY_LOOKUP = "identity-lookup";

export function countIdentityLookup<E extends AppEnv>(c: Context<E>): Promise<void> {
  return checkRateLimit(c, "LOOKUP_LIMITER", IDENTITY_LOOKUP);
}

/**
 * Counts a wrong credential (an API key, the admin key) for the client, so that a client that keeps
 * guessing gets 429 instead of 401. Only failures count: a clinic's servers calling with the right key
 * are never limited here.
 */
export function countFailedCredential<E extends AppEnv>(c: Context<E>, group: string): Promise<void> {
  return checkRateLimit(c, "CREDENTIALS_LIMITER", `${group}-failures`);
}
