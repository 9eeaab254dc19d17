/**
 * The account actions of POST /authentication: codes (apply, send), two-factor setup, password and
 * identity changes, uniqueness checks and password reset. Each returns the body of its 201 answer.
 *
 * Codes are 6 digits, valid 10 minutes, single-use, bound to one account: the authenticated caller, or,
 * without a token, the account whose `email` / `mobileNo` the body names. Wrong guesses count against the
 * code (it dies after 5) and, without a token, towards the named identity's lockout.
 */
import type { Context } from "hono";
import { getDb } from "../../db";
import type { Clinic, User } from "../../db/schema";
import { afterResponse } from "../../lib/background";
import { now } from "../../lib/clock";
import { ApiError, invalidField } from "../../lib/errors";
import { hashPassword } from "../../lib/password";
import { isPhilippineMobile } from "../../lib/phone";
import { email as emailSchema } from "../../lib/schemas";
import { optionalAccount } from "../../middleware/account-auth";
import { audit, auditLater } from "../../middleware/audit";
import { checkRateLimit, countIdentityLookup } from "../../middleware/rate-limit";
import {
  accountChannel,
  accountWire,
  findAccount,
  type Identity,
  type IdentityKey,
  isIdentityFree,
  type Outgoing,
  requireLiveAccount,
  sendCode,
} from "../../services/accounts";
import type { AuditEntry } from "../../services/audit";
import { codesPerHour, consumeCode, restoreCode } from "../../services/codes";
import {
  accountLockKey,
  assertNotLocked,
  clearFailures,
  lockedError,
  lockedUntil,
  lockKey,
  recordFailure,
} from "../../services/lockout";
import { cancelEnrolment, claimTotp, startEnrolment } from "../../services/mfa";
import { deliverDue, deliverSoon, queuedIds } from "../../services/outbox";
import { revokeSessions } from "../../services/sessions";
import { uniqueViolation, userFromRow } from "../../services/users";
import type { AppEnv } from "../../types";
import { type AuthenticationInput, mobileNo as mobileNoSchema } from "./schemas";

type Body<K> = Extract<AuthenticationInput, K>;

const SENT = { sent: true as const };

/** The authenticated caller's account (401 without a valid token). */
async function callerAccount(c: Context<AppEnv>): Promise<{ user: User; sessionId: string }> {
  const caller = await optionalAccount(c);
  if (!caller) throw new ApiError("unauthorized", { message: "An access token is required for this action" });
  return {
    user: await requireLiveAccount(getDb(c.env.DB), caller.clinicId, caller.userId),
    sessionId: caller.sessionId,
  };
}

/**
 * Runs the batch of a code sent under the clinic's codes-per-hour cap (sendCode with `perHour`) and
 * returns the ids of the messages it queued: none when the cap was reached, since the cap is checked
 * inside the batch's own statements (so that parallel requests cannot all pass it).
 */
async function batchCode(c: Context<AppEnv>, out: Outgoing): Promise<number[]> {
  const results = await c.env.DB.batch([...out.statements, ...out.messages]);
  return queuedIds(results.slice(out.statements.length));
}

/** An authenticated caller's code: 429 over the cap; the message's first delivery follows the response. */
async function commitCode(c: Context<AppEnv>, out: Outgoing): Promise<void> {
  const ids = await batchCode(c, out);
  if (ids.length === 0) throw tooMany();
  deliverSoon(c, ids);
}

/** A code for an identity named without a token, after the response (nothing tells the caller the outcome). */
async function sendCodeLater(c: Context<AppEnv>, out: Outgoing): Promise<void> {
  const ids = await batchCode(c, out);
  if (ids.length) await deliverDue(c.env, { ids, requestId: c.get("requestId") });
}

const tooMany = () =>
  new ApiError("rate_limited", {
    message: "Too many codes sent, try again later",
    headers: { "Retry-After": "3600" },
  });

