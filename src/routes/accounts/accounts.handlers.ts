import type { RouteConfig, RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import { getDb } from "../../db";
import type { User } from "../../db/schema";
import { now } from "../../lib/clock";
import { ApiError } from "../../lib/errors";
import { findQuery, getQuery, parseQueryString, pick, type QuerySpec } from "../../lib/feathers-query";
import { auditLater, auditSource } from "../../middleware/audit";
import { isClinicAdmin } from "../../middleware/auth";
import { loadClinic } from "../../middleware/tenant";
import { ACCOUNT_QUERY, findAccounts as find, type Resource } from "../../services/account-find";
import { accountWire, createAccount as create, requireLiveAccount } from "../../services/accounts";
import { deliverSoon, queuedIds } from "../../services/outbox";
import { splitRoles } from "../../services/sessions";
import type { AccountCaller, AppEnv } from "../../types";
import type * as r from "./accounts.routes";

type Handler<R extends RouteConfig> = RouteHandler<R, AppEnv>;

/** The caller's own account when `id` is its uid; any other id is 404 (whether or not it exists). */
export async function ownAccount(c: Context<AppEnv>, id: string): Promise<User> {
  const caller = c.get("account") as AccountCaller;
  if (id !== String(caller.userId)) throw new ApiError("account_not_found");
  return requireLiveAccount(getDb(c.env.DB), caller.clinicId, caller.userId);
}

/** The request's Feathers query (qs notation, MYCURE `#` values decoded). */
export const queryOf = (c: Context<AppEnv>) => parseQueryString(new URL(c.req.url).search);

/**
 * `find` on an accounts-family resource: clinic admins (admin types, role clinic_admin) list their clinic's
 * accounts, everyone else only their own. Listing others' accounts is a profile access in the audit log.
 */
export async function findPage<T extends Record<string, unknown>, K extends keyof T & string>(
  c: Context<AppEnv>,
  resource: Resource,
  spec: QuerySpec,
  wire: (u: User) => T,
  idField: K,
) {
  const caller = c.get("account") as AccountCaller;
  const q = findQuery(spec, queryOf(c));
  const me = await requireLiveAccount(getDb(c.env.DB), caller.clinicId, caller.userId);
  const admin = isClinicAdmin({ type: me.type, roles: splitRoles(me.roles) });
  const { rows, total } = await find(
    getDb(c.env.DB),
    resource,
    { clinicId: caller.clinicId, onlyUserId: admin ? undefined : me.id },
    q,
  );
  if (rows.some((u) => u.id !== me.id)) {
    auditLater(c, {
      event: "profile_access",
      outcome: "success",
      clinic: caller.clinicId,
      actorUserId: me.id,
      details: { via: "clinic_admin", resource, count: rows.length },
    });
  }
  return { total, limit: q.limit, skip: q.skip, data: rows.map((u) => pick(wire(u), idField, q.select)) };
}

export const findAccounts: Handler<typeof r.findAccounts> = async (c) => {
  return c.json(await findPage(c, "accounts", ACCOUNT_QUERY, accountWire, "uid"), 200);
};

export const createAccount: Handler<typeof r.createAccount> = async (c) => {
  const clinic = await loadClinic(c);
  const { user, results, messageCount } = await create(c.env, clinic, c.req.valid("json"), auditSource(c));
  deliverSoon(c, queuedIds(results.slice(results.length - messageCount)));
  return c.json(accountWire(user), 201);
};

export const getAccount: Handler<typeof r.getAccount> = async (c) => {
  const { select } = getQuery(ACCOUNT_QUERY, queryOf(c));
  return c.json(pick(accountWire(await ownAccount(c, c.req.valid("param").uid)), "uid", select), 200);
};

export const patchAccount: Handler<typeof r.patchAccount> = async (c) => {
  const user = await ownAccount(c, c.req.valid("param").uid);
  const { isFirstLogin } = c.req.valid("json");
  if (isFirstLogin === undefined) return c.json(accountWire(user), 200);
  const row = await c.env.DB.prepare(
    "UPDATE users SET is_first_login = ?, updated_at = ? WHERE id = ? RETURNING updated_at",
  )
    .bind(isFirstLogin ? 1 : 0, now(), user.id)
    .first<{ updated_at: number }>();
  if (!row) throw new ApiError("invalid_token");
  return c.json(accountWire({ ...user, isFirstLogin, updatedAt: row.updated_at }), 200);
};
