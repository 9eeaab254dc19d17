/**
 * Message delivery (DESIGN.md "Messages"). Flows write a row to the outbox in the same D1 batch as the
 * change that causes it (`queueMessage` returns a statement for that batch). Delivery runs right after
 * the response (`waitUntil`, for the rows the request queued) and again from the cron handler, with
 * exponential backoff. A row is claimed by one atomic UPDATE before it is sent; the claim's attempt
 * number fences it, so that only the latest claimant can record the outcome and a row is marked sent
 * exactly once. Failures are recorded (`last_error`, without the message body). When a real provider
 * delivered a message, its body (which may hold a code) is erased from the outbox.
 */
import { and, count, desc, eq } from "drizzle-orm";
import type { Context } from "hono";
import { getDb } from "../db";
import { outbox } from "../db/schema";
import { afterResponse } from "../lib/background";
import { now } from "../lib/clock";
import { logger } from "../lib/log";
import { render, type TemplateName, type TemplateVars } from "../messages/templates";
import type { AppEnv, Bindings } from "../types";
import type { Condition } from "./codes";

export type Channel = "email" | "sms";
export type OutboxStatus = "pending" | "sending" | "sent" | "failed";

export interface OutboxRow {
  id: number;
  clinic_id: number;
  channel: Channel;
  recipient: string;
  template: string;
  subject: string;
  body_text: string;
  body_html: string | null;
  attempts: number;
}

/** Where messages go. */
export interface Sender {
  send(message: OutboxRow): Promise<void>;
  /** True when the outbox row itself is the delivery (its body is kept for operators to read). */
  readonly local?: boolean;
}

export const MAX_ATTEMPTS = 8;
/** Seconds before retry n (1-based): 30 s, 1 min, 2 min, … capped at 1 h. */
export const backoff = (attempt: number) => Math.min(3600, 30 * 2 ** (attempt - 1));
/** How long a claim protects a row being sent. */
const CLAIM_SECONDS = 120;

/**
 * The statement that queues one message (returns its id). With `forUser`, a condition on the clinic's
 * `users` (as in sessions.ts), the message is written only when that user exists: for a user created
 * earlier in the same batch, whose creation may not happen. With `onlyIf` (a condition, such as the
 * `issued` of services/codes.ts), it is written only when that condition holds when the statement runs.
 */
export function queueMessage(
  db: D1Database,
  clinicId: number,
  channel: Channel,
  recipient: string,
  template: TemplateName,
  vars: TemplateVars,
  forUser?: { where: string; params: unknown[] },
  onlyIf?: Condition,
): D1PreparedStatement {
  const { subject, text, html } = render(template, vars);
  const t = now();
  const conditions: Condition[] = [
    ...(forUser
      ? [
          {
            sql: `EXISTS (SELECT 1 FROM users WHERE clinic_id = ? AND ${forUser.where})`,
            params: [clinicId, ...forUser.params],
          },
        ]
      : []),
    ...(onlyIf ? [onlyIf] : []),
  ];
  const guard = {
    sql: conditions.length ? `WHERE ${conditions.map((x) => x.sql).join(" AND ")}` : "",
    params: conditions.flatMap((x) => x.params),
  };
  return db
    .prepare(
      `INSERT INTO outbox (clinic_id, channel, recipient, template, subject, body_text, body_html, status, attempts, next_attempt_at, created_at)
       SELECT ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ? ${guard.sql} RETURNING id`,
    )
    .bind(
      clinicId,
      channel,
      recipient,
      template,
      subject,
      text,
      channel === "email" ? html : null,
      t,
      t,
      ...guard.params,
    );
}

/** The ids of the messages that `queueMessage` statements wrote (their batch results). */
export function queuedIds(results: D1Result[]): number[] {
  return results.flatMap((r) => (r.results as { id?: number }[]).flatMap((row) => (row.id ? [row.id] : [])));
}

/** Local development: the outbox row itself is the delivery (operators read it at GET /admin/outbox). */
export const outboxSender: Sender = {
  local: true,
  async send() {},
};

/** An HTTP provider: POSTs JSON to EMAIL_HTTP_URL / SMS_HTTP_URL with a bearer token. */
export function httpSender(env: Bindings): Sender {
  return {
    async send(m) {
      const url = m.channel === "email" ? env.EMAIL_HTTP_URL : env.SMS_HTTP_URL;
      const token = m.channel === "email" ? env.EMAIL_HTTP_TOKEN : env.SMS_HTTP_TOKEN;
      if (!url) throw new Error(`no ${m.channel} provider configured`);
      const body =
        m.channel === "email"
          ? {
              from: env.EMAIL_FROM ?? "no-reply@clinic-edge.invalid",
              to: m.recipient,
              subject: m.subject,
              text: m.body_text,
              html: m.body_html,
            }
          : { to: m.recipient, text: m.body_text };
      const res = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`provider answered ${res.status}`);
      await res.body?.cancel();
    },
  };
}