// ---------- applyActionCode ----------

const CODE_PURPOSES = ["email_verify", "sms_verify", "identity_change", "password_change"] as const;

/** The audit event of each applied code (the field's name, never its value). */
const CODE_AUDIT: Record<
  (typeof CODE_PURPOSES)[number],
  (p: Record<string, unknown>) => Pick<AuditEntry, "event" | "details">
> = {
  email_verify: () => ({ event: "identity_change", details: { field: "email", action: "verify" } }),
  sms_verify: () => ({ event: "identity_change", details: { field: "mobileNo", action: "verify" } }),
  identity_change: (p) => ({
    event: "identity_change",
    details: { field: p.key === "email" ? "email" : "mobileNo", action: "change" },
  }),
  password_change: () => ({ event: "password_change", details: { via: "code" } }),
};

export async function applyActionCode(
  c: Context<AppEnv>,
  clinic: Clinic,
  b: Body<{ action: "applyActionCode" }>,
) {
  const caller = await optionalAccount(c);
  const db = getDb(c.env.DB);
  let user: User | undefined;
  let lock: string | null = null;
  if (caller) {
    user = await requireLiveAccount(db, caller.clinicId, caller.userId);
  } else {
    if (b.email === undefined && b.mobileNo === undefined)
      throw invalidField("email", "email or mobileNo is required without an access token");
    const who: Identity = b.email !== undefined ? { email: b.email } : { mobileNo: b.mobileNo };
    lock = await lockKey("code", who.email ?? (who.mobileNo as string));
    await assertNotLocked(c.env, clinic.id, lock);
    user = await findAccount(db, clinic.id, who);
  }
  // An unknown or disabled identity runs the same statements (against no user): the same work and time.
  const consumed = await consumeCode(c.env, {
    clinicId: clinic.id,
    userId: user && !user.disabled ? user.id : null,
    purposes: [...CODE_PURPOSES],
    code: b.code,
  });
  if (!user || !consumed) {
    const locked = lock ? await recordFailure(c.env, clinic, lock) : null;
    throw locked ? lockedError(locked) : new ApiError("invalid_code");
  }
  const p = consumed.payload;
  // What each code does, as the tail of one UPDATE (?1 updated_at, ?2 the account, ?3 the payload's value).
  const apply: Record<string, [string, unknown]> = {
    email_verify: ["email_verified = 1 WHERE id = ?2 AND lower(email) = lower(?3)", p.email],
    sms_verify: ["mobile_verified = 1 WHERE id = ?2 AND mobile_no = ?3", p.mobileNo],
    identity_change: [
      p.key === "email"
        ? "email = ?3, email_verified = 1 WHERE id = ?2"
        : "mobile_no = ?3, mobile_verified = 1 WHERE id = ?2",
      p.value,
    ],
    password_change: ["password_hash = ?3 WHERE id = ?2", p.passwordHash],
  };
  const [tail, value] = apply[consumed.purpose] as [string, unknown];
  let row: Record<string, unknown> | null;
  try {
    row = await c.env.DB.prepare(`UPDATE users SET updated_at = ?1, ${tail} RETURNING *`)
      .bind(now(), user.id, value)
      .first();
  } catch (err) {
    if (uniqueViolation(err))
      throw invalidField(p.key === "email" ? "email" : "mobileNo", "is already in use");
    // Storage failed before the change was written: the code is not spent either (a retry applies it once).
    await restoreCode(c.env, consumed.id).catch(() => undefined);
    throw err;
  }
  // The code verified an address the account no longer has: nothing to apply.
  if (!row) throw new ApiError("invalid_code");
  auditLater(c, {
    ...CODE_AUDIT[consumed.purpose as (typeof CODE_PURPOSES)[number]](p),
    outcome: "success",
    clinic: clinic.id,
    actorUserId: caller?.userId ?? null,
    subjectUserId: user.id,
  });
  // The code is applied: a counter that could not be cleared only ages out with its window.
  if (lock)
    await clearFailures(c.env, clinic.id, lock)
      .run()
      .catch(() => undefined);
  if (consumed.purpose === "password_change") {
    await revokeSessions(c.env, { userId: user.id, clinicId: clinic.id, exceptSessionId: caller?.sessionId });
  }
  return accountWire(userFromRow(row));
}

