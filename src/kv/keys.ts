/**
 * What every KV store of Clinic Edge shares (each store, with its key builder, is one file of src/kv/;
 * docs/storage.md is the one page of every key: pattern, value, TTL). Secrets are never keys: tokens
 * appear only as their SHA-256. KV refuses TTLs under 60 s and its TTL is garbage collection only: every
 * value carries its own expiry, checked against the injectable clock.
 */
export const KV_MIN_TTL = 60;

/** TTL for KV: at least 60 s, and a little past the logical expiry so clock skew never resurrects. */
export function kvTtl(expiresAt: number, now: number): number {
  return Math.max(KV_MIN_TTL, expiresAt - now + 60);
}
