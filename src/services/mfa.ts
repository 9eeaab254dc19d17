/**
 * Two-factor sign-in (TOTP, RFC 6238). The secret is kept encrypted (AES-256-GCM with
 * MFA_ENCRYPTION_KEY) in `users.mfa_secret`; while `mfa_enabled` is off a stored secret is an enrolment
 * waiting for its first code. A code is accepted once: the step it matched must be later than
 * `users.mfa_last_step`, and claiming it is one conditional UPDATE, so a replay (even a concurrent one)
 * within the same step is refused.
 *
 * Rotation: with the old key in MFA_ENCRYPTION_KEY_PREVIOUS and a new MFA_ENCRYPTION_KEY, secrets sealed
 * with the old key still open; each is sealed again with the new key when its next code is claimed, and
 * the cron handler re-seals the rest (`resealSecrets`), after which the previous key can be removed.
 */
import type { User } from "../db/schema";
import { now } from "../lib/clock";
import { decryptSecret, encryptSecret, keyId } from "../lib/crypto";
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
  const { plain: secret, key } = await decryptSecret(mfaKeys(env), user.mfaSecret);
  const step = await verifyTotp(secret, code, now());
  if (step === null) return false;
  // A secret sealed with the previous key is sealed again with the current one by the same UPDATE.
  const resealed =
    key === env.MFA_ENCRYPTION_KEY ? user.mfaSecret : await encryptSecret(env.MFA_ENCRYPTION_KEY, secret);
  const set = {
    none: "mfa_last_step = ?1, mfa_secret = ?4",
    enable: "mfa_last_step = ?1, mfa_enabled = 1, mfa_secret = ?4",
    disable: "mfa_last_step = NULL, mfa_enabled = 0, mfa_secret = NULL",
  }[effect];
  const params = [step, user.id, user.mfaSecret, ...(effect === "disable" ? [] : [resealed])];
  const row = await env.DB.prepare(
    `UPDATE users SET ${set} WHERE id = ?2 AND mfa_secret = ?3 AND (mfa_last_step IS NULL OR mfa_last_step < ?1) RETURNING id`,
  )
    .bind(...params)
    .first();
  return row !== null;
}

/** The keys that open MFA secrets: the current one, then the previous one during a rotation. */
function mfaKeys(env: Bindings): (string | undefined)[] {
  return [env.MFA_ENCRYPTION_KEY, env.MFA_ENCRYPTION_KEY_PREVIOUS];
}

/**
 * Seals again, with the current key, up to `limit` secrets sealed with another (the previous key, or
 * the older key-less format): one read, then one batch of compare-and-set UPDATEs. Secrets that no
 * configured key opens are left alone and counted. Cron.
 */
export async function resealSecrets(
  env: Bindings,
  limit = 100,
): Promise<{ resealed: number; unopened: number }> {
  const kid = await keyId(env.MFA_ENCRYPTION_KEY);
  const { results } = await env.DB.prepare(
    "SELECT id, mfa_secret FROM users WHERE mfa_secret IS NOT NULL AND mfa_secret NOT LIKE ? ORDER BY id LIMIT ?",
  )
    .bind(`v2.${kid}.%`, limit)
    .all<{ id: number; mfa_secret: string }>();
  const updates: D1PreparedStatement[] = [];
  let unopened = 0;
  for (const row of results) {
    try {
      const { plain } = await decryptSecret(mfaKeys(env), row.mfa_secret);
      updates.push(
        env.DB.prepare("UPDATE users SET mfa_secret = ? WHERE id = ? AND mfa_secret = ?").bind(
          await encryptSecret(env.MFA_ENCRYPTION_KEY, plain),
          row.id,
          row.mfa_secret,
        ),
      );
    } catch {
      unopened++;
    }
  }
  if (updates.length > 0) await env.DB.batch(updates);
  return { resealed: updates.length, unopened };
}

/** Forgets an enrolment that was never confirmed. */
export async function cancelEnrolment(env: Bindings, userId: number): Promise<void> {
  await env.DB.prepare(
    "UPDATE users SET mfa_secret = NULL, mfa_last_step = NULL WHERE id = ? AND mfa_enabled = 0",
  )
    .bind(userId)
    .run();
}
