/**
 * The caller's own profile, kept with the token's KV record (`at:` and `js:`, docs/storage.md "Profile
 * snapshots"): what `GET /api_v3/me` and `GET /accounts/{uid}` answer, so that the hot own-profile reads
 * cost the one KV read that authenticates them and no D1 read. A snapshot is believed for
 * `PROFILE_MAX_AGE` seconds after it was taken (KV's own propagation bound), then the users row is read
 * again (services/own-profile.ts). No secret is in it: never the password hash, the TOTP secret or details.
 */
import { type OwnProfile, PROFILE_FIELDS } from "../db/own-profile";
import { now } from "../lib/clock";
import type { ProfileSnapshot } from "../types";

/** Seconds a snapshot is believed: the bound on a profile's staleness when a rewrite was missed or failed. */
export const PROFILE_MAX_AGE = 60;

export function snapshotOf(user: OwnProfile): ProfileSnapshot {
  const profile = Object.fromEntries(PROFILE_FIELDS.map((f) => [f, user[f]])) as OwnProfile;
  return { profile, at: now() };
}

/** The snapshot's profile while it is fresh, else null. */
export function freshProfile(snapshot: ProfileSnapshot | undefined): OwnProfile | null {
  if (!snapshot) return null;
  const t = now();
  return snapshot.at <= t && t < snapshot.at + PROFILE_MAX_AGE ? snapshot.profile : null;
}

/** The stored form: p profile, pt taken at (beside each record's own one-letter keys). */
export interface StoredProfile {
  p?: OwnProfile;
  pt?: number;
}

export const encodeProfile = (s: ProfileSnapshot | undefined): StoredProfile =>
  s ? { p: s.profile, pt: s.at } : {};

export const decodeProfile = (s: StoredProfile): { profile?: ProfileSnapshot } =>
  s.p && typeof s.pt === "number" ? { profile: { profile: s.p, at: s.pt } } : {};
