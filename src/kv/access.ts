/**
 * Access tokens in KV (`at:<sha256(token)>`, docs/storage.md): the VSee token, the portal's session cookie
 * and the register family's bearer token. Read on every authenticated request, so the stored JSON keeps
 * one-letter keys; code reads the named fields of `AccessRecord` (src/types.ts; encode/decode below are the one place
 * that knows the stored letters).
 */
import { now } from "../lib/clock";
import type { AccessRecord } from "../types";
import { kvTtl } from "./keys";
import { decodeProfile, encodeProfile, type StoredProfile } from "./profile";

export const accessKey = (tokenHash: string) => `at:${tokenHash}`;

/**
 * The stored JSON: u user, c clinic, cc clinic code, t type, r roles, s session, e expires, i issued, h heartbeat,
 * m via, g group; p/pt the owner's profile snapshot (kv/profile.ts).
 */
interface StoredAccess extends StoredProfile {
  u: number;
  c: number;
  cc: string;
  t: number;
  r: string[];
  s: string;
  e: number;
  i: number;
  h?: number;
  m?: "code";
  g?: string;
}

function encode(a: AccessRecord): StoredAccess {
  return {
    u: a.userId,
    c: a.clinicId,
    cc: a.clinicCode,
    t: a.type,
    r: a.roles,
    s: a.sessionId,
    e: a.expiresAt,
    i: a.issuedAt,
    h: a.heartbeat,
    ...(a.via ? { m: a.via } : {}),
    ...(a.group ? { g: a.group } : {}),
    ...encodeProfile(a.profile),
  };
}

function decode(s: StoredAccess): AccessRecord {
  return {
    userId: s.u,
    clinicId: s.c,
    clinicCode: s.cc,
    type: s.t,
    roles: s.r,
    sessionId: s.s,
    expiresAt: s.e,
    issuedAt: s.i,
    heartbeat: s.h ?? 300,
    ...(s.m ? { via: s.m } : {}),
    ...(s.g ? { group: s.g } : {}),
    ...decodeProfile(s),
  };
}

export async function putAccess(kv: KVNamespace, tokenHash: string, record: AccessRecord): Promise<void> {
  await kv.put(accessKey(tokenHash), JSON.stringify(encode(record)), {
    expirationTtl: kvTtl(record.expiresAt, now()),
  });
}

/** The token's record, or null when unknown or expired (KV's TTL is garbage collection only). One KV read. */
export async function getAccess(kv: KVNamespace, tokenHash: string): Promise<AccessRecord | null> {
  const stored = await kv.get<StoredAccess>(accessKey(tokenHash), "json");
  if (!stored || stored.e <= now()) return null;
  return decode(stored);
}

export async function deleteAccess(kv: KVNamespace, tokenHash: string): Promise<void> {
  await kv.delete(accessKey(tokenHash));
}

/**
 * Rewrites a live token's record (e.g. to drop the emailed-code privilege once a password is set); false when
 * there was none. A get then a put: a revocation that deletes the key in between is undone by the put, so a
 * caller whose session may end meanwhile checks it afterwards (services/own-profile.ts).
 */
export async function patchAccess(
  kv: KVNamespace,
  tokenHash: string,
  patch: Partial<Omit<AccessRecord, "via">> & { via?: "code" | null },
): Promise<boolean> {
  const record = await getAccess(kv, tokenHash);
  if (!record) return false;
  const { via, ...rest } = patch;
  const next: AccessRecord = { ...record, ...rest };
  if (via === null) delete next.via;
  else if (via) next.via = via;
  await putAccess(kv, tokenHash, next);
  return true;
}
