/**
 * Audit rows from a request (services/audit.ts): the request's source (client IP, user agent, request id,
 * family), a statement to put into the batch a flow already runs (`audit`), or a row written after the
 * response (`auditLater`) for flows without a batch, so that auditing never delays an answer.
 * `adminAudit` records every call of the operators' API.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { afterResponse } from "../lib/background";
import { familyOf } from "../lib/families";
import { maskString } from "../lib/log";
import { type AuditEntry, type AuditSource, auditStatement } from "../services/audit";
import type { SignedOut } from "../services/sessions";
import type { AppEnv } from "../types";
import { clientIp } from "./rate-limit";

export function auditSource<E extends AppEnv>(c: Context<E>): AuditSource {
  const ip = clientIp(c.req);
  return {
    ip: ip === "unknown" ? null : ip.slice(0, 64),
    // Client-controlled: capped and masked like everything else that is stored (no tokens or emails).
    userAgent: maskString(c.req.header("user-agent")?.slice(0, 256) ?? "") || null,
    requestId: c.get("requestId") ?? null,
    family: c.req.path === "/auth" ? "web" : familyOf(c.req.path),
  };
}

/** The audit row as a statement of the flow's own batch (`ifChanged`: only if the previous one changed a row). */
export function audit<E extends AppEnv>(
  c: Context<E>,
  entry: AuditEntry,
  options: { ifChanged?: boolean } = {},
): D1PreparedStatement {
  return auditStatement(c.env.DB, auditSource(c), entry, options);
}

/** The audit row, written after the response. */
export function auditLater<E extends AppEnv>(c: Context<E>, entry: AuditEntry): void {
  const statement = audit(c, entry);
  afterResponse(c, () => statement.run());
}

/**
 * A user ended their own sessions: after the response, one batch marks them cleared (sessions.ts
 * `endSessions`) and writes the audit row (`sessions`: how many ended).
 */
export function auditSignOut<E extends AppEnv>(
  c: Context<E>,
  who: { clinicId: number; userId: number },
  { sessions, cleared }: SignedOut,
): void {
  const row = audit(c, {
    event: "sign_out",
    outcome: "success",
    clinic: who.clinicId,
    actorUserId: who.userId,
    subjectUserId: who.userId,
    details: { sessions },
  });
  afterResponse(c, () => c.env.DB.batch(cleared ? [cleared, row] : [row]));
}

/** Audit rows of a flow that runs in a service (sign-in): this request's source and `auditLater`. */
export function auditSink<E extends AppEnv>(
  c: Context<E>,
): { source: AuditSource; later(entry: AuditEntry): void } {
  return { source: auditSource(c), later: (entry) => auditLater(c, entry) };
}

/**
 * Every call of the operators' API is an audit row (`admin_action`): the route and its status, the clinic
 * it named (path `code`, or the one a handler created: `auditClinicId`) and the user (path `id` of a
 * user route). Failed admin authentication is recorded too, up to the rate limit: calls the binding
 * refused (429) write nothing, so that a flood of wrong keys cannot turn into a flood of writes.
 */
export const adminAudit = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  if (c.res.status === 429) return;
  const route = c.req.routePath;
  const code = route.includes(":code") ? c.req.param("code") : undefined;
  const id = route.includes("/users/:id") ? Number(c.req.param("id")) : undefined;
  const created = c.get("auditClinicId");
  auditLater(c, {
    event: "admin_action",
    outcome: c.res.status < 400 ? "success" : "failure",
    clinic: created ?? (code ? { code } : null),
    subjectUserId: id !== undefined && Number.isSafeInteger(id) ? id : null,
    details: { action: `${c.req.method} ${route}`, status: c.res.status },
  });
});
