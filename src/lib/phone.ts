/**
 * Mobile numbers of the accounts family. Philippine mobiles (09XXXXXXXXX or +639XXXXXXXXX, with spaces or
 * dashes allowed) are stored in the local form 09XXXXXXXXX, so that both spellings find the same account;
 * they are the numbers that receive SMS codes. Other numbers are kept as digits with an optional leading +.
 */

/** Removes spaces, dashes, dots and parentheses. */
function compact(raw: string): string {
  return raw.trim().replace(/[\s().-]/g, "");
}

/** The stored form of a mobile number, or null when it is not a phone number. */
export function normalizeMobile(raw: string): string | null {
  const v = compact(raw);
  const ph = /^(?:\+63|0)(9\d{9})$/.exec(v);
  if (ph) return `0${ph[1]}`;
  return /^\+?\d{7,15}$/.test(v) ? v : null;
}

/** True for a Philippine mobile number (in stored form or either accepted spelling). */
export function isPhilippineMobile(value: string): boolean {
  return /^(?:\+63|0)9\d{9}$/.test(compact(value));
}
