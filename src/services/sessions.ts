/**
 * Sessions and tokens (DESIGN.md "Tokens and sessions").
 *
 * A session is one refresh-token family, kept in D1. Its access token is opaque (128 random bits) and
 * lives in KV under its SHA-256 with its expiry inside the value; the refresh token lives in D1 (hashed)
 * and rotates on every use. Spending a refresh token, inserting its successor and pointing the session
 * at the new access token happen in one D1 batch, so that two racing refreshes cannot both succeed and
 * a reused refresh token is recognised everywhere at once: reuse revokes the whole family.
 */

import { mapRow } from "../db/rows";
import { type User, users } from "../db/schema";
import { deleteAccess, getAccess, patchAccess, putAccess } from "../kv/access";
import { deleteJwtSession } from "../kv/jwt-sessions";
import { now } from "../lib/clock";
import { randomToken, sha256Hex } from "../lib/crypto";
import type { AccessRecord, Bindings, Caller } from "../types";
import { type AuditSource, auditFor, auditStatement } from "./audit";
import { recordName, recordsByName } from "./care";

export const ACCESS_TTL = 24 * 3600;
export const REFRESH_TTL = 30 * 24 * 3600;

export type SessionKind = "vsee" | "accounts" | "portal" | "register";

export interface SessionUser {
  id: number;
  clinicId: number;
  type: number;
  roles: string;
  /** Recorded in the access token so that the state routes authorize without reading the user. */
  groupName?: string | null;
}

/** What an access token records about its clinic. */
export interface SessionClinic {
  code: string;
  defaultHeartbeat: number;
}

export interface IssuedTokens {
  sessionId: string;
  created: number;
  access: { token: string; hash: string; expiry: number };
  refresh: { token: string; expiry: number };
}

export function splitRoles(roles: string): string[] {
  return roles ? roles.split(",").filter(Boolean) : [];
}

export function hashToken(token: string): string {
  return sha256Hex(token);
}

function accessRecord(
  user: SessionUser,
  clinic: SessionClinic,
  sessionId: string,
  t: number,
  via?: "code",
): AccessRecord {
  return {
    userId: user.id,
    clinicId: user.clinicId,
    clinicCode: clinic.code,
    heartbeat: clinic.defaultHeartbeat,
    type: user.type,
    roles: splitRoles(user.roles),
    sessionId,
    expiresAt: t + ACCESS_TTL,
    issuedAt: t,
    ...(via ? { via } : {}),
    ...(user.groupName ? { group: user.groupName } : {}),
  };
}

/**
 * Which user a session is for, as a condition on `users` (so that a session is only ever written for a
 * user who exists, in this clinic, and is not disabled; otherwise the statements insert nothing).
 */
export type UserRef = number | { where: string; params: unknown[] };

/**
 * A session about to start. Its statements go into the caller's own D1 batch (so that, e.g., creating
 * a user and signing it in is one round trip and atomic); `commit` then stores the access token in KV.
 */
export class PendingSession {
  readonly sessionId = randomToken(16);
  readonly created = now();
  readonly access = randomToken(16);
  readonly refresh = randomToken(16);
  readonly #hashes: [string, string] = [hashToken(this.access), hashToken(this.refresh)];

  constructor(
    readonly kind: SessionKind,
    readonly clinicId: number,
    /** false: the family has no opaque access token (accounts-family JWTs). */
    readonly withAccess = true,
  ) {}

  async statements(db: D1Database, user: UserRef): Promise<D1PreparedStatement[]> {
    const [accessHash, refreshHash] = this.#hashes;
    const t = this.created;
    const ref = typeof user === "number" ? { where: "id = ?", params: [user] } : user;
    const from = `FROM users WHERE clinic_id = ? AND disabled = 0 AND ${ref.where}`;
    return [
      db
        .prepare(
          `INSERT INTO sessions (id, clinic_id, user_id, kind, access_hash, created_at, expires_at)
           SELECT ?, clinic_id, id, ?, ?, ?, ? ${from}`,
        )
        .bind(
          this.sessionId,
          this.kind,
          this.withAccess ? accessHash : null,
          t,
          t + REFRESH_TTL,
          this.clinicId,
          ...ref.params,
        ),
      db
        .prepare(
          `INSERT INTO refresh_tokens (token_hash, session_id, clinic_id, user_id, created_at, expires_at)
           SELECT ?, ?, clinic_id, id, ?, ? ${from}`,
        )
        .bind(refreshHash, this.sessionId, t, t + REFRESH_TTL, this.clinicId, ...ref.params),
    ];
  }