// ---------- two-factor ----------

export async function setupMfa(c: Context<AppEnv>, clinic: Clinic, b: Body<{ action: "setupMFA" }>) {
  const { user } = await callerAccount(c);
  const uid = String(user.id);
  if (b.enable) {
    if (user.mfaEnabled)
      throw new ApiError("bad_request", { message: "MFA is already enabled: disable it first" });
    const { secret, dataURL } = await startEnrolment(c.env, user, clinic.name);
    mfaAudit(c, clinic, user, "success", "enrol");
    return { uid, enabled: false, dataURL, secret };
  }
  if (!user.mfaEnabled) {
    await cancelEnrolment(c.env, user.id);
    mfaAudit(c, clinic, user, "success", "cancel");
    return { uid, enabled: false };
  }
  if (!b.totpToken) throw invalidField("totpToken", "is required to disable MFA");
  await checkTotp(c, clinic, user, b.totpToken, "disable");
  return { uid, enabled: false };
}

export async function verifyMfaSecret(
  c: Context<AppEnv>,
  clinic: Clinic,
  b: Body<{ action: "verifyMFASecret" }>,
) {
  const { user } = await callerAccount(c);
  if (!user.mfaSecret)
    throw new ApiError("bad_request", {
      message: "No MFA enrolment: start one with setupMFA {enable: true}",
    });
  await checkTotp(c, clinic, user, b.totpToken, user.mfaEnabled ? "none" : "enable");
  return { verified: true };
}

/** An audit row of a two-factor change by the account itself (after the response). */
function mfaAudit(
  c: Context<AppEnv>,
  clinic: Clinic,
  user: User,
  outcome: "success" | "failure",
  action: string,
  reason?: string,
) {
  auditLater(c, {
    event: "mfa_change",
    outcome,
    clinic: clinic.id,
    actorUserId: user.id,
    subjectUserId: user.id,
    details: { action, reason },
  });
}

/** A wrong or replayed TOTP code: 401, counted towards the account's lockout. */
async function checkTotp(
  c: Context<AppEnv>,
  clinic: Clinic,
  user: User,
  code: string,
  effect: "none" | "enable" | "disable",
): Promise<void> {
  const action = effect === "none" ? "verify" : effect;
  const key = await lockKey("totp", String(user.id));
  const until = await lockedUntil(c.env, clinic.id, key);
  if (until) {
    mfaAudit(c, clinic, user, "failure", action, "locked");
    throw lockedError(until);
  }
  if (await claimTotp(c.env, user, code, effect)) {
    if (effect !== "none") mfaAudit(c, clinic, user, "success", action);
    return;
  }
  const locked = await recordFailure(c.env, clinic, key);
  mfaAudit(c, clinic, user, "failure", action, locked ? "locked" : "invalid");
  throw locked ? lockedError(locked) : new ApiError("invalid_mfa_token");
}

// ---------- password and identity changes ----------

export async function changePassword(
  c: Context<AppEnv>,
  clinic: Clinic,
  b: Body<{ action: "changePassword" }>,
) {
  await checkRateLimit(c, "MESSAGES_LIMITER", "accounts-change-password");
  const { user } = await callerAccount(c);
  const to = accountChannel(user);
  if (!to)
    throw new ApiError("bad_request", {
      message: "The account has no email or Philippine mobile number for the confirmation code",
    });
  const out: Outgoing = { statements: [], messages: [] };
  await sendCode(c.env, clinic, out, {
    user: user.id,
    purpose: "password_change",
    to,
    name: user.firstName,
    verifiedRecipient: to.channel === "email" ? user.emailVerified : user.mobileVerified,
    payload: { passwordHash: await hashPassword(b.password) },
    perHour: codesPerHour(clinic),
  });
  await commitCode(c, out);
  return SENT;
}

