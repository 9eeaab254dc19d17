import type { RouteConfig, RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import { getDb } from "../../db";
import type { User } from "../../db/schema";
import { deliverSoon } from "../../lib/background";
import { now } from "../../lib/clock";
import { ApiError } from "../../lib/errors";
import { auditSource } from "../../middleware/audit";
import { loadClinic } from "../../middleware/tenant";
import { accountWire, createAccount as create, requireLiveAccount } from "../../services/accounts";
import { queuedIds } from "../../services/outbox";
import type { AccountCaller, AppEnv } from "../../types";
import type * as r from "./accounts.routes";

type Handler<R extends RouteConfig> = RouteHandler<R, AppEnv>;

/** The caller's own account when `id` is its uid; any other id is 404 (whether or not it exists). */
export async function ownAccount(c: Context<AppEnv>, id: string): Promise<User> {
  const caller = c.get("account") as AccountCaller;
  if (id !== String(caller.userId)) throw new ApiError("account_not_found");
  return requireLiveAccount(getDb(c.env.DB), caller.clinicId, caller.userId);
}

export const createAccount: Handler<typeof r.createAccount> = async (c) => {
  const clinic = await loadClinic(c);
  const { user, results, messageCount } = await create(c.env, clinic, c.req.valid("json"), auditSource(c));
  deliverSoon(c, queuedIds(results.slice(results.length - messageCount)));
  return c.json(accountWire(user), 201);
};

export const getAccount: Handler<typeof r.getAccount> = async (c) => {
  return c.json(accountWire(await ownAccount(c, c.req.valid("param").uid)), 200);
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
