/**
 * What the accounts family's codes change (POST /authentication actions): the batch that sends a code and
 * its message, the change an applied code makes to the account, and a password reset.
 */
import type { User } from "../db/schema";
import { now } from "../lib/clock";
import { invalidField } from "../lib/errors";
import { hashPassword } from "../lib/password";
import type { Bindings } from "../types";
import type { Outgoing } from "./accounts";
import { type CodePurpose, restoreCode } from "./codes";
import { queuedIds } from "./outbox";
import { uniqueViolation, userFromRow } from "./users";

/**
 * Runs the batch of a code sent under the clinic's codes-per-hour cap (sendCode with `perHour`) and
 * returns the ids of the messages it queued: none when the cap was reached, since the cap is checked
 * inside the batch's own statements (so that parallel requests cannot all pass it).
 */
export async function runOutgoing(env: Bindings, out: Outgoing): Promise<number[]> {
  const results = await env.DB.batch([...out.statements, ...out.messages]);
  return queuedIds(results.slice(out.statements.length));
}

/** The codes applyActionCode applies. */
export const APPLIED_CODE_PURPOSES = [
  "email_verify",
  "sms_verify",
  "identity_change",
  "password_change",
] as const satisfies readonly CodePurpose[];

export type AppliedCodePurpose = (typeof APPLIED_CODE_PURPOSES)[number];

/**
 * Applies a consumed code to its account, as one UPDATE: null when the code verified an address the
 * account no longer has (nothing to apply). When storage fails before the change is written, the code is
 * put back unspent (a retry applies it once); a new identity already in use is a 400.
 */
export async function applyCode(
  env: Bindings,
  userId: number,
  consumed: { id: number; purpose: AppliedCodePurpose; payload: Record<string, unknown> },
): Promise<User | null> {
  const p = consumed.payload;
  // What each code does, as the tail of one UPDATE (?1 updated_at, ?2 the account, ?3 the payload's value).
  const apply: Record<AppliedCodePurpose, [string, unknown]> = {
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
  const [tail, value] = apply[consumed.purpose];
  let row: Record<string, unknown> | null;
  try {
    row = await env.DB.prepare(`UPDATE users SET updated_at = ?1, ${tail} RETURNING *`)
      .bind(now(), userId, value)
      .first();
  } catch (err) {
    if (uniqueViolation(err))
      throw invalidField(p.key === "email" ? "email" : "mobileNo", "is already in use");
    await restoreCode(env, consumed.id).catch(() => undefined);
    throw err;
  }
  return row ? userFromRow(row) : null;
}

/** Sets the account's new password, with `extra` statements (cleared lockouts, the audit row) in one batch. */
export async function resetPasswordTo(
  env: Bindings,
  userId: number,
  password: string,
  extra: D1PreparedStatement[],
): Promise<void> {
  await env.DB.batch([
    env.DB.prepare("UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?").bind(
      await hashPassword(password),
      now(),
      userId,
    ),
    ...extra,
  ]);
}