/** Validates an identity for its key; returns the stored form. */
function parseIdentity(key: IdentityKey, value: string): string {
  const parsed = key === "email" ? emailSchema().safeParse(value) : mobileNoSchema().safeParse(value);
  if (!parsed.success) throw invalidField("identity", parsed.error.issues[0]?.message ?? "is invalid");
  return parsed.data;
}

export async function changeIdentity(
  c: Context<AppEnv>,
  clinic: Clinic,
  b: Body<{ action: "changeIdentity" }>,
) {
  await checkRateLimit(c, "MESSAGES_LIMITER", "accounts-change-identity");
  const { user } = await callerAccount(c);
  const value = parseIdentity(b.identityKey, b.identity);
  const current = b.identityKey === "email" ? user.email : user.mobileNo;
  if (current !== null && current.toLowerCase() === value.toLowerCase())
    throw invalidField("identity", `is already the account's ${b.identityKey}`);
  if (b.identityKey === "mobileNo" && !isPhilippineMobile(value))
    throw invalidField(
      "identity",
      "must be a Philippine mobile number (the confirmation code is sent by SMS)",
    );
  // The answer tells whether the identity has an account: limited per client (SECURITY.md).
  await countIdentityLookup(c);
  if (!(await isIdentityFree(getDb(c.env.DB), clinic.id, b.identityKey, value)))
    throw invalidField("identity", "is already in use");
  const out: Outgoing = { statements: [], messages: [] };
  await sendCode(c.env, clinic, out, {
    user: user.id,
    purpose: "identity_change",
    // The new address is not verified yet: the code that verifies it is in this message.
    to: { channel: b.identityKey === "email" ? "email" : "sms", address: value },
    name: user.firstName,
    verifiedRecipient: false,
    identity: b.identityKey === "email" ? "email" : "mobile number",
    payload: { key: b.identityKey, value },
    perHour: codesPerHour(clinic),
  });
  await commitCode(c, out);
  return SENT;
}

export async function checkUniqueIdentity(
  c: Context<AppEnv>,
  clinic: Clinic,
  b: Body<{ action: "checkUniqueIdentity" }>,
) {
  // Tells whether an identity has an account, by design: limited per client (SECURITY.md "Who can learn…").
  await countIdentityLookup(c);
  const value = parseIdentity(b.identityKey, b.identity);
  return { unique: await isIdentityFree(getDb(c.env.DB), clinic.id, b.identityKey, value) };
}

// ---------- password reset ----------

/**
 * Always `{sent: true}`, at once: the lookup and the sending happen after the response, so neither the
 * answer nor its timing tells whether the email belongs to an account.
 */
export async function sendPasswordResetEmail(
  c: Context<AppEnv>,
  clinic: Clinic,
  b: Body<{ action: "sendPasswordResetEmail" }>,
) {
  await checkRateLimit(c, "MESSAGES_LIMITER", "accounts-reset");
  afterResponse(c, async () => {
    const user = await findAccount(getDb(c.env.DB), clinic.id, { email: b.email });
    if (!user?.email || user.disabled) return;
    const out: Outgoing = { statements: [], messages: [] };
    await sendCode(c.env, clinic, out, {
      user: user.id,
      purpose: "password_reset",
      to: { channel: "email", address: user.email },
      name: user.firstName,
      verifiedRecipient: user.emailVerified,
      perHour: codesPerHour(clinic),
    });
    await sendCodeLater(c, out);
  });
  return SENT;
}

