/**
 * `POST /api_v3/users/activate` against a clinic's eligibility list (seed 000), without being an oracle
 * (issue 16 #6). The answer is the same whatever the details are (`{"data": true}`: if they match an
 * entry, a code was sent); the activation code goes only to the matching entry's own email, never to an
 * address the caller typed; and every attempt for one person (name + date of birth) counts in the lockout
 * store, so that nobody guesses a member's last four SSN digits.
 *
 * Every attempt counts, the right one too, and nothing clears the count: if only wrong guesses counted (or
 * a right one cleared them), whether the next attempt is locked would tell a right guess from a wrong one.
 */
import type { Clinic, EligibilityEntry } from "../db/schema";
import { safeEqual } from "../lib/crypto";
import type { Bindings } from "../types";
import { lockedError, lockedUntil, lockKey, recordFailure } from "./lockout";

export interface ActivationRequest {
  first_name: string;
  last_name: string;
  email: string;
  dob?: string;
  ssn?: string;
}

/** Whom to send the activation code: the address and the names of the new (pending) user. */
export interface ActivationTarget {
  email: string;
  firstName: string;
  lastName: string;
  dob: string | null;
}

const norm = (s: string | undefined | null) => (s ?? "").trim().toLowerCase();

/** The lock of one person of the clinic's list, as the request names them (name + date of birth). */
export function activationLockKey(request: ActivationRequest): Promise<string> {
  return lockKey(
    "activate",
    JSON.stringify([norm(request.first_name), norm(request.last_name), request.dob ?? ""]),
  );
}

/** The entry the request's details match (names, date of birth, and the SSN digits and email it has). */
export function eligibleEntry(
  list: EligibilityEntry[],
  request: ActivationRequest,
): EligibilityEntry | undefined {
  let found: EligibilityEntry | undefined;
  // Every entry is compared (no early exit), the SSN digits in constant time.
  for (const e of list) {
    const matches = [
      norm(e.first_name) === norm(request.first_name),
      norm(e.last_name) === norm(request.last_name),
      !e.dob || e.dob === request.dob,
      !e.ssn || safeEqual(e.ssn, request.ssn ?? ""),
      !e.email || norm(e.email) === norm(request.email),
    ].every(Boolean);
    if (matches && !found) found = e;
  }
  return found;
}

/**
 * Decides an activation request: throws 429 while the person is locked, counts the attempt, and returns
 * whom to send the code (null: nobody, and the caller gets the same answer). Without an eligibility list
 * the seed's flow stands: the code goes to the address given, which receiving it proves.
 */
export async function activationTarget(
  env: Bindings,
  clinic: Pick<Clinic, "id" | "settings" | "eligibility">,
  request: ActivationRequest,
): Promise<ActivationTarget | null> {
  if (!clinic.eligibility) {
    return {
      email: request.email,
      firstName: request.first_name,
      lastName: request.last_name,
      dob: request.dob ?? null,
    };
  }
  const key = await activationLockKey(request);
  const until = await lockedUntil(env, clinic.id, key);
  if (until) throw lockedError(until);
  await recordFailure(env, clinic, key);
  const entry = eligibleEntry(clinic.eligibility, request);
  // An entry without an email of its own cannot be activated here: the caller's address proves nothing.
  if (!entry?.email) return null;
  return { email: entry.email, firstName: entry.first_name, lastName: entry.last_name, dob: entry.dob };
}
