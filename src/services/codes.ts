/**
 * Single-use codes: verification, reset, activation, identity and password change, email-token login.
 * Random, short-lived, bound to one user (the row's user_id, which every lookup filters on) and purpose,
 * stored as an HMAC (keyed by a server secret, so a leaked table does not yield codes), limited in
 * attempts, capped per user and hour by the statements that write them, and consumed by one conditional
 * UPDATE (which an unknown identity runs too, against no user).
 */
import type { Clinic } from "../db/schema";
import { now } from "../lib/clock";
import { hmacHex, randomString } from "../lib/crypto";
import type { Bindings } from "../types";
import type { UserRef } from "./sessions";

export type CodePurpose =
  | "vsee_reset"
  | "activation"
  | "email_verify"
  | "sms_verify"
  | "identity_change"
  | "password_change"
  | "password_reset";

export const MAX_CODE_ATTEMPTS = 5;

/** A user id no row has (ids start at 1): what `consumeCode` matches for an unknown identity. */
const NO_USER = -1;

const DIGITS = "0123456789";
const TOKEN_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789";

export type CodeFormat = "digits6" | "token8";

export function newCode(format: CodeFormat): string {
  return format === "digits6" ? randomString(6, DIGITS) : randomString(8, TOKEN_ALPHABET);
}

export function codeHash(
  env: Pick<Bindings, "JWT_SECRET">,
  clinicId: number,
  purpose: CodePurpose,
  code: string,
) {
  return hmacHex(env.JWT_SECRET, `code:${clinicId}:${purpose}:${code.trim().toLowerCase()}`);
}

/** Codes of one purpose a user may be sent per hour, unless the clinic sets `settings.codesPerHour`. */
export const DEFAULT_CODES_PER_HOUR = 5;

/** Codes of one purpose a user may be sent per hour in this clinic. */
export function codesPerHour(clinic: Pick<Clinic, "settings">): number {
  return clinic.settings?.codesPerHour ?? DEFAULT_CODES_PER_HOUR;
}

/** A SQL condition with its parameters (for a statement's WHERE). */
export interface Condition {
  sql: string;
  params: unknown[];
}

/**
 * A new code for a user: its id, or (for a user created earlier in the same batch) a condition on
 * `users` that selects it, as in sessions.ts; when the condition selects nobody, nothing is written.
 * Any earlier unused code of the same purpose is retired in the same batch.
 *
 * With `perHour`, the cap on codes of this purpose sent to the user in the last hour is part of the
 * same statements (`… AND (SELECT count(*) …) < perHour`), so that concurrent requests cannot all pass a
 * check made before the write: over the cap, nothing is retired and nothing is written.
 *
 * Returns the code, the statements to batch, and `issued`: a condition true only when this code was
 * written (its message's statement takes it, so that no message goes out for a code that was not).
 */
