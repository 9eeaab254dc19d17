/**
 * The portal's browser session. The HttpOnly `ce_session` cookie holds the access token of a `portal`
 * session (started by GET /auth or the /login form). It resolves like any access token (KV by SHA-256,
 * expiry inside the value), and revoking the session (logout, password change, reuse detection) deletes
 * it: the cookie is exactly as revocable and expiring as an API token.
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { now } from "../lib/clock";
import { callerOf, resolveAccess } from "../services/sessions";
import type { AppEnv, Caller } from "../types";

export const SESSION_COOKIE = "ce_session";

const ATTRIBUTES = { httpOnly: true, secure: true, sameSite: "Lax", path: "/" } as const;

/** True when the request carries a session cookie (valid or not). */
export function hasSessionCookie<E extends AppEnv>(c: Context<E>): boolean {
  return getCookie(c, SESSION_COOKIE) !== undefined;
}

/** The caller of the request's session cookie, or null (no cookie, unknown, expired or revoked session). */
export async function cookieCaller<E extends AppEnv>(c: Context<E>): Promise<Caller | null> {
  const token = getCookie(c, SESSION_COOKIE);
  if (!token) return null;
  const record = await resolveAccess(c.env, token);
  return record ? callerOf(record) : null;
}

/** Sets the session cookie to a portal session's access token until it expires. */
export function setSessionCookie<E extends AppEnv>(
  c: Context<E>,
  access: { token: string; expiry: number },
): void {
  setCookie(c, SESSION_COOKIE, access.token, { ...ATTRIBUTES, maxAge: Math.max(0, access.expiry - now()) });
}

export function clearSessionCookie<E extends AppEnv>(c: Context<E>): void {
  deleteCookie(c, SESSION_COOKIE, ATTRIBUTES);
}
