/**
 * Caller authentication for the /api_v3 family: a user's access token (`X-ApiToken` or
 * `Authorization: Bearer`), or, on the routes that allow it, the clinic's API key (`X-AccountCode` +
 * `X-ApiKey`). A token belongs to one clinic: an `X-AccountCode` naming another clinic is refused.
 */
import { createMiddleware } from "hono/factory";
import { ApiError } from "../lib/errors";
import { type AccessRecord, resolveAccess } from "../services/sessions";
import type { AppEnv, Caller } from "../types";
import { requireApiKey } from "./tenant";

export function presentedToken(req: { header(name: string): string | undefined }): string | undefined {
  const direct = req.header("x-apitoken")?.trim();
  if (direct) return direct;
  const m = /^Bearer\s+(\S+)$/i.exec(req.header("authorization") ?? "");
  return m?.[1];
}

/** The caller an access token names (its KV record). */
export function callerOf(record: AccessRecord & { hash: string }): Caller {
  return {
    userId: record.u,
    clinicId: record.c,
    clinicCode: record.cc,
    type: record.t,
    roles: record.r,
    sessionId: record.s,
    tokenHash: record.hash,
    heartbeat: record.h ?? 300,
    expiresAt: record.e,
    ...(record.m ? { via: record.m } : {}),
    ...(record.g ? { group: record.g } : {}),
  };
}

export const ADMIN_TYPES = new Set([100, 150]);
export const PROVIDER_TYPE = 400;

export function isClinicAdmin(caller: Pick<Caller, "type" | "roles">): boolean {
  return ADMIN_TYPES.has(caller.type) || caller.roles.includes("clinic_admin");
}

/** Requires a user token; with `apiKey: true` the clinic's API key is accepted instead. */
export const vseeAuth = (options: { apiKey?: boolean } = {}) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const token = presentedToken(c.req);
    if (!token) {
      if (options.apiKey && c.req.header("x-apikey")) return requireApiKey(c, next);
      throw new ApiError("unauthorized", {
        message: options.apiKey
          ? "An access token or the account's API key is required"
          : "An access token is required",
      });
    }
    const record = await resolveAccess(c.env, token);
    const code = c.req.header("x-accountcode")?.trim();
    if (!record || (code && code !== record.cc)) throw new ApiError("invalid_token");
    c.set("caller", callerOf(record));
    await next();
  });