export function senderFor(env: Bindings): Sender {
  return env.MESSAGE_SENDER === "http" ? httpSender(env) : outboxSender;
}

/**
 * Claims and sends due messages (pending and due, or claims that expired), or only the rows `ids` when
 * given (the first attempt right after the request that queued them). Returns counts.
 * Safe to run concurrently: each row is claimed by exactly one UPDATE, and only that claim (its attempt
 * number) can mark the row sent or failed.
 */
export async function deliverDue(
  env: Bindings,
  options: { limit?: number; sender?: Sender; ids?: number[]; requestId?: string } = {},
): Promise<{ sent: number; failed: number }> {
  const t = now();
  const log = logger(options.requestId ?? "outbox");
  const sender = options.sender ?? senderFor(env);
  const only = options.ids ? "AND id IN (SELECT value FROM json_each(?4))" : "";
  const { results } = await env.DB.prepare(
    `UPDATE outbox SET status = 'sending', claimed_until = ?1, attempts = attempts + 1
     WHERE id IN (
       SELECT id FROM outbox
       WHERE ((status = 'pending' AND next_attempt_at <= ?2) OR (status = 'sending' AND claimed_until < ?2)) ${only}
       ORDER BY next_attempt_at LIMIT ?3)
     RETURNING id, clinic_id, channel, recipient, template, subject, body_text, body_html, attempts`,
  )
    .bind(t + CLAIM_SECONDS, t, options.limit ?? 50, ...(options.ids ? [JSON.stringify(options.ids)] : []))
    .all<OutboxRow>();
  let sent = 0;
  let failed = 0;
  for (const row of results) {
    try {
      await sender.send(row);
      await env.DB.prepare(
        `UPDATE outbox SET status = 'sent', sent_at = ?, claimed_until = NULL, last_error = NULL
           ${sender.local ? "" : ", body_text = '', body_html = NULL"}
         WHERE id = ? AND status = 'sending' AND attempts = ?`,
      )
        .bind(now(), row.id, row.attempts)
        .run();
      sent++;
    } catch (err) {
      failed++;
      const giveUp = row.attempts >= MAX_ATTEMPTS;
      await env.DB.prepare(
        "UPDATE outbox SET status = ?, next_attempt_at = ?, claimed_until = NULL, last_error = ? WHERE id = ? AND status = 'sending' AND attempts = ?",
      )
        .bind(
          giveUp ? "failed" : "pending",
          now() + backoff(row.attempts),
          String((err as Error).message ?? err).slice(0, 500),
          row.id,
          row.attempts,
        )
        .run();
      log.warn("message_failed", {
        id: row.id,
        channel: row.channel,
        template: row.template,
        attempts: row.attempts,
        giveUp,
      });
    }
  }
  return { sent, failed };
}

/** The cron handler's pass: rounds of `deliverDue` until nothing due is left (bounded). */
export async function deliverBacklog(
  env: Bindings,
  rounds = 5,
  limit = 50,
  requestId = "cron",
): Promise<{ sent: number; failed: number }> {
  const total = { sent: 0, failed: 0 };
  for (let i = 0; i < rounds; i++) {
    const r = await deliverDue(env, { limit, requestId });
    total.sent += r.sent;
    total.failed += r.failed;
    if (r.sent + r.failed < limit) break;
  }
  return total;
}

/** Operators' view of the outbox (newest first), optionally of one clinic and one status. */
export async function listOutbox(
  env: Bindings,
  filter: { clinicId?: number; status?: OutboxStatus; start: number; limit: number },
) {
  const db = getDb(env.DB);
  const where = and(
    filter.clinicId !== undefined ? eq(outbox.clinicId, filter.clinicId) : undefined,
    filter.status ? eq(outbox.status, filter.status) : undefined,
  );
  const [rows, total] = await db.batch([
    db.select().from(outbox).where(where).orderBy(desc(outbox.id)).limit(filter.limit).offset(filter.start),
    db.select({ n: count() }).from(outbox).where(where),
  ]);
  return { rows, total: total[0]?.n ?? 0 };
}

/** The first delivery attempt of the messages a request queued, right after its response. */
export function deliverSoon<E extends AppEnv>(c: Context<E>, ids: number[]): void {
  if (ids.length > 0)
    afterResponse(c, () => deliverDue(c.env, { ids, limit: ids.length, requestId: c.get("requestId") }));
}