  /** After the batch succeeded: store the access token and return what the client gets. */
  async commit(env: Bindings, user: SessionUser, clinic: SessionClinic, via?: "code"): Promise<IssuedTokens> {
    const [accessHash] = this.#hashes;
    const t = this.created;
    if (this.withAccess) {
      await putAccess(env.KV, accessHash, accessRecord(user, clinic, this.sessionId, t, via));
    }
    return {
      sessionId: this.sessionId,
      created: t,
      access: { token: this.access, hash: accessHash, expiry: t + ACCESS_TTL },
      refresh: { token: this.refresh, expiry: t + REFRESH_TTL },
    };
  }
}

/** Starts a session for an existing user, with `extra` statements in the same batch. */
export async function startSession(
  env: Bindings,
  user: SessionUser,
  clinic: SessionClinic,
  kind: SessionKind,
  extra: D1PreparedStatement[] = [],
  options: { withAccessToken?: boolean; via?: "code" } = {},
): Promise<IssuedTokens> {
  const pending = new PendingSession(kind, user.clinicId, options.withAccessToken ?? true);
  await env.DB.batch([...(await pending.statements(env.DB, user.id)), ...extra]);
  return pending.commit(env, user, clinic, options.via);
}

/** Resolves an access token to its record (null when malformed, unknown or expired). One KV read. */
export async function resolveAccess(
  env: Bindings,
  token: string,
): Promise<(AccessRecord & { hash: string }) | null> {
  if (!/^[0-9a-f]{32}$/.test(token)) return null;
  const hash = hashToken(token);
  const record = await getAccess(env.KV, hash);
  return record ? { ...record, hash } : null;
}

/**
 * The id of the live session behind an access token (D1, consistent, unlike its KV copy), or null. With
 * `burn` the same single statement ends it, so that a one-time SSO token signs in at most once.
 */
export async function liveSessionOf(
  env: Bindings,
  access: { hash: string; clinicId: number },
  options: { burn?: boolean } = {},
): Promise<string | null> {
  const row = await env.DB.prepare(
    options.burn
      ? "UPDATE sessions SET sso_burnt_at = ?1, revoked_at = ?1 WHERE access_hash = ?2 AND clinic_id = ?3 AND revoked_at IS NULL AND expires_at > ?1 RETURNING id"
      : "SELECT id FROM sessions WHERE access_hash = ?2 AND clinic_id = ?3 AND revoked_at IS NULL AND expires_at > ?1",
  )
    .bind(now(), access.hash, access.clinicId)
    .first<{ id: string }>();
  return row?.id ?? null;
}

/** The caller an access record names (what the auth middlewares put in the context). */
export function callerOf(record: AccessRecord & { hash: string }): Caller {
  const { hash, issuedAt: _issuedAt, ...named } = record;
  return { ...named, tokenHash: hash };
}

export interface Rotated {
  tokens: IssuedTokens;
  userId: number;
  clinicId: number;
  kind: SessionKind;
  /** The session's user, read in the same batch. */
  user: User;
  clinic: SessionClinic;
}

/** Which clinic a refresh request named: its id, its code, or null (the token's own clinic). */
export type ClinicRef = number | string | null;

/**
 * Which API family a refresh request came through: the accounts family rotates only its own sessions
 * (kind "accounts"), `/api_v3` only the others. A refresh token of the other family is refused before
 * it is spent, so that it keeps working where it belongs.
 */
export type RefreshFamily = "accounts" | "vsee";

/**
 * Spends a refresh token and issues its successor: one D1 batch, then the KV writes. Reuse of a spent
 * token revokes the whole family. Returns null when the token is unknown, expired, spent, of the other
 * `family`, its session ended, or its user or clinic is disabled (all answered 401).
 */
