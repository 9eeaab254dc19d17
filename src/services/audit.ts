/**
 * The audit log (D1 `audit_log`): security events of every family. A row says who (the actor), about whom
 * (the subject), in which clinic, when, from where (client IP, user agent), under which request id, what
 * happened (event, outcome) and small details. Never secrets, codes, tokens, passwords or health data:
 * details are limited to a few short scalar fields and pass through the logger's redaction.
 *
 * Writing never adds a round trip to a flow: `auditStatement` is a statement for the D1 batch the flow
 * already runs (`auditFor` writes the row only when the batch's own statements selected the user), and
 * flows without a batch write it after the response (middleware/audit.ts).
 */
import type { AUDIT_EVENTS } from "../db/schema";
import { now } from "../lib/clock";
import { isSensitiveKey, maskString } from "../lib/log";
import type { Bindings } from "../types";

export type AuditEvent = (typeof AUDIT_EVENTS)[number];
export type AuditOutcome = "success" | "failure";

/** Where a request came from (the same for every row it writes). */
export interface AuditSource {
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  /** The API family that served it (recorded in details). */
  family: string;
}

export interface AuditEntry {
  event: AuditEvent;
  outcome: AuditOutcome;
  /** The clinic's id, its code (resolved in the INSERT), or null (unknown clinic, operators). */
  clinic: number | { code: string } | null;
  /** Who acted: a user id, or null (anonymous, the clinic's API key, an operator). */
  actorUserId?: number | null;
  /** Whom it concerns. */
  subjectUserId?: number | null;
  details?: Record<string, string | number | boolean | null | undefined>;
}

const MAX_DETAIL_KEYS = 8;
const MAX_DETAIL_LENGTH = 120;

/** Small, non-secret details: scalar values only, sensitive keys dropped, strings masked and capped. */
export function safeDetails(source: AuditSource, details: AuditEntry["details"] = {}): string {
  const out: Record<string, string | number | boolean> = { family: source.family };
  for (const [key, value] of Object.entries(details).slice(0, MAX_DETAIL_KEYS)) {
    if (value === undefined || value === null || isSensitiveKey(key)) continue;
    out[key] = typeof value === "string" ? maskString(value).slice(0, MAX_DETAIL_LENGTH) : value;
  }
  return JSON.stringify(out);
}

const COLUMNS =
  "clinic_id, event, outcome, actor_user_id, subject_user_id, ip, user_agent, request_id, details, created_at";

/**
 * The INSERT of one audit row (for a batch, or to run on its own after the response). With
 * `ifChanged`, the row is written only when the batch's previous statement changed a row (`changes()`).
 */
export function auditStatement(
  db: D1Database,
  source: AuditSource,
  entry: AuditEntry,
  options: { ifChanged?: boolean } = {},
): D1PreparedStatement {
  const byCode = entry.clinic !== null && typeof entry.clinic === "object" ? entry.clinic.code : undefined;
  const clinic = byCode !== undefined ? "(SELECT id FROM clinics WHERE code = ?)" : "?";
  const values = `${clinic}, ?, ?, ?, ?, ?, ?, ?, ?, ?`;
  return db
    .prepare(
      options.ifChanged
        ? `INSERT INTO audit_log (${COLUMNS}) SELECT ${values} WHERE changes() > 0`
        : `INSERT INTO audit_log (${COLUMNS}) VALUES (${values})`,
    )
    .bind(
      byCode ?? entry.clinic,
      entry.event,
      entry.outcome,
      entry.actorUserId ?? null,
      entry.subjectUserId ?? null,
      source.ip,
      source.userAgent,
      source.requestId,
      safeDetails(source, entry.details),
      now(),
    );
}

/**
 * An audit row about the user a query selects (columns `clinic_id`, `user_id`: the subject, and the actor
 * unless `actor` is null), for a batch whose earlier statements decide whether that user exists: when the
 * query selects nobody (the batch wrote nothing), no row is written either.
 */
export function auditFor(
  db: D1Database,
  source: AuditSource,
  entry: Pick<AuditEntry, "event" | "outcome" | "details"> & { actor?: "subject" | null },
  who: { sql: string; params: unknown[] },
): D1PreparedStatement {
  const actor = entry.actor === null ? "NULL" : "user_id";
  return db
    .prepare(
      `INSERT INTO audit_log (${COLUMNS})
       SELECT clinic_id, ?, ?, ${actor}, user_id, ?, ?, ?, ?, ? FROM (${who.sql}) LIMIT 1`,
    )
    .bind(
      entry.event,
      entry.outcome,
      source.ip,
      source.userAgent,
      source.requestId,
      safeDetails(source, entry.details),
      now(),
      ...who.params,
    );
}

