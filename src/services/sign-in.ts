/**
 * Sign-in with a username and password, or (pending users, resets) an email and emailed token, shared by
 * POST /api_v3/users/login and the portal's /login form (DESIGN.md "Brute force"): one read batch for the
 * clinic, the user and the identity's lockout; unknown clinics, unknown users, wrong secrets and disabled
 * users fail alike (401, and an unknown user costs the same password hash); failures count towards a
 * per-identity lockout in D1 (429 with Retry-After, even for the right secret while locked; a known
 * account's password failures count under the account, whichever identity was tried). A success
 * clears the failures and starts a session of the caller's kind in the same batch.
 *
 * Two-factor (DESIGN.md "Two-factor"): a user with TOTP on also needs a current code (`totp`), after the
 * password or the emailed token was verified. Without one the sign-in answers `secondFactor` (the API
 * refuses; the portal shows its code page, whose submission ends in `signInSecondStep`); a wrong code is
 * refused and counts under the account's TOTP lock (services/second-factor.ts), which only a right code
 * clears. No session is started until both factors passed.
 */
import type { Clinic, User } from "../db/schema";
import { now } from "../lib/clock";
import { ApiError } from "../lib/errors";
import { hashPassword, needsRehash, verifyPassword } from "../lib/password";
import type { Bindings } from "../types";
import { type AuditEntry, type AuditSource, auditStatement } from "./audit";
import { consumeCode } from "./codes";
import { accountLockKey, clearFailures, lockedError, lockKey, recordFailure } from "./lockout";
import { checkSecondFactor, openSecondStepState } from "./second-factor";
import { type IssuedTokens, type SessionKind, startSession } from "./sessions";
import { lastLoginStatement, rehashStatement, STATUS_ACTIVE, signInLookup } from "./users";

export type Credentials = ({ username: string; password: string } | { email: string; emailToken: string }) & {
  /** The current TOTP code, for users with two-factor on. */
  totp?: string;
};

/** Where the sign-in's audit rows go: its request's source, and a way to write a row after the response. */
export interface SignInAudit {
  source: AuditSource;
  later(entry: AuditEntry): void;
}

export interface SignedIn {
  user: User;
  clinic: Clinic;
  tokens: IssuedTokens;
  /** When the user signed in (the new `last_login`). */
  at: number;
}

/** The first factor was right, but the user has two-factor on and sent no code: nothing was started. */
export interface SecondFactorNeeded {
  secondFactor: { user: User; clinic: Clinic };
}