export async function rotateRefresh(
  env: Bindings,
  family: RefreshFamily,
  refreshToken: string,
  clinic: ClinicRef,
  audit?: AuditSource,
): Promise<Rotated | null> {
  if (!/^[0-9a-f]{32}$/.test(refreshToken)) return null;
  const t = now();
  const access = randomToken(16);
  const refresh = randomToken(16);
  const [oldHash, accessHash, newHash] = [hashToken(refreshToken), hashToken(access), hashToken(refresh)];
  const clinicCond =
    clinic === null
      ? "1"
      : typeof clinic === "number"
        ? "clinic_id = ?4"
        : "clinic_id = (SELECT id FROM clinics WHERE code = ?4)";
  const kindCond = family === "accounts" ? "s.kind = 'accounts'" : "s.kind != 'accounts'";
  // One atomic batch: spend (only if unspent, unexpired and its session is live and of this family — a correlated EXISTS, as
  // `session_id IN (SELECT … FROM sessions …)` would read every live session), insert the successor,
  // read the session's previous access token, move the session to the new one, and read the owner. The
  // later statements find the spent row by `replaced_by = newHash`, which only this request can have written.
  const spentBy = "(SELECT session_id FROM refresh_tokens WHERE token_hash = ?1 AND replaced_by = ?2)";
  const statements = [
    env.DB.prepare(
      `UPDATE refresh_tokens SET used_at = ?1, replaced_by = ?2
       WHERE token_hash = ?3 AND ${clinicCond} AND used_at IS NULL AND expires_at > ?1
         AND EXISTS (SELECT 1 FROM sessions s WHERE s.id = refresh_tokens.session_id
                     AND s.revoked_at IS NULL AND s.expires_at > ?1 AND ${kindCond})
       RETURNING session_id, user_id, clinic_id`,
    ).bind(...(clinic === null ? [t, newHash, oldHash] : [t, newHash, oldHash, clinic])),
    env.DB.prepare(
      `INSERT INTO refresh_tokens (token_hash, session_id, clinic_id, user_id, created_at, expires_at)
       SELECT ?1, session_id, clinic_id, user_id, ?2, ?3 FROM refresh_tokens WHERE token_hash = ?4 AND replaced_by = ?1`,
    ).bind(newHash, t, t + REFRESH_TTL, oldHash),
    env.DB.prepare(`SELECT kind, access_hash FROM sessions WHERE id = ${spentBy}`).bind(oldHash, newHash),
    env.DB.prepare(
      `UPDATE sessions SET access_hash = CASE WHEN kind = 'accounts' THEN NULL ELSE ?3 END WHERE id = ${spentBy}`,
    ).bind(oldHash, newHash, accessHash),
    env.DB.prepare(
      `SELECT u.*, c.code AS clinic_code, c.default_heartbeat AS clinic_heartbeat, c.disabled AS clinic_disabled
       FROM users u JOIN clinics c ON c.id = u.clinic_id
       WHERE u.id = (SELECT user_id FROM refresh_tokens WHERE token_hash = ?1 AND replaced_by = ?2)`,
    ).bind(oldHash, newHash),
  ];
  // The audit row of a rotation that happened (for a live user of a live clinic), in the same batch.
  if (audit) {
    statements.push(
      auditFor(
        env.DB,
        audit,
        { event: "token_refresh", outcome: "success" },
        {
          sql: `SELECT r.clinic_id, r.user_id FROM refresh_tokens r
              JOIN users u ON u.id = r.user_id JOIN clinics c ON c.id = r.clinic_id
              WHERE r.token_hash = ? AND r.replaced_by = ? AND u.disabled = 0 AND c.disabled = 0`,
          params: [oldHash, newHash],
        },
      ),
    );
  }
  const [spent, , previous, , owner] = await env.DB.batch<Record<string, unknown>>(statements);
  const row = spent?.results[0] as { session_id: string; user_id: number; clinic_id: number } | undefined;
  if (!row) {
    await revokeIfReused(env, oldHash, audit);
    return null;
  }
  const prev = previous?.results[0] as { kind: SessionKind; access_hash: string | null } | undefined;
  const kind = prev?.kind ?? "vsee";
  const raw = owner?.results[0];
  const user = raw ? mapRow(users, raw) : undefined;
  if (!raw || !user || user.disabled || raw.clinic_disabled) {
    await revokeSessions(env, { sessionId: row.session_id });
    return null;
  }
  const sessionClinic = { code: String(raw.clinic_code), defaultHeartbeat: Number(raw.clinic_heartbeat) };
  const tasks: Promise<unknown>[] = [];
  if (prev?.access_hash) tasks.push(deleteAccess(env.KV, prev.access_hash));
  if (kind !== "accounts")
    tasks.push(putAccess(env.KV, accessHash, accessRecord(user, sessionClinic, row.session_id, t)));
  try {
    await Promise.all(tasks);
  } catch (err) {
    // The new access token could not be stored: undo the rotation, so that the client's retry with the
    // same refresh token succeeds instead of looking like a reuse (which would end the session).
    await undoRotation(env, {
      oldHash,
      newHash,
      sessionId: row.session_id,
      accessHash: prev?.access_hash ?? null,
    });
    throw err;
  }
  return {
    tokens: {
      sessionId: row.session_id,
      created: t,
      access: { token: access, hash: accessHash, expiry: t + ACCESS_TTL },
      refresh: { token: refresh, expiry: t + REFRESH_TTL },
    },
    userId: row.user_id,
    clinicId: row.clinic_id,
    kind,
    user,
    clinic: sessionClinic,
  };
}

