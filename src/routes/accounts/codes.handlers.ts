/**
 * The code actions of POST /authentication: applyActionCode, sendVerificationEmail, sendVerificationSms.
 *
 * Codes are 6 digits, valid 10 minutes, single-use, bound to one account: the authenticated caller, or,
 * without a token, the account whose `email` / `mobileNo` the body names. Wrong guesses count against the
 * code (it dies after 5) and, without a token, towards the named identity's lockout.
 */

import type { Context } from "hono";
import type { Clinic, User } from "../../db/schema";
import { afterResponse, bestEffort } from "../../lib/background";
import { ApiError, invalidField } from "../../lib/errors";
import { isPhilippineMobile } from "../../lib/phone";
import { optionalAccount } from "../../middleware/account-auth";
import { auditLater } from "../../middleware/audit";
import { checkRateLimit } from "../../middleware/rate-limit";
import { APPLIED_CODE_PURPOSES, type AppliedCodePurpose, applyCode } from "../../services/account-codes";
import {
  findAccount,
  type Identity,
  type IdentityKey,
  type Outgoing,
  requireLiveAccount,
  sendCode,
} from "../../services/accounts";
import type { AuditEntry } from "../../services/audit";
import { codesPerHour, consumeCode } from "../../services/codes";
import { assertNotLocked, clearFailures, lockedError, lockKey, recordFailure } from "../../services/lockout";
import { refreshProfiles } from "../../services/own-profile";
import { revokeSessions } from "../../services/sessions";
import type { AppEnv } from "../../types";
import { type Action, commitCode, SENT, sendCodeLater } from "./action-support";
import { accountWire } from "./wire";

/** The audit event of each applied code (the field's name, never its value). */
const CODE_AUDIT: Record<
  AppliedCodePurpose,
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

export const applyActionCode: Action<"applyActionCode"> = async (c, clinic, body) => {
  const caller = await optionalAccount(c);
  let user: User | undefined;
  let lock: string | null = null;
  if (caller) {
    user = await requireLiveAccount(c.env, caller.clinicId, caller.userId);
  } else {
    if (body.email === undefined && body.mobileNo === undefined)
      throw invalidField("email", "email or mobileNo is required without an access token");
    const who: Identity = body.email !== undefined ? { email: body.email } : { mobileNo: body.mobileNo };
    lock = await lockKey("code", who.email ?? (who.mobileNo as string));
    await assertNotLocked(c.env, clinic.id, lock);
    user = await findAccount(c.env, clinic.id, who);
  }
  // An unknown or disabled identity runs the same statements (against no user): the same work and time.
  const consumed = await consumeCode(c.env, {
    clinicId: clinic.id,
    userId: user && !user.disabled ? user.id : null,
    purposes: [...APPLIED_CODE_PURPOSES],
    code: body.code,
  });
  if (!user || !consumed) {
    const locked = lock ? await recordFailure(c.env, clinic, lock) : null;
    throw locked ? lockedError(locked) : new ApiError("invalid_code");
  }
  const purpose = consumed.purpose as AppliedCodePurpose;
  const changed = await applyCode(c.env, user.id, { ...consumed, purpose });
  // The code verified an address the account no longer has: nothing to apply.
  if (!changed) throw new ApiError("invalid_code");
  await bestEffort(c, () => refreshProfiles(c.env, changed));
  auditLater(c, {
    ...CODE_AUDIT[purpose](consumed.payload),
    outcome: "success",
    clinic: clinic.id,
    actorUserId: caller?.userId ?? null,
    subjectUserId: user.id,
  });
  // The code is applied: a counter that could not be cleared only ages out with its window.
  if (lock)
    await clearFailures(c.env.DB, clinic.id, lock)
      .run()
      .catch(() => undefined);
  if (purpose === "password_change") {
    await revokeSessions(c.env, { userId: user.id, clinicId: clinic.id, exceptSessionId: caller?.sessionId });
  }
  return accountWire(changed);
};

/**
 * A new email (or SMS) verification code. For the caller: refused when there is nothing to verify.
 * Without a token, for the account the body names: always `{sent: true}`, the work after the response.
 */
async function sendVerification<E extends AppEnv>(
  c: Context<E>,
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
    const user = await requireLiveAccount(c.env, caller.clinicId, caller.userId);
    if (!sendable(user)) {
      throw new ApiError(key === "email" ? "no_unverified_email" : "no_unverified_mobile");
    }
    await commitCode(c, await send(user));
    return SENT;
  }
  if (named === undefined) throw invalidField(key, `is required without an access token`);
  afterResponse(c, async () => {
    const user = await findAccount(c.env, clinic.id, { [key]: named });
    if (!user || user.disabled || !sendable(user)) return;
    await sendCodeLater(c, await send(user));
  });
  return SENT;
}

export const sendVerificationEmail: Action<"sendVerificationEmail"> = (c, clinic, body) =>
  sendVerification(c, clinic, "email", body.email);

export const sendVerificationSms: Action<"sendVerificationSms"> = (c, clinic, body) =>
  sendVerification(c, clinic, "mobileNo", body.mobileNo);
