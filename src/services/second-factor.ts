/**
 * The second factor at every door that turns a password or an emailed token into a session (DESIGN.md
 * "Two-factor", SECURITY.md "Doors and two-factor"): a user with TOTP on needs a current code as well.
 * Wrong codes count under the account's own TOTP lock (`totpLockKey`), whichever door or MFA action they
 * came through, and only a right code clears it: a right password never does.
 *
 * The portal asks for the code on a page of its own. That page carries a state that binds it to the
 * password step (`secondStepState`): who passed it, in which clinic, until when, MAC'd (HMAC-SHA256 keyed by
 * JWT_SECRET, its own purpose) together with the browser's login nonce and the user's password hash, TOTP
 * secret and last used TOTP step. So the state works only in the browser that passed the password step,
 * only for a few minutes, and dies when the password or the TOTP secret changes or when a code has signed
 * the user in (a replay after success is refused), with nothing stored.
 */

import { decodeBase64Url } from "hono/utils/encode";
import type { Clinic, User } from "../db/schema";
import { now } from "../lib/clock";
import { base64url, hmacSha256, safeEqual } from "../lib/crypto";
import type { Bindings } from "../types";
import { getClinicById } from "./clinics";
import { clearFailures, lockedUntil, recordFailure, totpLockKey } from "./lockout";
import { claimTotp } from "./mfa";
import { getUser, STATUS_ACTIVE } from "./users";

export type SecondFactor =
  /** The code was right: `clear` (the TOTP lock's reset) goes into the success batch. */
  | { ok: true; clear: D1PreparedStatement }
  | { ok: false; reason: "missing" | "invalid" }
  | { ok: false; reason: "locked"; until: number };

/**
 * Checks the second factor of a user with TOTP on, after the first factor was verified: refused while the
 * account's TOTP lock lasts (even the right code), "missing" without a code (not counted), else the code is
 * claimed (services/mfa.ts: once per step) or counted as a failure.
 */
export async function checkSecondFactor(
  env: Bindings,
  clinic: Pick<Clinic, "id" | "settings">,
  user: Pick<User, "id" | "mfaSecret">,
  code: string | undefined,
): Promise<SecondFactor> {
  const key = await totpLockKey(user.id);
  const until = await lockedUntil(env, clinic.id, key);
  if (until) return { ok: false, reason: "locked", until };
  if (!code) return { ok: false, reason: "missing" };
  if (await claimTotp(env, user, code)) return { ok: true, clear: clearFailures(env.DB, clinic.id, key) };
  const locked = await recordFailure(env, clinic, key);
  return locked ? { ok: false, reason: "locked", until: locked } : { ok: false, reason: "invalid" };
}

// ---------- the portal's code page ----------

/** How long the code page stays valid after the password step (seconds). */
export const SECOND_STEP_TTL = 5 * 60;

interface StepPayload {
  /** user id */
  u: number;
  /** clinic id */
  c: number;
  /** expires at (unix s) */
  e: number;
}

type Bound = Pick<User, "passwordHash" | "mfaSecret" | "mfaLastStep">;

async function mac(secret: string, payload: string, nonce: string, user: Bound): Promise<string> {
  const binding = [nonce, user.passwordHash ?? "", user.mfaSecret ?? "", user.mfaLastStep ?? ""].join("\n");
  return base64url(await hmacSha256(secret, `portal-second-step:${payload}\n${binding}`));
}

/** The state of the code page for `user`, who has just passed the password step in the browser of `nonce`. */
export async function secondStepState(
  env: Bindings,
  user: Pick<User, "id" | "clinicId"> & Bound,
  nonce: string,
): Promise<string> {
  const body: StepPayload = { u: user.id, c: user.clinicId, e: now() + SECOND_STEP_TTL };
  const payload = base64url(new TextEncoder().encode(JSON.stringify(body)));
  return `${payload}.${await mac(env.JWT_SECRET, payload, nonce, user)}`;
}

function parsePayload(payload: string): StepPayload | null {
  try {
    const p = JSON.parse(new TextDecoder().decode(decodeBase64Url(payload))) as Partial<StepPayload>;
    const int = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v > 0;
    return int(p.u) && int(p.c) && int(p.e) ? { u: p.u, c: p.c, e: p.e } : null;
  } catch {
    return null;
  }
}

/**
 * Opens a code page's state presented with the browser's login nonce: the user and clinic it names, when
 * the MAC matches (current or previous JWT_SECRET), it has not expired, nothing it is bound to changed, and
 * the user may still sign in with two-factor. Null otherwise.
 */
export async function openSecondStepState(
  env: Bindings,
  state: string,
  nonce: string | undefined,
): Promise<{ user: User; clinic: Clinic } | null> {
  if (!nonce || state.length > 512) return null;
  const m = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/.exec(state);
  const payload = m?.[1];
  const presented = m?.[2];
  const body = payload ? parsePayload(payload) : null;
  if (!payload || !presented || !body || body.e <= now()) return null;
  const [user, clinic] = await Promise.all([getUser(env, body.c, body.u), getClinicById(env, body.c)]);
  if (!user || !clinic) return null;
  let matched = false;
  for (const secret of [env.JWT_SECRET, env.JWT_SECRET_PREVIOUS]) {
    if (secret && safeEqual(await mac(secret, payload, nonce, user), presented)) matched = true;
  }
  if (!matched) return null;
  if (clinic.disabled || user.disabled || user.status !== STATUS_ACTIVE || !user.mfaEnabled) return null;
  return { user, clinic };
}