/** Puts a rotation back as it was (the old token unspent, no successor, the session's previous access token). */
async function undoRotation(
  env: Bindings,
  r: { oldHash: string; newHash: string; sessionId: string; accessHash: string | null },
): Promise<void> {
  await env.DB.batch([
    env.DB.prepare("DELETE FROM refresh_tokens WHERE token_hash = ?").bind(r.newHash),
    env.DB.prepare(
      "UPDATE refresh_tokens SET used_at = NULL, replaced_by = NULL WHERE token_hash = ? AND replaced_by = ?",
    ).bind(r.oldHash, r.newHash),
    env.DB.prepare("UPDATE sessions SET access_hash = ? WHERE id = ?").bind(r.accessHash, r.sessionId),
  ]);
}

/** A spent refresh token presented again: the family is compromised, end it (and say so in the audit log). */
async function revokeIfReused(env: Bindings, tokenHash: string, audit?: AuditSource): Promise<void> {
  // Whatever clinic the request named: a spent token is spent, and its family ends.
  const row = await env.DB.prepare(
    "SELECT session_id, user_id, clinic_id FROM refresh_tokens WHERE token_hash = ? AND used_at IS NOT NULL",
  )
    .bind(tokenHash)
    .first<{ session_id: string; user_id: number; clinic_id: number }>();
  if (!row) return;
  const entry = {
    event: "token_reuse",
    outcome: "failure",
    clinic: row.clinic_id,
    subjectUserId: row.user_id,
    details: { action: "session_revoked" },
  } as const;
  await Promise.all([
    revokeSessions(env, { sessionId: row.session_id }),
    audit ? auditStatement(env.DB, audit, entry).run() : null,
  ]);
}

/**
 * Ends sessions (one, or all of a user's except one) and deletes their access tokens from KV.
 * Returns the number of sessions ended.
 */
export async function revokeSessions(env: Bindings, which: Revocation): Promise<number> {
  const { results } = await revocationStatement(env.DB, which).all<RevokedSession>();
  return finishRevocation(env, results);
}

/** Sessions a sign-out ended, and the statement that marks them cleared (null when none ended). */
export interface SignedOut {
  sessions: number;
  cleared: D1PreparedStatement | null;
}

/**
 * A sign-out: ends the sessions named (one revocation batch), deletes their KV tokens and closes their live
 * sockets, as revokeSessions does, but leaves the `kv_cleared_at` mark to the caller, who writes it after the
 * response in one batch with the sign-out's audit row (middleware/audit.ts `auditSignOut`): bookkeeping, not
 * the revocation, which is done when this returns.
 */
export async function endSessions(env: Bindings, sessionIds: string[]): Promise<SignedOut> {
  if (sessionIds.length === 0) return { sessions: 0, cleared: null };
  const t = now();
  const batches = await env.DB.batch<RevokedSession>(
    sessionIds.map((sessionId) => revocationStatement(env.DB, { sessionId }, t)),
  );
  const results = batches.flatMap((b) => b.results);
  if (results.length === 0) return { sessions: 0, cleared: null };
  await clearCopies(env, results);
  return { sessions: results.filter((r) => r.ended).length, cleared: clearedStatement(env.DB, results) };
}

/** Runs work after the response (a request's `waitUntil`, lib/background.ts `afterResponse`). */
export type Later = (work: () => Promise<unknown>) => void;

export type Revocation =
  | { sessionId: string }
  | { userId: number; clinicId: number; exceptSessionId?: string };

export type RevokedSession = SessionKeys & { clinic_id: number; live_at: number | null; ended: number };