export async function issueCode(
  env: Bindings,
  input: {
    clinicId: number;
    userId: UserRef;
    purpose: CodePurpose;
    ttlSeconds: number;
    format: CodeFormat;
    payload?: Record<string, unknown>;
    perHour?: number;
  },
): Promise<{ code: string; statements: D1PreparedStatement[]; issued: Condition }> {
  const code = newCode(input.format);
  const t = now();
  const hash = await codeHash(env, input.clinicId, input.purpose, code);
  const ref = typeof input.userId === "number" ? { where: "id = ?", params: [input.userId] } : input.userId;
  const cap =
    input.perHour === undefined
      ? { sql: "", params: [] as unknown[] }
      : {
          sql: `AND (SELECT count(*) FROM codes k WHERE k.clinic_id = users.clinic_id AND k.user_id = users.id
                  AND k.purpose = ? AND k.created_at >= ?) < ?`,
          params: [input.purpose, t - 3600, input.perHour],
        };
  const user = `SELECT id FROM users WHERE clinic_id = ? AND ${ref.where} ${cap.sql}`;
  const userParams = [input.clinicId, ...ref.params, ...cap.params];
  return {
    code,
    statements: [
      env.DB.prepare(
        `UPDATE codes SET used_at = ? WHERE clinic_id = ? AND user_id IN (${user}) AND purpose = ? AND used_at IS NULL`,
      ).bind(t, input.clinicId, ...userParams, input.purpose),
      env.DB.prepare(
        `INSERT INTO codes (clinic_id, user_id, purpose, code_hash, payload, attempts, created_at, expires_at)
         SELECT ?, id, ?, ?, ?, 0, ?, ? FROM users WHERE clinic_id = ? AND ${ref.where} ${cap.sql}`,
      ).bind(
        input.clinicId,
        input.purpose,
        hash,
        JSON.stringify(input.payload ?? {}),
        t,
        t + input.ttlSeconds,
        ...userParams,
      ),
    ],
    issued: {
      sql: `EXISTS (SELECT 1 FROM codes WHERE clinic_id = ? AND purpose = ? AND code_hash = ? AND created_at = ?
              AND used_at IS NULL AND user_id IN (SELECT id FROM users WHERE clinic_id = ? AND ${ref.where}))`,
      params: [input.clinicId, input.purpose, hash, t, input.clinicId, ...ref.params],
    },
  };
}

/**
 * Consumes a code: one UPDATE that succeeds for exactly one caller. A wrong guess counts an attempt
 * against every live code of these purposes; a code dies after MAX_CODE_ATTEMPTS.
 * Returns the consumed code's purpose and payload, or null.
 *
 * `userId: null` (an unknown or disabled identity) runs the very same hashes and statements against a user
 * id that no row has, so that a code route does the same work, and takes the same time, for an identity
 * that does not exist as for one that does.
 */
/**
 * Puts a consumed code back (unspent), when what it was spent for could not be written: the client's retry
 * with the same code then succeeds once. Attempts are left as they are.
 */
export async function restoreCode(env: Bindings, id: number): Promise<void> {
  await env.DB.prepare("UPDATE codes SET used_at = NULL WHERE id = ?").bind(id).run();
}

export async function consumeCode(
  env: Bindings,
  input: { clinicId: number; userId: number | null; purposes: CodePurpose[]; code: string },
): Promise<{ id: number; purpose: CodePurpose; payload: Record<string, unknown> } | null> {
  const t = now();
  const userId = input.userId ?? NO_USER;
  // During a rotation of JWT_SECRET, codes sent before it still work (their hash used the previous secret).
  const secrets = [env.JWT_SECRET, env.JWT_SECRET_PREVIOUS].filter((s): s is string => Boolean(s));
  const hashes = await Promise.all(
    secrets.flatMap((secret) =>
      input.purposes.map((p) => codeHash({ JWT_SECRET: secret }, input.clinicId, p, input.code)),
    ),
  );
  const marks = input.purposes.map(() => "?").join(", ");
  const hashMarks = hashes.map(() => "?").join(", ");
  const row = await env.DB.prepare(
    `UPDATE codes SET used_at = ?
     WHERE clinic_id = ? AND user_id = ? AND purpose IN (${marks}) AND code_hash IN (${hashMarks})
       AND used_at IS NULL AND expires_at > ? AND attempts < ?
     RETURNING id, purpose, payload`,
  )
    .bind(t, input.clinicId, userId, ...input.purposes, ...hashes, t, MAX_CODE_ATTEMPTS)
    .first<{ id: number; purpose: CodePurpose; payload: string }>();
  if (row) return { id: row.id, purpose: row.purpose, payload: JSON.parse(row.payload) };
  await env.DB.prepare(
    `UPDATE codes SET attempts = attempts + 1
     WHERE clinic_id = ? AND user_id = ? AND purpose IN (${marks}) AND used_at IS NULL AND expires_at > ?`,
  )
    .bind(input.clinicId, userId, ...input.purposes, t)
    .run();
  return null;
}