// ---------- reading ----------

export interface AuditFilter {
  /** A clinic's id; undefined = every clinic (operators). */
  clinicId?: number;
  event?: AuditEvent;
  outcome?: AuditOutcome;
  /** Rows where this user is the actor or the subject. */
  userId?: number;
  /** created_at >= since (unix s). */
  since?: number;
  /** created_at < until (unix s). */
  until?: number;
  start: number;
  limit: number;
}

/** The query of both audit-log routes (GET /api_v3/audit, GET /admin/audit). */
export interface AuditQuery {
  event?: AuditEvent;
  outcome?: AuditOutcome;
  user_id?: number;
  since?: number;
  until?: number;
  start?: number;
  limit?: number;
}

/** An audit-log route's query as a filter (`clinicId` undefined: every clinic). */
export function auditFilter(q: AuditQuery, clinicId: number | undefined, defaultLimit: number): AuditFilter {
  return {
    clinicId,
    event: q.event,
    outcome: q.outcome,
    userId: q.user_id,
    since: q.since,
    until: q.until,
    start: q.start ?? 0,
    limit: q.limit ?? defaultLimit,
  };
}

export interface AuditRow {
  id: number;
  clinic_id: number | null;
  event: string;
  outcome: AuditOutcome;
  actor_user_id: number | null;
  subject_user_id: number | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  details: string;
  created_at: number;
}

/** A page of rows, newest first, and the total count of the filter (one batch). */
export async function listAudit(env: Bindings, f: AuditFilter): Promise<{ rows: AuditRow[]; total: number }> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    where.push(sql);
    params.push(value);
  };
  if (f.clinicId !== undefined) add("clinic_id = ?", f.clinicId);
  if (f.event !== undefined) add("event = ?", f.event);
  if (f.outcome !== undefined) add("outcome = ?", f.outcome);
  if (f.userId !== undefined) {
    where.push("(actor_user_id = ? OR subject_user_id = ?)");
    params.push(f.userId, f.userId);
  }
  if (f.since !== undefined) add("created_at >= ?", f.since);
  if (f.until !== undefined) add("created_at < ?", f.until);
  const clause = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
  const [page, count] = await env.DB.batch([
    env.DB.prepare(`SELECT * FROM audit_log ${clause} ORDER BY id DESC LIMIT ? OFFSET ?`).bind(
      ...params,
      f.limit,
      f.start,
    ),
    env.DB.prepare(`SELECT count(*) AS n FROM audit_log ${clause}`).bind(...params),
  ]);
  return {
    rows: (page?.results ?? []) as AuditRow[],
    total: Number((count?.results[0] as { n: number } | undefined)?.n ?? 0),
  };
}

// ---------- retention ----------

export const DEFAULT_AUDIT_RETENTION_DAYS = 365;
/** Lockout counters idle this long are forgotten (the doubling of lock periods starts again). */
export const AUTH_FAILURES_IDLE_SECONDS = 7 * 86400;
const PRUNE_CHUNK = 1000;

/**
 * Deletes audit rows older than their clinic's `settings.auditRetentionDays` (rows without a clinic, and
 * clinics without the setting: DEFAULT_AUDIT_RETENTION_DAYS), in chunks so that no statement runs long,
 * and lockout counters idle for a week. Returns the number of audit rows deleted.
 */
export async function pruneAudit(env: Bindings, rounds = 10): Promise<number> {
  const t = now();
  let deleted = 0;
  for (let i = 0; i < rounds; i++) {
    const { meta } = await env.DB.prepare(
      `DELETE FROM audit_log WHERE id IN (
         SELECT a.id FROM audit_log a
         WHERE a.created_at < ?1 - 86400 * coalesce(
           (SELECT json_extract(c.settings, '$.auditRetentionDays') FROM clinics c WHERE c.id = a.clinic_id), ?2)
         ORDER BY a.id LIMIT ?3)`,
    )
      .bind(t, DEFAULT_AUDIT_RETENTION_DAYS, PRUNE_CHUNK)
      .run();
    deleted += meta.changes ?? 0;
    if ((meta.changes ?? 0) < PRUNE_CHUNK) break;
  }
  await env.DB.prepare(
    "DELETE FROM auth_failures WHERE updated_at < ?1 AND (locked_until IS NULL OR locked_until < ?2)",
  )
    .bind(t - AUTH_FAILURES_IDLE_SECONDS, t)
    .run();
  return deleted;
}