/**
 * The statement that ends sessions (returning them as `RevokedSession` rows), for a caller's own batch: a
 * password change ends the other sessions in the batch that changes the password. Pass its rows to
 * `finishRevocation`.
 */
export function revocationStatement(db: D1Database, which: Revocation, t = now()): D1PreparedStatement {
  // Only `revoked_at` here: `kv_cleared_at` is set by finishRevocation once the KV copies are gone, so that
  // a worker that dies in between leaves the sessions to the sweeper instead of their tokens working on. A
  // session revoked earlier whose copies were not cleared yet (burnt by GET /auth) is returned again.
  return "sessionId" in which
    ? db
        .prepare(
          `UPDATE sessions SET revoked_at = coalesce(revoked_at, ?1)
           WHERE id = ?2 AND kv_cleared_at IS NULL
           RETURNING id, kind, access_hash, clinic_id, live_at, revoked_at = ?1 AS ended`,
        )
        .bind(t, which.sessionId)
    : db
        .prepare(
          `UPDATE sessions SET revoked_at = ?1
           WHERE user_id = ?2 AND clinic_id = ?3 AND revoked_at IS NULL AND id != ?4
           RETURNING id, kind, access_hash, clinic_id, live_at, 1 AS ended`,
        )
        .bind(t, which.userId, which.clinicId, which.exceptSessionId ?? "");
}

/**
 * After the revocation statement: deletes the sessions' KV tokens and closes their live care-record
 * sockets, then marks the sessions cleared. When the deletes fail (or the worker dies first), the sessions
 * stay not cleared and the sweeper (sweepRevoked, every cron run) deletes the tokens; the error is rethrown.
 * Returns how many sessions ended.
 */
export async function finishRevocation(env: Bindings, results: RevokedSession[]): Promise<number> {
  if (results.length === 0) return 0;
  await clearCopies(env, results);
  // The sessions are ended and their tokens gone: failing to note it only leaves the sweeper to delete
  // the (already deleted) tokens again, so it does not fail the request.
  await clearedStatement(env.DB, results)
    .run()
    .catch(() => undefined);
  return results.filter((r) => r.ended).length;
}

/** Deletes ended sessions' KV tokens and closes their live care-record sockets (only sessions that opened one). */
async function clearCopies(env: Bindings, results: RevokedSession[]): Promise<void> {
  const live = results.filter((r) => r.live_at !== null);
  await Promise.all([deleteSessionKeys(env, results), endLiveSockets(env, live)]);
}

/** Marks sessions whose KV copies are deleted (the sweeper skips them). */
function clearedStatement(db: D1Database, rows: { id: string }[]): D1PreparedStatement {
  return db
    .prepare(
      "UPDATE sessions SET kv_cleared_at = ? WHERE id IN (SELECT value FROM json_each(?)) AND kv_cleared_at IS NULL",
    )
    .bind(now(), JSON.stringify(rows.map((r) => r.id)));
}

/**
 * Closes the live sockets of sessions that ended, on every record they opened one on (`care_live`; a
 * session marked live before per-patient records only had the clinic's shared record).
 */
async function endLiveSockets(env: Bindings, live: { id: string; clinic_id: number }[]): Promise<void> {
  if (live.length === 0) return;
  const { results } = await env.DB.prepare(
    "DELETE FROM care_live WHERE session_id IN (SELECT value FROM json_each(?)) RETURNING session_id, record",
  )
    .bind(JSON.stringify(live.map((r) => r.id)))
    .all<{ session_id: string; record: string }>();
  const byRecord = new Map<string, string[]>();
  const add = (record: string, sessionId: string) =>
    byRecord.set(record, [...(byRecord.get(record) ?? []), sessionId]);
  for (const r of live) add(recordName(r.clinic_id, null), r.id);
  for (const r of results) add(r.record, r.session_id);
  const names = [...byRecord.keys()];
  await Promise.all(
    recordsByName(env, names).map((stub, i) =>
      stub.endSessions({ sessionIds: [...new Set(byRecord.get(names[i] as string))] }),
    ),
  );
}

/**
 * Deletes the `care_live` rows of sessions past their expiry (their sockets close at the next update with
 * 4001 anyway; revoked sessions' rows go in `revokeSessions`). Returns how many it deleted.
 */
