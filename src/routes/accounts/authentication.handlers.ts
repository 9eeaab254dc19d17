/**
 * POST /authentication (Feathers' authentication service): the `local` and `jwt` strategies and the
 * account actions, dispatched on `strategy` / `action`; DELETE ends the session.
 */

import type { Context } from "hono";
import type { Clinic } from "../../db/schema";
import { bearerToken } from "../../lib/bearer";
import { now } from "../../lib/clock";
import { ApiError, invalid } from "../../lib/errors";
import { fieldErrors } from "../../lib/openapi";
import { hashPassword, needsRehash, verifyPassword } from "../../lib/password";
import type { AppRouteHandler } from "../../lib/route-handler";
import { accountFromToken } from "../../middleware/account-auth";
import { audit, auditLater, auditSignOut, auditSource } from "../../middleware/audit";
import { loadClinic } from "../../middleware/tenant";
import { reissueRefresh, signAccessToken, startAccountSession } from "../../services/account-sessions";
import { requireLiveAccount } from "../../services/accounts";
import { accountLockKey, clearFailures, lockedError, lockKey, recordFailure } from "../../services/lockout";
import { checkSecondFactor } from "../../services/second-factor";
import { endSessions, rotateRefresh } from "../../services/sessions";
import { lastLoginStatement, rehashStatement, signInLookup } from "../../services/users";
import type { AppEnv } from "../../types";
import type { Action, BodyOf } from "./action-support";
import type {
  authenticate as authenticateRoute,
  logout as logoutRoute,
  logoutToken as logoutTokenRoute,
} from "./authentication.routes";
import { applyActionCode, sendVerificationEmail, sendVerificationSms } from "./codes.handlers";
import { changeIdentity, changePassword, checkUniqueIdentity } from "./credentials.handlers";
import { setupMfa, verifyMfaSecret } from "./mfa.handlers";
import { resetPassword, sendPasswordResetEmail } from "./password-reset.handlers";
import { type ActionName, type AuthenticationInput, authenticationSchemaFor } from "./schemas";
import { accountWire } from "./wire";

type Body<K> = Extract<AuthenticationInput, K>;

const iso = (t: number) => new Date(t * 1000).toISOString();

/**
 * Validation hook of POST /authentication: the body is one of many variants, so a failure is reported
 * against the variant its `action` (or `strategy`) names, field by field.
 */
export const authenticationHook = (result: { success: boolean; data?: unknown }): undefined => {
  if (result.success) return undefined;
  const { schema, field, message } = authenticationSchemaFor(result.data);
  if (!schema) throw invalid([{ param: field, message }]);
  const parsed = schema.safeParse(result.data);
  throw invalid(parsed.success ? [{ param: field, message }] : fieldErrors(parsed.error));
};

export const authenticate: AppRouteHandler<typeof authenticateRoute> = async (c) => {
  const body = c.req.valid("json");
  const clinic = await loadClinic(c);
  if ("strategy" in body) {
    if (body.strategy === "local") {
      const result = await local(c, clinic, body);
      return "code" in result ? c.json(result, 206) : c.json(result, 201);
    }
    return c.json(await reauthenticate(c, body), 201);
  }
  return c.json(await runAction(c, clinic, body), 201);
};

/** The account actions, by the `action` of the body (their handlers: *.handlers.ts of this folder). */
const ACTION_HANDLERS: { [A in ActionName]: Action<A> } = {
  refreshAccessToken: (c, clinic, body) => refresh(c, clinic, body),
  applyActionCode,
  setupMFA: setupMfa,
  verifyMFASecret: verifyMfaSecret,
  changePassword,
  changeIdentity,
  checkUniqueIdentity,
  sendPasswordResetEmail,
  resetPassword,
  sendVerificationEmail,
  sendVerificationSms,
};

function runAction<A extends ActionName>(c: Context<AppEnv>, clinic: Clinic, body: BodyOf<A>) {
  const action: Action<A> = ACTION_HANDLERS[body.action];
  return action(c, clinic, body);
}

// ---------- strategies ----------

const MISSING_MFA = { code: 206 as const, message: "Missing MFA token" as const };

/**
 * Password sign-in. Unknown identity, wrong password, disabled account: the same 401 after the same
 * work (a dummy hash is verified for unknown identities). Failures count towards the identity's lockout;
 * wrong TOTP codes count under the account's TOTP lock (services/second-factor.ts), which a right password
 * never clears, only a right code.
 */
