/**
 * Caller authentication for the /api_v3 family: a user's access token (`X-ApiToken` or
 * `Authorization: Bearer`), or, on the routes that allow it, the clinic's API key (`X-AccountCode` +
 * `X-ApiKey`) or the portal's session cookie (with its CSRF token in `X-CSRF-Token`). A token belongs to
 * one clinic: an `X-AccountCode` naming another clinic is refused.
 */
import { createMiddleware } from "hono/factory";
import { bearerToken } from "../lib/bearer";
import { CSRF_HEADER, sameOrigin, verifySessionCsrf } from "../lib/csrf";
import { ApiError } from "../lib/errors";
import { callerOf, resolveAccess } from "../services/sessions";
import type { AppEnv, Caller } from "../types";
import { cookieCaller, hasSessionCookie } from "./portal-session";
import { requireApiKey } from "./tenant";

export function presentedToken(req: { header(name: string): string | undefined }): string | undefined {
  const direct = req.header("x-apitoken")?.trim();
  if (direct) return direct;
  return bearerToken(req);
}

export const ADMIN_TYPES = new Set([100, 150]);
export const PROVIDER_TYPE = 400;

export function isClinicAdmin(caller: Pick<Caller, "type" | "roles">): boolean {
  return ADMIN_TYPES.has(caller.type) || caller.roles.includes("clinic_admin");
}

/**
 * Requires a user token; with `apiKey: true` the clinic's API key is accepted instead, with `cookie: true`
 * the portal's session cookie (pages' scripts cannot read the HttpOnly cookie to send it as a token). A
 * cookie is ambient authority, so it only counts with the session's CSRF token in `X-CSRF-Token` and
 * without a cross-site `Origin`; a request that sends a token header is judged by the token alone.
 */
export const vseeAuth = (options: { apiKey?: boolean; cookie?: boolean } = {}) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const token = presentedToken(c.req);
    const code = c.req.header("x-accountcode")?.trim();
    if (!token) {
      if (options.apiKey && c.req.header("x-apikey")) return requireApiKey(c, next);
      if (options.cookie && hasSessionCookie(c)) {
        const caller = await cookieCaller(c);
        if (!caller || (code && code !== caller.clinicCode)) throw new ApiError("invalid_token");
        const csrf = c.req.header(CSRF_HEADER);
        if (!sameOrigin(c.req) || !(await verifySessionCsrf(c.env, caller.sessionId, csrf))) {
          throw new ApiError("csrf_header_required", { params: { header: CSRF_HEADER } });
        }
        c.set("caller", caller);
        return next();
      }
      throw new ApiError("unauthorized", {
        message: options.apiKey
          ? "An access token or the account's API key is required"
          : "An access token is required",
      });
    }
    const record = await resolveAccess(c.env, token);
    if (!record || (code && code !== record.clinicCode)) throw new ApiError("invalid_token");
    c.set("caller", callerOf(record));
    await next();
  });
