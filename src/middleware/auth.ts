/**
 * Caller authentication for the /api_v3 family: a user's access token (`X-ApiToken` or
 * `Authorization: Bearer`), or, on the routes that allow it, the clinic's API key (`X-AccountCode` +
 * `X-ApiKey`) or the portal's session cookie (with its CSRF token in `X-CSRF-Token`). A token belongs to
 * one clinic: an `X-AccountCode` naming another clinic is refused.
 */
import type { MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import { bearerToken } from "../lib/bearer";
import { CSRF_HEADER, sameOrigin, verifySessionCsrf } from "../lib/csrf";
import { ApiError } from "../lib/errors";
import { callerOf, resolveAccess } from "../services/sessions";
import type { AppEnvWith, Caller, Principal } from "../types";
import { cookieCaller, hasSessionCookie } from "./portal-session";
import { clinicOfApiKey } from "./tenant";

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

/** The clinic a principal acts in (its token's, or its API key's). */
export function tenantOf(principal: Principal): { clinicId: number; clinicCode: string } {
  return principal.kind === "api_key"
    ? { clinicId: principal.clinic.id, clinicCode: principal.clinic.code }
    : { clinicId: principal.caller.clinicId, clinicCode: principal.caller.clinicCode };
}

/** The signed-in user of a principal (none for the clinic's API key). */
export const userOf = (principal: Principal): Caller | undefined =>
  principal.kind === "user" ? principal.caller : undefined;

/**
 * Requires a user token; with `apiKey: true` the clinic's API key is accepted instead, with `cookie: true`
 * the portal's session cookie (pages' scripts cannot read the HttpOnly cookie to send it as a token). A
 * cookie is ambient authority, so it only counts with the session's CSRF token in `X-CSRF-Token` and
 * without a cross-site `Origin`; a request that sends a token header is judged by the token alone.
 * Sets `caller` (a user); with `apiKey: true`, `principal` (the user or the API key's clinic) instead.
 */
export function vseeAuth(options?: { cookie?: boolean }): MiddlewareHandler<AppEnvWith<{ caller: Caller }>>;
export function vseeAuth(options: { apiKey: true }): MiddlewareHandler<AppEnvWith<{ principal: Principal }>>;
export function vseeAuth(options: { apiKey?: boolean; cookie?: boolean } = {}): MiddlewareHandler {
  return createMiddleware<AppEnvWith<{ caller: Caller; principal: Principal }>>(async (c, next) => {
    const signedIn = (caller: Caller) => {
      c.set("caller", caller);
      c.set("principal", { kind: "user", caller });
      return next();
    };
    const token = presentedToken(c.req);
    const code = c.req.header("x-accountcode")?.trim();
    if (!token) {
      if (options.apiKey && c.req.header("x-apikey")) {
        const clinic = await clinicOfApiKey(c);
        c.set("clinic", clinic);
        c.set("apiKey", true);
        c.set("principal", { kind: "api_key", clinic });
        return next();
      }
      if (options.cookie && hasSessionCookie(c)) {
        const caller = await cookieCaller(c);
        if (!caller || (code && code !== caller.clinicCode)) throw new ApiError("invalid_token");
        const csrf = c.req.header(CSRF_HEADER);
        if (!sameOrigin(c.req) || !(await verifySessionCsrf(c.env, caller.sessionId, csrf))) {
          throw new ApiError("csrf_header_required", { params: { header: CSRF_HEADER } });
        }
        return signedIn(caller);
      }
      throw new ApiError(options.apiKey ? "token_or_api_key_required" : "access_token_required");
    }
    const record = await resolveAccess(c.env, token);
    if (!record || (code && code !== record.clinicCode)) throw new ApiError("invalid_token");
    await signedIn(callerOf(record));
  });
}