async function local<E extends AppEnv>(c: Context<E>, clinic: Clinic, body: Body<{ strategy: "local" }>) {
  const who = body.email !== undefined ? { email: body.email } : { mobileNo: body.mobileNo as string };
  const key = await lockKey("login", who.email ?? who.mobileNo);
  const refused = (method: string, reason: string, subject?: number) =>
    auditLater(c, {
      event: "sign_in",
      outcome: "failure",
      clinic: clinic.id,
      subjectUserId: subject,
      details: { method, reason },
    });
  // The account and the identity's lockout in one round trip.
  const found = await signInLookup(c.env, clinic.id, who, key);
  if (found.lockedUntil && found.lockedUntil > now()) {
    refused("password", "locked");
    throw lockedError(found.lockedUntil);
  }
  const user = found.user;
  const ok = await verifyPassword(body.password, user?.passwordHash);
  // A known account's failures count under the account (its email and mobile number together).
  const failureKey = user ? accountLockKey(user.id) : key;
  const fail = async (error: ApiError, method: string) => {
    const locked = await recordFailure(c.env, clinic, failureKey);
    refused(method, locked ? "locked" : "invalid", user?.id);
    throw locked ? lockedError(locked) : error;
  };
  if (!ok || !user || user.disabled) return fail(new ApiError("invalid_login"), "password");
  const extra: D1PreparedStatement[] = [];
  if (user.mfaEnabled) {
    const second = await checkSecondFactor(c.env, clinic, user, body.totpToken);
    if (!second.ok && second.reason === "missing") return MISSING_MFA;
    if (!second.ok) {
      refused("totp", second.reason === "locked" ? "locked" : "invalid", user.id);
      throw second.reason === "locked" ? lockedError(second.until) : new ApiError("invalid_mfa_token");
    }
    extra.push(second.clear);
  }
  extra.push(
    clearFailures(c.env.DB, clinic.id, key),
    clearFailures(c.env.DB, clinic.id, failureKey),
    lastLoginStatement(c.env.DB, user.id, now()),
    audit(c, {
      event: "sign_in",
      outcome: "success",
      clinic: clinic.id,
      actorUserId: user.id,
      subjectUserId: user.id,
      details: { method: user.mfaEnabled ? "password+totp" : "password" },
    }),
  );
  if (user.passwordHash && needsRehash(user.passwordHash)) {
    extra.push(rehashStatement(c.env.DB, user.id, await hashPassword(body.password)));
  }
  const session = await startAccountSession(c.env, user, clinic, extra);
  return {
    uid: String(user.id),
    accessToken: session.access.token,
    refreshToken: session.refreshToken,
    expiresAt: iso(session.access.exp),
    user: accountWire(user),
  };
}

/**
 * A fresh access token for the session of a valid one, and the session's refresh token rotated (clients
 * such as the MYCURE SDK store whatever refreshToken this answers, so it must be a usable one).
 */
async function reauthenticate<E extends AppEnv>(c: Context<E>, body: Body<{ strategy: "jwt" }>) {
  const caller = await accountFromToken(c, body.accessToken);
  const user = await requireLiveAccount(c.env, caller.clinicId, caller.userId);
  const [refreshToken, access] = await Promise.all([
    reissueRefresh(c.env, caller),
    signAccessToken(c.env, caller.userId, caller.clinicCode, caller.sessionId),
  ]);
  if (!refreshToken) throw new ApiError("invalid_token");
  auditLater(c, {
    event: "token_refresh",
    outcome: "success",
    clinic: caller.clinicId,
    actorUserId: caller.userId,
    subjectUserId: caller.userId,
    details: { method: "jwt" },
  });
  return {
    uid: String(caller.userId),
    accessToken: access.token,
    refreshToken,
    expiresAt: iso(access.exp),
    user: accountWire(user),
  };
}

/** Rotates the refresh token (services/sessions.ts); reuse of a spent one ends the session. */
async function refresh<E extends AppEnv>(
  c: Context<E>,
  clinic: Clinic,
  body: Body<{ action: "refreshAccessToken" }>,
) {
  // The rotation batch also reads the owner; a disabled user or clinic ends the session (null).
  // Another family's refresh token is refused before it is spent (it keeps working at /api_v3).
  const rotated = await rotateRefresh(c.env, "accounts", body.refreshToken, clinic.id, auditSource(c));
  const refused = new ApiError("invalid_refresh_token");
  const failed = (reason: string, subject?: number) =>
    auditLater(c, {
      event: "token_refresh",
      outcome: "failure",
      clinic: clinic.id,
      subjectUserId: subject,
      details: { reason },
    });
  if (!rotated) {
    failed("invalid");
    throw refused;
  }
  const access = await signAccessToken(c.env, rotated.userId, clinic.code, rotated.tokens.sessionId);
  return {
    uid: String(rotated.userId),
    accessToken: access.token,
    refreshToken: rotated.tokens.refresh.token,
    expiresAt: iso(access.exp),
    user: accountWire(rotated.user),
  };
}

// ---------- sign out ----------

async function endSession<E extends AppEnv>(c: Context<E>, token: string) {
  const caller = await accountFromToken(c, token);
  auditSignOut(c, caller, await endSessions(c.env, [caller.sessionId]));
  return { uid: String(caller.userId), accessToken: token };
}

export const logout: AppRouteHandler<typeof logoutRoute> = async (c) => {
  const token = bearerToken(c.req);
  if (!token) throw new ApiError("access_token_required");
  return c.json(await endSession(c, token), 200);
};

export const logoutToken: AppRouteHandler<typeof logoutTokenRoute> = async (c) => {
  return c.json(await endSession(c, c.req.valid("param").accessToken), 200);
};