export async function pruneCareLive(env: Bindings, limit = SWEEP_CHUNK): Promise<number> {
  const { meta } = await env.DB.prepare(
    `DELETE FROM care_live WHERE rowid IN (
       SELECT l.rowid FROM care_live l JOIN sessions s ON s.id = l.session_id WHERE s.expires_at < ? LIMIT ?)`,
  )
    .bind(now(), limit)
    .run();
  return meta.changes ?? 0;
}

/** Notes that a session opened a live socket on a care record (so that its end closes the socket). */
export async function markLive(
  env: Bindings,
  sessionId: string,
  clinicId: number,
  record: string,
): Promise<void> {
  await env.DB.batch([
    env.DB.prepare("UPDATE sessions SET live_at = ? WHERE id = ? AND live_at IS NULL").bind(now(), sessionId),
    env.DB.prepare(
      "INSERT INTO care_live (session_id, clinic_id, record) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    ).bind(sessionId, clinicId, record),
  ]);
}

interface SessionKeys {
  id: string;
  kind: SessionKind;
  access_hash: string | null;
}

/** Deletes the KV copies of sessions' tokens: the access token, and an accounts session's JWT record. */
async function deleteSessionKeys(env: Bindings, rows: SessionKeys[]): Promise<void> {
  await Promise.all(
    rows.flatMap((r) => [
      r.access_hash ? deleteAccess(env.KV, r.access_hash) : null,
      r.kind === "accounts" ? deleteJwtSession(env.KV, r.id) : null,
    ]),
  );
}

/**
 * Ends every live session of a clinic (an operator disabled it). D1 stops them at once (refresh,
 * /auth, and every route that reads the session); the KV copies of their access tokens are deleted by
 * `sweepRevoked`, a chunk right after the call and the rest by the cron run.
 */
export async function revokeClinicSessions(env: Bindings, clinicId: number): Promise<number> {
  const t = now();
  const { meta } = await env.DB.prepare(
    "UPDATE sessions SET revoked_at = ? WHERE clinic_id = ? AND revoked_at IS NULL AND expires_at > ?",
  )
    .bind(t, clinicId, t)
    .run();
  await closeClinicSockets(env, clinicId);
  return meta.changes ?? 0;
}

/**
 * The statement that ends every live session of the clinic `clinicCode`, for the batch that disables it
 * (so that a disabled clinic never keeps a working session, whatever fails after the batch).
 */
export function clinicSessionsRevocation(d1: D1Database, clinicCode: string, t = now()): D1PreparedStatement {
  return d1
    .prepare(
      `UPDATE sessions SET revoked_at = ?1
       WHERE clinic_id = (SELECT id FROM clinics WHERE code = ?2) AND revoked_at IS NULL AND expires_at > ?1`,
    )
    .bind(t, clinicCode);
}

/** Every live care-record socket of the clinic closes (its sessions have ended). */
export async function closeClinicSockets(env: Bindings, clinicId: number): Promise<void> {
  // The shared record's, and every record a session of the clinic opened one on.
  const { results } = await env.DB.prepare("SELECT DISTINCT record FROM care_live WHERE clinic_id = ?")
    .bind(clinicId)
    .all<{ record: string }>();
  const names = [...new Set([recordName(clinicId, null), ...results.map((r) => r.record)])];
  await Promise.all(recordsByName(env, names).map((stub) => stub.endSessions({ all: true })));
}

/**
 * Deletes the KV tokens of up to `limit` revoked sessions whose copies are still there, oldest
 * revocation first, and marks them cleared. A Worker invocation may make about 1,000 KV calls: each
 * session needs one. Returns how many sessions it cleared.
 */
export async function sweepRevoked(env: Bindings, limit = SWEEP_CHUNK): Promise<number> {
  const { results } = await env.DB.prepare(
    `SELECT id, kind, access_hash FROM sessions WHERE revoked_at IS NOT NULL AND kv_cleared_at IS NULL
     ORDER BY revoked_at LIMIT ?`,
  )
    .bind(limit)
    .all<SessionKeys>();
  if (results.length === 0) return 0;
  await deleteSessionKeys(env, results);
  await clearedStatement(env.DB, results).run();
  return results.length;
}

export const SWEEP_CHUNK = 500;

/** Drops the emailed-code privilege of the caller's access token (its password is set now). */
export async function endCodePrivilege(env: Bindings, tokenHash: string): Promise<void> {
  await patchAccess(env.KV, tokenHash, { via: null });
}
