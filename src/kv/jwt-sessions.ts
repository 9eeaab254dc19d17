/**
 * Accounts-family session liveness in KV (`js:<sessionId>`, docs/storage.md): a session's JWTs (`sid`
 * claim) are accepted only while this key exists. Ending the session deletes it (services/sessions.ts).
 */
import { now } from "../lib/clock";
import type { ProfileSnapshot } from "../types";
import { kvTtl } from "./keys";
import { decodeProfile, encodeProfile, type StoredProfile } from "./profile";

export const jwtSessionKey = (sessionId: string) => `js:${sessionId}`;

export interface LiveSession {
  userId: number;
  clinicId: number;
  /** The session's expiry (unix s). */
  expiresAt: number;
  /** The account's profile snapshot (kv/profile.ts). */
  profile?: ProfileSnapshot;
}

/** The stored JSON: u user, c clinic, e expiry; p/pt the profile snapshot. */
interface StoredSession extends StoredProfile {
  u: number;
  c: number;
  e: number;
}

export async function putJwtSession(kv: KVNamespace, sessionId: string, live: LiveSession): Promise<void> {
  const stored: StoredSession = {
    u: live.userId,
    c: live.clinicId,
    e: live.expiresAt,
    ...encodeProfile(live.profile),
  };
  await kv.put(jwtSessionKey(sessionId), JSON.stringify(stored), {
    expirationTtl: kvTtl(live.expiresAt, now()),
  });
}

/** The live session, or null when it ended or expired. One KV read. */
export async function getJwtSession(kv: KVNamespace, sessionId: string): Promise<LiveSession | null> {
  const stored = await kv.get<StoredSession>(jwtSessionKey(sessionId), "json");
  if (!stored || stored.e <= now()) return null;
  return { userId: stored.u, clinicId: stored.c, expiresAt: stored.e, ...decodeProfile(stored) };
}

/** Rewrites a live session's record with a new profile snapshot; false when there was none (see patchAccess). */
export async function patchJwtSession(
  kv: KVNamespace,
  sessionId: string,
  profile: ProfileSnapshot,
): Promise<boolean> {
  const live = await getJwtSession(kv, sessionId);
  if (!live) return false;
  await putJwtSession(kv, sessionId, { ...live, profile });
  return true;
}

export async function deleteJwtSession(kv: KVNamespace, sessionId: string): Promise<void> {
  await kv.delete(jwtSessionKey(sessionId));
}
