/** The two-factor actions of POST /authentication: setupMFA, verifyMFASecret (the caller's own account). */
import type { Context } from "hono";
import type { Clinic, User } from "../../db/schema";
import { bestEffort } from "../../lib/background";
import { ApiError, invalidField } from "../../lib/errors";
import { auditLater } from "../../middleware/audit";
import { lockedError, lockedUntil, lockKey, recordFailure } from "../../services/lockout";
import { cancelEnrolment, claimTotp, startEnrolment } from "../../services/mfa";
import { refreshProfiles } from "../../services/own-profile";
import type { AppEnv } from "../../types";
import { type Action, callerAccount } from "./action-support";

export const setupMfa: Action<"setupMFA"> = async (c, clinic, body) => {
  const { user } = await callerAccount(c);
  const uid = String(user.id);
  if (body.enable) {
    if (user.mfaEnabled) throw new ApiError("mfa_already_enabled");
    const { secret, dataURL } = await startEnrolment(c.env, user, clinic.name);
    mfaAudit(c, clinic, user, "success", "enrol");
    return { uid, enabled: false, dataURL, secret };
  }
  if (!user.mfaEnabled) {
    await cancelEnrolment(c.env, user.id);
    mfaAudit(c, clinic, user, "success", "cancel");
    return { uid, enabled: false };
  }
  if (!body.totpToken) throw invalidField("totpToken", "is required to disable MFA");
  await checkTotp(c, clinic, user, body.totpToken, "disable");
  return { uid, enabled: false };
};

export const verifyMfaSecret: Action<"verifyMFASecret"> = async (c, clinic, body) => {
  const { user } = await callerAccount(c);
  if (!user.mfaSecret) throw new ApiError("mfa_not_enrolling");
  await checkTotp(c, clinic, user, body.totpToken, user.mfaEnabled ? "none" : "enable");
  return { verified: true };
};

/** An audit row of a two-factor change by the account itself (after the response). */
function mfaAudit<E extends AppEnv>(
  c: Context<E>,
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
async function checkTotp<E extends AppEnv>(
  c: Context<E>,
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
    if (effect === "none") return;
    mfaAudit(c, clinic, user, "success", action);
    await bestEffort(c, () => refreshProfiles(c.env, { ...user, mfaEnabled: effect === "enable" }));
    return;
  }
  const locked = await recordFailure(c.env, clinic, key);
  mfaAudit(c, clinic, user, "failure", action, locked ? "locked" : "invalid");
  throw locked ? lockedError(locked) : new ApiError("invalid_mfa_token");
}
