/**
 * Two-factor sign-in (TOTP, RFC 6238). The secret is kept encrypted (AES-256-GCM with
 * MFA_ENCRYPTION_KEY) in `users.mfa_secret`; while `mfa_enabled` is off a stored secret is an enrolment
 * waiting for its first code. A code is accepted once: the step it matched must be later than
 * `users.mfa_last_step`, and claiming it is one conditional UPDATE, so a replay (even a concurrent one)
 * within the same step is refused.
 */
import type { User } from "../db/schema";
import { now } from "../lib/clock";
import { decryptSecret, encryptSecret } from "../lib/crypto";
import { newTotpSecret, otpauthUri, qrDataUrl, verifyTotp } from "../lib/totp";
import type { Bindings } from "../types";

/** Starts an enrolment: a new secret, stored encrypted, not yet in force. */
export async function startEnrolment(
  env: Bindings,
  user: Pick<User, "id" | "email" | "mobileNo">,
  issuer: string,
): Promise<{ secret: string; dataURL: string }> {
  const secret = newTotpSecret();
  await env.DB.prepare(
    "UPDATE users SET mfa_secret = ?, mfa_last_step = NULL WHERE id = ? AND mfa_enabled = 0",
  )
    .bind(await encryptSecret(env.MFA_ENCRYPTION_KEY, secret), user.id)
    .run();
  const label = user.email ?? user.mobileNo ?? String(user.id);
  return { secret, dataURL: qrDataUrl(otpauthUri(secret, issuer, label)) };
}

export type TotpEffect = "none" | "enable" | "disable";

/**
 * Checks a code against the user's secret and claims its step; with `effect` the same UPDATE also turns
 * MFA on (enrolment confirmed) or off (and forgets the secret). False for a wrong code or a replay.
 */
export async function claimTotp(
  env: Bindings,
  user: Pick<User, "id" | "mfaSecret">,
  code: string,
  effect: TotpEffect = "none",
): Promise<boolean> {
  if (!user.mfaSecret) return false;
  const secret = await decryptSecret(env.MFA_ENCRYPTION_KEY, user.mfaSecret);
  const step = await verifyTotp(secret, code, now());
  if (step === null) return false;
  const set = {
    none: "mfa_last_step = ?1",
    enable: "mfa_last_step = ?1, mfa_enabled = 1",
    disable: "mfa_last_step = NULL, mfa_enabled = 0, mfa_secret = NULL",
  }[effect];
  const row = await env.DB.prepare(
    `UPDATE users SET ${set} WHERE id = ?2 AND mfa_secret = ?3 AND (mfa_last_step IS NULL OR mfa_last_step < ?1) RETURNING id`,
  )
    .bind(step, user.id, user.mfaSecret)
    .first();
  return row !== null;
}

/** Forgets an enrolment that was never confirmed. */
export async function cancelEnrolment(env: Bindings, userId: number): Promise<void> {
  await env.DB.prepare(
    "UPDATE users SET mfa_secret = NULL, mfa_last_step = NULL WHERE id = ? AND mfa_enabled = 0",
  )
    .bind(userId)
    .run();
}
