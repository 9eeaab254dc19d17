/**
 * Per-identity failure counters (DESIGN.md "Brute force"), in D1 so that every location sees the same
 * count at once. After `threshold` failures (none more than 15 minutes apart) the identity is locked for
 * a period that doubles with every further lockout (capped, a day by default); while locked even the right
 * secret is refused. Threshold, first period and cap are per clinic (settings.lockoutThreshold,
 * lockoutBaseSeconds, lockoutMaxSeconds). Rows idle for a week are pruned by the cron handler.
 * Identities are stored as SHA-256, never in clear; an existing account's password failures are counted
 * under its user id (`accountLockKey`), whichever of its identities was tried. Wrong TOTP codes count
 * under a key of their own (`totpLockKey`), at every door and in the MFA actions alike; only a right TOTP
 * code clears it, never a right password (else a password sign-in between rounds of guesses would
 * reset the count).
 */
import type { Clinic } from "../db/schema";
import { now } from "../lib/clock";
import { sha256Hex } from "../lib/crypto";
import { ApiError } from "../lib/errors";
import type { Bindings } from "../types";

export const DEFAULT_LOCKOUT_THRESHOLD = 5;
export const DEFAULT_LOCKOUT_BASE_SECONDS = 60;
export const DEFAULT_LOCKOUT_MAX_SECONDS = 24 * 3600;
/** Failures further apart than this start the count again. */
export const LOCKOUT_WINDOW_SECONDS = 15 * 60;

export type LockKind = "login" | "code" | "totp" | "activate";

export async function lockKey(kind: LockKind, identity: string): Promise<string> {
  return sha256Hex(`${kind}:${identity.trim().toLowerCase()}`);
}

/**
 * The password lock of an existing account, whatever identity named it (username, email or mobile
 * number): their failures count together. Keyed by the internal user id, which is not an identifier
 * anybody types (so not hashed: sign-in reads it in SQL). Unknown identities keep a lock of their own.
 */
export const ACCOUNT_LOCK_PREFIX = "login:user:";
export const accountLockKey = (userId: number) => `${ACCOUNT_LOCK_PREFIX}${userId}`;

/** The second-factor lock of an account: wrong TOTP codes, whichever door or action they came through. */
export function totpLockKey(userId: number): Promise<string> {
  return lockKey("totp", String(userId));
}

/** The clinic's lockout policy (settings, else the defaults above). */
export function lockoutPolicy(clinic: Pick<Clinic, "settings">) {
  return {
    threshold: clinic.settings?.lockoutThreshold ?? DEFAULT_LOCKOUT_THRESHOLD,
    base: clinic.settings?.lockoutBaseSeconds ?? DEFAULT_LOCKOUT_BASE_SECONDS,
    max: clinic.settings?.lockoutMaxSeconds ?? DEFAULT_LOCKOUT_MAX_SECONDS,
  };
}

export function lockedError(until: number): ApiError {
  const retry = Math.max(1, until - now());
  return new ApiError("locked", { headers: { "Retry-After": String(retry) } });
}

/** When the identity's lock ends, or null when it is not locked. */
export async function lockedUntil(env: Bindings, clinicId: number, keyHash: string): Promise<number | null> {
  const row = await env.DB.prepare(
    "SELECT locked_until FROM auth_failures WHERE clinic_id = ? AND key_hash = ?",
  )
    .bind(clinicId, keyHash)
    .first<{ locked_until: number | null }>();
  return row?.locked_until && row.locked_until > now() ? row.locked_until : null;
}

/** Throws 429 (with Retry-After) while the identity is locked. */
export async function assertNotLocked(env: Bindings, clinicId: number, keyHash: string): Promise<void> {
  const until = await lockedUntil(env, clinicId, keyHash);
  if (until) throw lockedError(until);
}

/** Counts a failure; returns the lock's end when this failure locked the identity. */
export async function recordFailure(
  env: Bindings,
  clinic: Pick<Clinic, "id" | "settings">,
  keyHash: string,
): Promise<number | null> {
  const t = now();
  const { threshold, base, max } = lockoutPolicy(clinic);
  const next = `(CASE WHEN updated_at < ?3 - ${LOCKOUT_WINDOW_SECONDS} THEN 1 ELSE failures + 1 END)`;
  const row = await env.DB.prepare(
    `INSERT INTO auth_failures (clinic_id, key_hash, failures, lockouts, locked_until, updated_at)
     VALUES (?1, ?2, CASE WHEN ?4 <= 1 THEN 0 ELSE 1 END, CASE WHEN ?4 <= 1 THEN 1 ELSE 0 END,
             CASE WHEN ?4 <= 1 THEN ?3 + min(?5, ?6) END, ?3)
     ON CONFLICT (clinic_id, key_hash) DO UPDATE SET
       failures = CASE WHEN ${next} >= ?4 THEN 0 ELSE ${next} END,
       locked_until = CASE WHEN ${next} >= ?4 THEN ?3 + min(?5 * (1 << min(lockouts, 16)), ?6) ELSE locked_until END,
       lockouts = CASE WHEN ${next} >= ?4 THEN lockouts + 1 ELSE lockouts END,
       updated_at = ?3
     RETURNING locked_until`,
  )
    .bind(clinic.id, keyHash, t, threshold, base, max)
    .first<{ locked_until: number | null }>();
  return row?.locked_until && row.locked_until > t ? row.locked_until : null;
}

/** Clears an identity's failures after a success (a statement to put in the success batch). */
export function clearFailures(d1: D1Database, clinicId: number, keyHash: string): D1PreparedStatement {
  return d1.prepare("DELETE FROM auth_failures WHERE clinic_id = ? AND key_hash = ?").bind(clinicId, keyHash);
}
