/**
 * Every KV key of Clinic Edge (documented in docs/storage.md): pattern, value, TTL.
 * Secrets are never keys: tokens appear only as their SHA-256.
 * KV refuses TTLs under 60 s and its TTL is garbage collection only: every value carries its own
 * expiry, checked against the injectable clock.
 */
export const KV_MIN_TTL = 60;

export const kvKeys = {
  /** Access token (VSee token, portal session cookie): value AccessRecord. */
  access: (tokenHash: string) => `at:${tokenHash}`,
  /** Accounts-family session liveness (JWTs are bound to it): value {u, c, e}. */
  jwtSession: (sessionId: string) => `js:${sessionId}`,
  /** Heartbeat: value {last_connected, heartbeat, until}; metadata {until} so that a list needs no reads. */
  alive: (clinicId: number, userId: number) => `alive:${clinicId}:${userId}`,
  alivePrefix: (clinicId: number) => `alive:${clinicId}:`,
  /** Register-family enrollment token (X-Ionic-Reg-Stoken): value {u, c, cc, e}; spent in the care-record DO. */
  enrollment: (tokenHash: string) => `enr:${tokenHash}`,
} as const;

/** TTL for KV: at least 60 s, and a little past the logical expiry so clock skew never resurrects. */
export function kvTtl(expiresAt: number, now: number): number {
  return Math.max(KV_MIN_TTL, expiresAt - now + 60);
}
