import type { Context } from "hono";
import type { User } from "../../db/schema";
import { afterResponse, bestEffort } from "../../lib/background";
import { ApiError } from "../../lib/errors";
import { findQuery, getQuery, parseQueryString, pick, type QuerySpec } from "../../lib/feathers-query";
import type { AppRouteHandler } from "../../lib/route-handler";
import { auditLater, auditSource } from "../../middleware/audit";
import { isClinicAdmin } from "../../middleware/auth";
import { loadClinic } from "../../middleware/tenant";
import { ACCOUNT_QUERY, findAccounts as find, type Resource } from "../../services/account-find";
import { setFirstLogin } from "../../services/account-profile";
import { createAccount as create, requireLiveAccount } from "../../services/accounts";
import { deliverSoon, queuedIds } from "../../services/outbox";
import { ownProfile, refreshProfiles } from "../../services/own-profile";
import { splitRoles } from "../../services/sessions";
import type { AccountCaller, AppEnv, AppEnvWith } from "../../types";

import type {
  createAccount as createAccountRoute,
  findAccounts as findAccountsRoute,
  getAccount as getAccountRoute,
  patchAccount as patchAccountRoute,
} from "./accounts.routes";
import { accountWire } from "./wire";

type AccountEnv = AppEnvWith<{ account: AccountCaller }>;

/** The caller when `id` is its uid; any other id is 404 (whether or not it exists). */
function ownCaller<E extends AccountEnv>(c: Context<E>, id: string): AccountCaller {
  const caller: AccountCaller = c.get("account");
  if (id !== String(caller.userId)) throw new ApiError("account_not_found");
  return caller;
}

/** The caller's own account (its users row) when `id` is its uid; any other id is 404. */
export async function ownAccount<E extends AccountEnv>(c: Context<E>, id: string): Promise<User> {
  const caller = ownCaller(c, id);
  return requireLiveAccount(c.env, caller.clinicId, caller.userId);
}

/** The request's Feathers query (qs notation, MYCURE `#` values decoded). */
export const queryOf = <E extends AppEnv>(c: Context<E>) => parseQueryString(new URL(c.req.url).search);

/**
 * `find` on an accounts-family resource: clinic admins (admin types, role clinic_admin) list their clinic's
 * accounts, everyone else only their own. Listing others' accounts is a profile access in the audit log.
 */
export async function findPage<
  E extends AccountEnv,
  T extends Record<string, unknown>,
  K extends keyof T & string,
>(c: Context<E>, resource: Resource, spec: QuerySpec, wire: (u: User) => T, idField: K) {
  const caller: AccountCaller = c.get("account");
  const q = findQuery(spec, queryOf(c));
  const me = await requireLiveAccount(c.env, caller.clinicId, caller.userId);
  const admin = isClinicAdmin({ type: me.type, roles: splitRoles(me.roles) });
  const { rows, total } = await find(
    c.env,
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

export const findAccounts: AppRouteHandler<typeof findAccountsRoute> = async (c) => {
  return c.json(await findPage(c, "accounts", ACCOUNT_QUERY, accountWire, "uid"), 200);
};

export const createAccount: AppRouteHandler<typeof createAccountRoute> = async (c) => {
  const clinic = await loadClinic(c);
  const { user, results, messageCount } = await create(c.env, clinic, c.req.valid("json"), auditSource(c));
  deliverSoon(c, queuedIds(results.slice(results.length - messageCount)));
  return c.json(accountWire(user), 201);
};

export const getAccount: AppRouteHandler<typeof getAccountRoute> = async (c) => {
  const { select } = getQuery(ACCOUNT_QUERY, queryOf(c));
  const caller = ownCaller(c, c.req.valid("param").uid);
  // The session's profile snapshot while fresh: this read costs the one KV read that authenticated it.
  const account = await ownProfile(c.env, caller, { kind: "session", sessionId: caller.sessionId }, (work) =>
    afterResponse(c, work),
  );
  if (!account) throw new ApiError("invalid_token");
  return c.json(pick(accountWire(account), "uid", select), 200);
};

export const patchAccount: AppRouteHandler<typeof patchAccountRoute> = async (c) => {
  const user = await ownAccount(c, c.req.valid("param").uid);
  const { isFirstLogin } = c.req.valid("json");
  if (isFirstLogin === undefined) return c.json(accountWire(user), 200);
  const updatedAt = await setFirstLogin(c.env, user.id, isFirstLogin);
  if (updatedAt === null) throw new ApiError("invalid_token");
  const updated = { ...user, isFirstLogin, updatedAt };
  await bestEffort(c, () => refreshProfiles(c.env, updated));
  return c.json(accountWire(updated), 200);
};
