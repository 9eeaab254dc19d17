/**
 * Caller authentication for the accounts family: `Authorization: Bearer <JWT>`. The token must be signed
 * with the pinned algorithm, unexpired, issued for the request's clinic (X-AccountCode or the default
 * clinic), and bound to a live session (one KV read).
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { bearerToken } from "../lib/bearer";
import { ApiError } from "../lib/errors";
import { resolveAccountToken } from "../services/account-sessions";
import type { AccountCaller, AppEnv, AppEnvWith } from "../types";
import { clinicCodeOf } from "./tenant";

const challenge = { "WWW-Authenticate": 'Bearer realm="accounts"' };

/** Resolves a presented access token, or throws 401. */
export async function accountFromToken<E extends AppEnv>(
  c: Context<E>,
  token: string,
): Promise<AccountCaller> {
  const caller = await resolveAccountToken(c.env, token, clinicCodeOf(c.req, c.env));
  if (!caller) throw new ApiError("invalid_token", { headers: challenge });
  return caller;
}

/**
 * The caller when the request carries a bearer token (which must then be valid), else null: for calls
 * that also work unauthenticated.
 */
export async function optionalAccount<E extends AppEnv>(c: Context<E>): Promise<AccountCaller | null> {
  const token = bearerToken(c.req);
  return token ? accountFromToken(c, token) : null;
}

/** Requires a valid access token; sets `account`. */
export const requireAccount = createMiddleware<AppEnvWith<{ account: AccountCaller }>>(async (c, next) => {
  const token = bearerToken(c.req);
  if (!token) throw new ApiError("access_token_required", { headers: challenge });
  c.set("account", await accountFromToken(c, token));
  await next();
});
