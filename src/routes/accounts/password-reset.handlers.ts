/** The password reset of POST /authentication: sendPasswordResetEmail, then resetPassword with the code. */
import { afterResponse } from "../../lib/background";
import { ApiError } from "../../lib/errors";
import { audit, auditLater } from "../../middleware/audit";
import { checkRateLimit } from "../../middleware/rate-limit";
import { resetPasswordTo } from "../../services/account-codes";
import { findAccount, type Outgoing, sendCode } from "../../services/accounts";
import { codesPerHour, consumeCode } from "../../services/codes";
import {
  accountLockKey,
  clearFailures,
  lockedError,
  lockedUntil,
  lockKey,
  recordFailure,
} from "../../services/lockout";
import { revokeSessions } from "../../services/sessions";
import { type Action, SENT, sendCodeLater } from "./action-support";

/**
 * Always `{sent: true}`, at once: the lookup and the sending happen after the response, so neither the
 * answer nor its timing tells whether the email belongs to an account.
 */
export const sendPasswordResetEmail: Action<"sendPasswordResetEmail"> = async (c, clinic, body) => {
  await checkRateLimit(c, "MESSAGES_LIMITER", "accounts-reset");
  afterResponse(c, async () => {
    const user = await findAccount(c.env, clinic.id, { email: body.email });
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
};

/** Completes a reset: the emailed code, then the new password; every session of the account ends. */
export const resetPassword: Action<"resetPassword"> = async (c, clinic, body) => {
  const lock = await lockKey("code", body.email);
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
  const user = await findAccount(c.env, clinic.id, { email: body.email });
  // An unknown or disabled identity runs the same statements (against no user): the same work and time.
  const consumed = await consumeCode(c.env, {
    clinicId: clinic.id,
    userId: user && !user.disabled ? user.id : null,
    purposes: ["password_reset"],
    code: body.code,
  });
  if (!user || !consumed) {
    const locked = await recordFailure(c.env, clinic, lock);
    refused(locked ? "locked" : "invalid_code", user?.id);
    throw locked ? lockedError(locked) : new ApiError("invalid_code");
  }
  await resetPasswordTo(c.env, user.id, body.password, [
    clearFailures(c.env.DB, clinic.id, lock),
    clearFailures(c.env.DB, clinic.id, await lockKey("login", body.email)),
    clearFailures(c.env.DB, clinic.id, accountLockKey(user.id)),
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
};
