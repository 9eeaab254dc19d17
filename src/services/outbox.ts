/**
 * Message delivery (DESIGN.md "Messages"). Flows write a row to the outbox in the same D1 batch as the
 * change that causes it (`queueMessage` returns a statement for that batch). Delivery runs right after
 * the response (`waitUntil`) and again from the cron handler, with exponential backoff. A row is claimed
 * by one atomic UPDATE before it is sent, and marked sent exactly once.
 */
import { now } from "../lib/clock";
import { render, type TemplateName, type TemplateVars } from "../messages/templates";
import type { Bindings } from "../types";

export type Channel = "email" | "sms";

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
}

export const MAX_ATTEMPTS = 8;
/** Seconds before retry n (1-based): 30 s, 1 min, 2 min, … capped at 1 h. */
export const backoff = (attempt: number) => Math.min(3600, 30 * 2 ** (attempt - 1));
/** How long a claim protects a row being sent. */
const CLAIM_SECONDS = 120;

export function queueMessage(
  db: D1Database,
  clinicId: number,
  channel: Channel,
  recipient: string,
  template: TemplateName,
  vars: TemplateVars,
): D1PreparedStatement {
  const { subject, text, html } = render(template, vars);
  const t = now();
  return db
    .prepare(
      `INSERT INTO outbox (clinic_id, channel, recipient, template, subject, body_text, body_html, status, attempts, next_attempt_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)`,
    )
    .bind(clinicId, channel, recipient, template, subject, text, channel === "email" ? html : null, t, t);
}

/** Local development: the outbox row itself is the delivery (operators read it at GET /admin/outbox). */
export const outboxSender: Sender = {
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
 * Claims and sends due messages (pending and due, or claims that expired). Returns counts.
 * Safe to run concurrently: each row is claimed by exactly one UPDATE.
 */
export async function deliverDue(
  env: Bindings,
  options: { limit?: number; sender?: Sender } = {},
): Promise<{ sent: number; failed: number }> {
  const t = now();
  const sender = options.sender ?? senderFor(env);
  const { results } = await env.DB.prepare(
    `UPDATE outbox SET status = 'sending', claimed_until = ?1, attempts = attempts + 1
     WHERE id IN (
       SELECT id FROM outbox
       WHERE (status = 'pending' AND next_attempt_at <= ?2) OR (status = 'sending' AND claimed_until < ?2)
       ORDER BY next_attempt_at LIMIT ?3)
     RETURNING id, clinic_id, channel, recipient, template, subject, body_text, body_html, attempts`,
  )
    .bind(t + CLAIM_SECONDS, t, options.limit ?? 50)
    .all<OutboxRow>();
  let sent = 0;
  let failed = 0;
  for (const row of results) {
    try {
      await sender.send(row);
      await env.DB.prepare(
        "UPDATE outbox SET status = 'sent', sent_at = ?, claimed_until = NULL, last_error = NULL WHERE id = ? AND status = 'sending'",
      )
        .bind(now(), row.id)
        .run();
      sent++;
    } catch (err) {
      failed++;
      const giveUp = row.attempts >= MAX_ATTEMPTS;
      await env.DB.prepare(
        "UPDATE outbox SET status = ?, next_attempt_at = ?, claimed_until = NULL, last_error = ? WHERE id = ? AND status = 'sending'",
      )
        .bind(
          giveUp ? "failed" : "pending",
          now() + backoff(row.attempts),
          String((err as Error).message ?? err).slice(0, 500),
          row.id,
        )
        .run();
      console.warn(
        JSON.stringify({
          level: "warn",
          event: "message_failed",
          id: row.id,
          channel: row.channel,
          template: row.template,
          attempts: row.attempts,
        }),
      );
    }
  }
  return { sent, failed };
}
