/**
 * Accounts-family sessions (DESIGN.md "Tokens and sessions"). A session is a refresh-token family in D1
 * (services/sessions.ts, kind "accounts", no opaque access token); its access tokens are short-lived
 * HS256 JWTs (`sub` = account uid, `sid` = session, `aud` = clinic code) that are valid only while the KV
 * key `js:<sid>` says the session is live. Ending the session deletes that key (revokeSessions), so a
 * revoked session's JWTs stop working before they expire.
 */
import { getJwtSession, putJwtSession } from "../kv/jwt-sessions";
import { now } from "../lib/clock";
import { randomToken } from "../lib/crypto";
import { signHs256, verifyHs256 } from "../lib/jwt";
import type { AccountCaller, Bindings } from "../types";
import { hashToken, PendingSession, REFRESH_TTL, type SessionClinic, type SessionUser } from "./sessions";

/** Access-token lifetime (clients decode `exp`, and refresh before it). */
export const JWT_TTL = 15 * 60;

export interface AccessToken {
  token: string;
  /** Expiry, unix seconds. */
  exp: number;
}

export async function signAccessToken(
  env: Bindings,
  userId: number,
  clinicCode: string,
  sessionId: string,
): Promise<AccessToken> {
  const iat = now();
  const exp = iat + JWT_TTL;
  const token = await signHs256(
    { sub: String(userId), sid: sessionId, aud: clinicCode, iat, exp },
    env.JWT_SECRET,
  );
  return { token, exp };
}

export interface StartedSession {
  sessionId: string;
  refreshToken: string;
  access: AccessToken;
}

/** Starts a session for `user` with `extra` statements in the same batch; marks it live; signs its JWT. */
export async function startAccountSession(
  env: Bindings,
  user: SessionUser,
  clinic: SessionClinic,
  extra: D1PreparedStatement[] = [],
): Promise<StartedSession> {
  const pending = new PendingSession("accounts", user.clinicId, false);
  await env.DB.batch([...(await pending.statements(env.DB, user.id)), ...extra]);
  const tokens = await pending.commit(env, user, clinic);
  const [access] = await Promise.all([
    signAccessToken(env, user.id, clinic.code, tokens.sessionId),
    putJwtSession(env.KV, tokens.sessionId, {
      userId: user.id,
      clinicId: user.clinicId,
      expiresAt: tokens.created + REFRESH_TTL,
    }),
  ]);
  return { sessionId: tokens.sessionId, refreshToken: tokens.refresh.token, access };
}

/**
 * Resolves an access token presented for `clinicCode`: signature (HS256 pinned, current or previous
 * secret), expiry, audience, then one KV read for the session. Null when any check fails.
 */
export async function resolveAccountToken(
  env: Bindings,
  token: string,
  clinicCode: string,
): Promise<AccountCaller | null> {
  const payload = await verifyHs256(token, [env.JWT_SECRET, env.JWT_SECRET_PREVIOUS]);
  if (!payload || payload.aud !== clinicCode) return null;
  const { sub, sid } = payload;
  if (
    typeof sub !== "string" ||
    !/^\d{1,15}$/.test(sub) ||
    typeof sid !== "string" ||
    !/^[0-9a-f]{32}$/.test(sid)
  )
    return null;
  const live = await getJwtSession(env.KV, sid);
  if (!live || live.userId !== Number(sub)) return null;
  return { userId: live.userId, clinicId: live.clinicId, clinicCode, sessionId: sid, profile: live.profile };
}

/**
 * A new refresh token for a live session whose access token was just presented (the `jwt` strategy):
 * the session's unspent refresh token is spent in favour of the new one, in one D1 batch, exactly as a
 * refreshAccessToken rotation spends it. The old token is then a spent token: presenting it again ends
 * the session (services/sessions.ts, reuse detection). Null when the session has no unspent, unexpired
 * refresh token (ended, expired, or another request rotated it at the same moment).
 */
export async function reissueRefresh(env: Bindings, caller: AccountCaller): Promise<string | null> {
  const t = now();
  const token = randomToken(16);
  const hash = hashToken(token);
  const [spent] = await env.DB.batch([
    env.DB.prepare(
      `UPDATE refresh_tokens SET used_at = ?1, replaced_by = ?2
       WHERE session_id = ?3 AND clinic_id = ?4 AND user_id = ?5 AND used_at IS NULL AND expires_at > ?1
         AND EXISTS (SELECT 1 FROM sessions s WHERE s.id = ?3 AND s.kind = 'accounts'
                     AND s.revoked_at IS NULL AND s.expires_at > ?1)
       RETURNING token_hash`,
    ).bind(t, hash, caller.sessionId, caller.clinicId, caller.userId),
    env.DB.prepare(
      `INSERT INTO refresh_tokens (token_hash, session_id, clinic_id, user_id, created_at, expires_at)
       SELECT ?1, session_id, clinic_id, user_id, ?2, ?3 FROM refresh_tokens
       WHERE session_id = ?4 AND replaced_by = ?1 LIMIT 1`,
    ).bind(hash, t, t + REFRESH_TTL, caller.sessionId),
  ]);
  return spent?.results.length ? token : null;
}