export async function signIn(
  env: Bindings,
  clinicCode: string,
  credentials: Credentials,
  kind: SessionKind,
  audit: SignInAudit,
): Promise<SignedIn | SecondFactorNeeded> {
  const byPassword = "username" in credentials;
  const identity = byPassword ? credentials.username : credentials.email;
  const key = await lockKey(byPassword ? "login" : "code", identity);
  const found = await signInLookup(
    env,
    clinicCode,
    byPassword ? { username: identity } : { email: identity },
    key,
    byPassword,
  );
  const clinic = found.clinic;
  const method = byPassword ? "password" : "email_token";
  // Failures are audited after the response (no batch to join); successes inside the session batch.
  const refused = (clinicId: number | null, reason: string, subject?: number) =>
    audit.later({
      event: "sign_in",
      outcome: "failure",
      clinic: clinicId,
      subjectUserId: subject,
      details: { method, reason, kind },
    });
  if (!clinic || clinic.disabled) {
    await verifyPassword(byPassword ? credentials.password : "", null); // same time as a real attempt
    refused(clinic?.id ?? null, clinic ? "clinic_disabled" : "unknown_clinic");
    throw new ApiError("invalid_credentials");
  }
  const user = found.user;
  if (found.lockedUntil && found.lockedUntil > now()) {
    refused(clinic.id, "locked", user?.id);
    throw lockedError(found.lockedUntil);
  }
  // A known account's password failures count under the account, whichever identity named it.
  const failureKey = byPassword && user ? accountLockKey(user.id) : key;
  const fail = async (message?: string): Promise<never> => {
    const locked = await recordFailure(env, clinic, failureKey);
    refused(clinic.id, locked ? "locked" : "invalid", user?.id);
    if (locked) throw lockedError(locked);
    throw new ApiError("invalid_credentials", message ? { message } : {});
  };
  const extra: D1PreparedStatement[] = [clearFailures(env.DB, clinic.id, key)];
  if (failureKey !== key) extra.push(clearFailures(env.DB, clinic.id, failureKey));
  let via: "code" | undefined;

  if (byPassword) {
    const ok = await verifyPassword(credentials.password, user?.passwordHash);
    if (!ok || !user || user.disabled || user.status !== STATUS_ACTIVE) return fail();
    if (user.passwordHash && needsRehash(user.passwordHash)) {
      const rehashed = await hashPassword(credentials.password);
      extra.push(rehashStatement(env.DB, user.id, rehashed));
    }
  } else {
    // An unknown or disabled identity runs the same statements (against no user): the same work and time.
    const consumed = await consumeCode(env, {
      clinicId: clinic.id,
      userId: user && !user.disabled ? user.id : null,
      purposes: ["activation", "vsee_reset"],
      code: credentials.emailToken,
    });
    if (!consumed || !user) return fail("Invalid email or email token");
    via = "code";
    extra.push(env.DB.prepare("UPDATE users SET email_verified = 1 WHERE id = ?").bind(user.id));
  }

  if (user.mfaEnabled) {
    // The second factor, after the first one was verified (so that it tells nothing to a guesser).
    const second = await checkSecondFactor(env, clinic, user, credentials.totp);
    if (!second.ok) {
      refused(clinic.id, second.reason === "locked" ? "locked" : `totp_${second.reason}`, user.id);
      if (second.reason === "locked") throw lockedError(second.until);
      if (second.reason === "missing") return { secondFactor: { user, clinic } };
      throw new ApiError("mfa_required");
    }
    extra.push(second.clear);
  }
  return finish(env, user, clinic, kind, extra, audit, user.mfaEnabled ? `${method}+totp` : method, via);
}

/**
 * The portal's second step: the state of its code page (services/second-factor.ts: bound to the password
 * step, the browser's login nonce and the user's current secrets) and a TOTP code. A state that does not
 * open is `invalid_token`; a wrong code `mfa_required` (counted), a locked account 429.
 */
export async function signInSecondStep(
  env: Bindings,
  state: string,
  nonce: string | undefined,
  code: string,
  audit: SignInAudit,
): Promise<SignedIn> {
  const opened = await openSecondStepState(env, state, nonce);
  if (!opened) {
    audit.later({
      event: "sign_in",
      outcome: "failure",
      clinic: null,
      details: { method: "password+totp", reason: "second_step_invalid", kind: "portal" },
    });
    throw new ApiError("sign_in_expired");
  }
  const { user, clinic } = opened;
  const second = await checkSecondFactor(env, clinic, user, code);
  if (!second.ok) {
    const reason = second.reason === "locked" ? "locked" : "totp_invalid";
    audit.later({
      event: "sign_in",
      outcome: "failure",
      clinic: clinic.id,
      subjectUserId: user.id,
      details: { method: "password+totp", reason, kind: "portal" },
    });
    if (second.reason === "locked") throw lockedError(second.until);
    throw new ApiError("mfa_required");
  }
  // Both factors passed: the password failures are cleared as a first-step success would have.
  const extra = [second.clear, clearFailures(env.DB, clinic.id, accountLockKey(user.id))];
  return finish(env, user, clinic, "portal", extra, audit, "password+totp");
}

/** A success: `last_login`, the audit row and the session, with `extra`, in one batch. */
async function finish(
  env: Bindings,
  user: User,
  clinic: Clinic,
  kind: SessionKind,
  extra: D1PreparedStatement[],
  audit: SignInAudit,
  method: string,
  via?: "code",
): Promise<SignedIn> {
  const at = now();
  extra.push(
    lastLoginStatement(env.DB, user.id, at),
    auditStatement(env.DB, audit.source, {
      event: "sign_in",
      outcome: "success",
      clinic: clinic.id,
      actorUserId: user.id,
      subjectUserId: user.id,
      details: { method, kind },
    }),
  );
  const tokens = await startSession(env, user, clinic, kind, extra, { via });
  return { user, clinic, tokens, at };
}
