/**
 * Caller authentication for the register family.
 *
 * State routes take the bearer token `POST /register` returned (any access token of the clinic works:
 * one identity store), resolved with one KV read; the token's clinic must be the request's clinic
 * (X-AccountCode, else the default), otherwise 401. Browsers cannot set headers on a WebSocket, so
 * GET /state/live also takes the token as the `token` query parameter or as a `bearer.<token>` entry of
 * `Sec-WebSocket-Protocol`, and the clinic as the `accountCode` query parameter. Tokens are never logged.
 *
 * Same-origin browser clients that send no token (the seed's demo client: relative URLs, default fetch
 * credentials) use the `__Host-ce_care` cookie `POST /register` sets: the same access token as the body's
 * `token`, HttpOnly, Secure, SameSite=Strict, for the token's lifetime. It counts only on a request that
 * sends no token header and no API key, and is same-origin by `sameOriginStrict` (Sec-Fetch-Site and
 * Origin); it resolves like the bearer token (expiry, revocation, clinic). Live routes take no cookie.
 *
 * `POST /register` is public; `registrationProof` tells what the request proved about its sender.
 */
import type { Context, MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import type { Clinic } from "../db/schema";
import { now } from "../lib/clock";
import { sameOriginStrict } from "../lib/csrf";
import { ApiError } from "../lib/errors";
import { verifyApiKey } from "../services/clinics";
import type { RegistrationProof } from "../services/registration";
import { callerOf, resolveAccess } from "../services/sessions";
import type { AppEnv, AppEnvWith, Caller, Principal } from "../types";
import { presentedToken } from "./auth";
import { countFailedCredential } from "./rate-limit";
import { clinicCodeOf, clinicOfApiKey } from "./tenant";

/** The subprotocol a live client offers beside its `bearer.<token>` entry; the server selects it. */
export const LIVE_PROTOCOL = "care-state";
const PROTOCOL_TOKEN_PREFIX = "bearer.";

/** The entries of a Sec-WebSocket-Protocol header. */
export function offeredProtocols(header: string | undefined): string[] {
  return (header ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
}

function liveToken(req: Context<AppEnv>["req"]): string | undefined {
  const fromProtocol = offeredProtocols(req.header("sec-websocket-protocol")).find((p) =>
    p.startsWith(PROTOCOL_TOKEN_PREFIX),
  );
  return fromProtocol?.slice(PROTOCOL_TOKEN_PREFIX.length) || req.query("token") || undefined;
}

/** The register family's session cookie: `__Host-ce_care` (Hono adds the prefix and checks its rules). */
const CARE_COOKIE = "ce_care";
const CARE_COOKIE_OPTIONS = {
  prefix: "host",
  httpOnly: true,
  secure: true,
  sameSite: "Strict",
  path: "/",
} as const;

/**
 * Sets the session cookie to a registration's access token until it expires, when the registering request
 * comes from a page of this origin (a server calling with the clinic's key or a cross-site form gets none:
 * no login CSRF into someone else's account).
 */
export function setCareCookie<E extends AppEnv>(
  c: Context<E>,
  access: { token: string; expiry: number },
): void {
  if (!sameOriginStrict(c.req) || !c.req.header("origin")) return;
  setCookie(c, CARE_COOKIE, access.token, {
    ...CARE_COOKIE_OPTIONS,
    maxAge: Math.max(0, access.expiry - now()),
  });
}

/** The cookie's token when the request may use it: no token header or API key sent, and same-origin. */
function careCookieToken<E extends AppEnv>(c: Context<E>): string | undefined {
  const token = getCookie(c, CARE_COOKIE, "host");
  if (!token) return undefined;
  const sent = (name: string) => c.req.header(name) !== undefined;
  if (sent("authorization") || sent("x-apitoken") || sent("x-apikey")) return undefined;
  if (!sameOriginStrict(c.req)) {
    throw new ApiError("cross_origin_cookie");
  }
  return token;
}

/**
 * Requires a bearer token of the request's clinic (or the session cookie, see above); `live` also accepts
 * the WebSocket ways of sending it (and no cookie); `apiKey` accepts the clinic's API key (X-AccountCode +
 * X-ApiKey) instead of a token (care-team routes).
 */
export function careAuth(options?: {
  live?: boolean;
}): MiddlewareHandler<AppEnvWith<{ caller: Caller; principal: Principal }>>;
export function careAuth(options: { apiKey: true }): MiddlewareHandler<AppEnvWith<{ principal: Principal }>>;
export function careAuth(options: { live?: boolean; apiKey?: boolean } = {}): MiddlewareHandler {
  return createMiddleware<AppEnvWith<{ caller: Caller; principal: Principal }>>(async (c, next) => {
    const token = presentedToken(c.req) ?? (options.live ? liveToken(c.req) : careCookieToken(c));
    if (!token && options.apiKey && c.req.header("x-apikey")) {
      const clinic = await clinicOfApiKey(c);
      c.set("clinic", clinic);
      c.set("apiKey", true);
      c.set("principal", { kind: "api_key", clinic });
      return next();
    }
    if (!token) {
      throw new ApiError(options.apiKey ? "bearer_or_api_key_required" : "bearer_required");
    }
    const record = await resolveAccess(c.env, token);
    const clinicCode = (options.live && c.req.query("accountCode")?.trim()) || clinicCodeOf(c.req, c.env);
    if (!record || record.clinicCode !== clinicCode) throw new ApiError("invalid_token");
    const caller = callerOf(record);
    c.set("caller", caller);
    c.set("principal", { kind: "user", caller });
    await next();
  });
}

/**
 * What a registration request proved: the clinic's API key (X-AccountCode + X-ApiKey), or a bearer token
 * of a user of this clinic. Credentials that are sent but wrong answer 401 rather than count as none.
 */
export async function registrationProof<E extends AppEnv>(
  c: Context<E>,
  clinic: Clinic,
): Promise<RegistrationProof> {
  const key = c.req.header("x-apikey")?.trim();
  if (key) {
    if (!c.req.header("x-accountcode")?.trim()) throw new ApiError("api_key_required");
    if (!(await verifyApiKey(clinic, key))) {
      await countFailedCredential(c, "api-key");
      throw new ApiError("invalid_api_key");
    }
    return { apiKey: true };
  }
  const token = presentedToken(c.req);
  if (!token) return { apiKey: false };
  const record = await resolveAccess(c.env, token);
  if (!record || record.clinicCode !== clinic.code) throw new ApiError("invalid_token");
  return { apiKey: false, userId: record.userId };
}