/** Completes a reset: the emailed code, then the new password; every session of the account ends. */
export async function resetPassword(
  c: Context<AppEnv>,
  clinic: Clinic,
  b: Body<{ action: "resetPassword" }>,
) {
  const lock = await lockKey("code", b.email);
  const refused = (reason: string, subject?: number) =>
    auditLater(c, {
      event: "password_reset",
      outcome: "failure",
      clinic: clinic.id,
      subjectUserId: subject,
      details: { reason },
    });
  const until = await lockedUntil(c.env, clinic.id, lock);
  if (until) {
    refused("locked");
    throw lockedError(until);
  }
  const user = await findAccount(getDb(c.env.DB), clinic.id, { email: b.email });
  // An unknown or disabled identity runs the same statements (against no user): the same work and time.
  const consumed = await consumeCode(c.env, {
    clinicId: clinic.id,
    userId: user && !user.disabled ? user.id : null,
    purposes: ["password_reset"],
    code: b.code,
  });
  if (!user || !consumed) {
    const locked = await recordFailure(c.env, clinic, lock);
    refused(locked ? "locked" : "invalid_code", user?.id);
    throw locked ? lockedError(locked) : new ApiError("invalid_code");
  }
  await c.env.DB.batch([
    c.env.DB.prepare("UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?").bind(
      await hashPassword(b.password),
      now(),
      user.id,
    ),
    clearFailures(c.env, clinic.id, lock),
    clearFailures(c.env, clinic.id, await lockKey("login", b.email)),
    clearFailures(c.env, clinic.id, accountLockKey(user.id)),
    audit(c, {
      event: "password_reset",
      outcome: "success",
      clinic: clinic.id,
      actorUserId: user.id,
      subjectUserId: user.id,
      details: { via: "code" },
    }),
  ]);
  await revokeSessions(c.env, { userId: user.id, clinicId: clinic.id });
  return { uid: String(user.id) };
}

// ---------- verification codes ----------

/**
 * A new email (or SMS) verification code. For the caller: refused when there is nothing to verify.
 * Without a token, for the account the body names: always `{sent: true}`, the work after the response.
 */
export async function sendVerification(
  c: Context<AppEnv>,
  clinic: Clinic,
  key: IdentityKey,
  named: string | undefined,
) {
  await checkRateLimit(c, "MESSAGES_LIMITER", `accounts-verify-${key}`);
  const purpose = key === "email" ? "email_verify" : "sms_verify";
  const caller = await optionalAccount(c);
  const send = async (user: User) => {
    const address = key === "email" ? user.email : user.mobileNo;
    const out: Outgoing = { statements: [], messages: [] };
    await sendCode(c.env, clinic, out, {
      user: user.id,
      purpose,
      to: { channel: key === "email" ? "email" : "sms", address: address as string },
      name: user.firstName,
      // What is sent is the code that verifies the address: it is not verified yet.
      verifiedRecipient: false,
      payload: key === "email" ? { email: address } : { mobileNo: address },
      perHour: codesPerHour(clinic),
    });
    return out;
  };
  const sendable = (u: User) =>
    key === "email"
      ? u.email !== null && !u.emailVerified
      : u.mobileNo !== null && isPhilippineMobile(u.mobileNo) && !u.mobileVerified;

  if (caller) {
    const user = await requireLiveAccount(getDb(c.env.DB), caller.clinicId, caller.userId);
    if (!sendable(user)) {
      throw new ApiError("bad_request", {
        message:
          key === "email"
            ? "The account has no unverified email"
            : "The account has no unverified Philippine mobile number",
      });
    }
    await commitCode(c, await send(user));
    return SENT;
  }
  if (named === undefined) throw invalidField(key, `is required without an access token`);
  afterResponse(c, async () => {
    const user = await findAccount(getDb(c.env.DB), clinic.id, { [key]: named });
    if (!user || user.disabled || !sendable(user)) return;
    await sendCodeLater(c, await send(user));
  });
  return SENT;
}
