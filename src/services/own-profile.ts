/**
 * Own-profile reads without D1 (docs/storage.md "Profile snapshots"). `GET /api_v3/me` and
 * `GET /accounts/{uid}` answer from the profile kept with the token's KV record while it is fresh, so they
 * cost the one KV read that authenticates them; a revoked token is refused as before (its key is gone).
 * A stale or missing snapshot is read from D1 and written back after the response. Writes to a user's
 * profile rewrite the snapshots of all the user's live sessions before they answer (`refreshProfiles`).
 */

import type { OwnProfile } from "../db/own-profile";
import { deleteAccess, patchAccess } from "../kv/access";
import { deleteJwtSession, patchJwtSession } from "../kv/jwt-sessions";
import { freshProfile, snapshotOf } from "../kv/profile";
import { now } from "../lib/clock";
import type { Bindings, ProfileSnapshot } from "../types";
import type { Later } from "./sessions";
import { getUser } from "./users";

/** Where a snapshot is kept: an opaque access token's record (`at:`) or an accounts session's (`js:`). */
export type ProfileHolder = { kind: "access"; tokenHash: string } | { kind: "session"; sessionId: string };

const keyOf = (h: ProfileHolder) => (h.kind === "access" ? `at:${h.tokenHash}` : `js:${h.sessionId}`);

/**
 * The caller's own profile: its token's snapshot while fresh (no D1 read), else the users row, whose
 * snapshot is written after the response. Null when the user is gone or disabled.
 */
export async function ownProfile(
  env: Bindings,
  who: { clinicId: number; userId: number; profile?: ProfileSnapshot },
  holder: ProfileHolder,
  later: Later,
): Promise<OwnProfile | null> {
  const cached = freshProfile(who.profile);
  if (cached) return cached.disabled ? null : cached;
  const user = await getUser(env, who.clinicId, who.userId);
  if (!user || user.disabled) return null;
  later(() => keepProfiles(env, [holder], user));
  return user;
}

/**
 * After a write to a users row (`user` as written): every live session's snapshot is rewritten, so that the
 * next own-profile read anywhere this location sees the change. 1 D1 read, a KV get and put per session, then
 * 1 D1 read (see keepProfiles). Callers do not fail the write when this fails (lib/background.ts
 * `bestEffort`): a snapshot it missed is believed PROFILE_MAX_AGE seconds at most.
 */
export async function refreshProfiles(env: Bindings, user: OwnProfile): Promise<void> {
  const holders = await liveHolders(env, user.clinicId, user.id);
  if (holders.length > 0) await keepProfiles(env, holders, user);
}

/**
 * Writes `user`'s snapshot into each holder's record that still exists. A rewrite is a KV get then a put: a
 * sign-out, rotation or revocation that deleted the key in between is undone by the put, so the sessions
 * table (D1, where revocation is written first) is read afterwards and any key whose session is no longer
 * live is deleted again.
 */
async function keepProfiles(env: Bindings, holders: ProfileHolder[], user: OwnProfile): Promise<void> {
  const snapshot = snapshotOf(user);
  const written = await Promise.all(
    holders.map((h) =>
      h.kind === "access"
        ? patchAccess(env.KV, h.tokenHash, { profile: snapshot })
        : patchJwtSession(env.KV, h.sessionId, snapshot),
    ),
  );
  const rewritten = holders.filter((_, i) => written[i]);
  if (rewritten.length === 0) return;
  const live = new Set((await liveHolders(env, user.clinicId, user.id)).map(keyOf));
  await Promise.all(
    rewritten
      .filter((h) => !live.has(keyOf(h)))
      .map((h) =>
        h.kind === "access" ? deleteAccess(env.KV, h.tokenHash) : deleteJwtSession(env.KV, h.sessionId),
      ),
  );
}

/** Where the user's live sessions keep their snapshots (one D1 read, `sessions_user_idx`). */
async function liveHolders(env: Bindings, clinicId: number, userId: number): Promise<ProfileHolder[]> {
  const { results } = await env.DB.prepare(
    `SELECT id, kind, access_hash FROM sessions
     WHERE user_id = ? AND clinic_id = ? AND revoked_at IS NULL AND expires_at > ?`,
  )
    .bind(userId, clinicId, now())
    .all<{ id: string; kind: string; access_hash: string | null }>();
  return results.flatMap((r): ProfileHolder[] =>
    r.kind === "accounts"
      ? [{ kind: "session", sessionId: r.id }]
      : r.access_hash
        ? [{ kind: "access", tokenHash: r.access_hash }]
        : [],
  );
}
