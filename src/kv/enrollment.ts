/**
 * Register-family enrollment tokens in KV (`enr:<sha256(token)>`, docs/storage.md): the single-use
 * `X-Ionic-Reg-Stoken` of seed 003. Spending one is decided by the clinic's Durable Object; the key is
 * deleted after.
 */
import { now } from "../lib/clock";
import { kvTtl } from "./keys";

export const enrollmentKey = (tokenHash: string) => `enr:${tokenHash}`;

export interface EnrollmentRecord {
  userId: number;
  clinicId: number;
  clinicCode: string;
  /** Unix seconds. */
  expiresAt: number;
}

/** The stored JSON: u user, c clinic, cc clinic code, e expiry. */
interface StoredEnrollment {
  u: number;
  c: number;
  cc: string;
  e: number;
}

export async function putEnrollment(kv: KVNamespace, tokenHash: string, r: EnrollmentRecord): Promise<void> {
  const stored: StoredEnrollment = { u: r.userId, c: r.clinicId, cc: r.clinicCode, e: r.expiresAt };
  await kv.put(enrollmentKey(tokenHash), JSON.stringify(stored), {
    expirationTtl: kvTtl(r.expiresAt, now()),
  });
}

/** The token's record, or null when unknown or expired. */
export async function getEnrollment(kv: KVNamespace, tokenHash: string): Promise<EnrollmentRecord | null> {
  const s = await kv.get<StoredEnrollment>(enrollmentKey(tokenHash), "json");
  if (!s || s.e <= now()) return null;
  return { userId: s.u, clinicId: s.c, clinicCode: s.cc, expiresAt: s.e };
}

export async function deleteEnrollment(kv: KVNamespace, tokenHash: string): Promise<void> {
  await kv.delete(enrollmentKey(tokenHash));
}
