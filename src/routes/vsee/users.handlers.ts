import type { User } from "../../db/schema";
import { aliveUsers, markAlive } from "../../kv/alive";
import { ApiError, invalidField } from "../../lib/errors";
import type { AppRouteHandler } from "../../lib/route-handler";
import { auditLater } from "../../middleware/audit";
import { isClinicAdmin, PROVIDER_TYPE, tenantOf, userOf } from "../../middleware/auth";
import { SORTABLE, type SortKey, searchUsers, type UserFilter } from "../../services/user-search";
import { getUserWithRooms, shareRoom, USER_TYPES } from "../../services/users";
import type { Bindings, Principal } from "../../types";
import type {
  alive as aliveRoute,
  getUser as getUserRoute,
  listUsers as listUsersRoute,
} from "./users.routes";
import { DEFAULT_LIST_FIELDS, LIST_FIELDS, type ListField, photoOf, profileWire } from "./wire";

export const alive: AppRouteHandler<typeof aliveRoute> = async (c) => {
  const caller = c.get("caller");
  const heartbeat = c.req.valid("json").heartbeat ?? caller.heartbeat;
  const state = await markAlive(c.env.KV, caller.clinicId, caller.userId, heartbeat);
  return c.json({ data: { last_connected: state.lastConnected, heartbeat } }, 200);
};

/** Who may list users: the API key and clinic admins (everybody), providers (their rooms' users). */
function listScope(principal: Principal): { clinicId: number; clinicCode: string; inRoomsOf?: number } {
  if (principal.kind === "api_key") return tenantOf(principal);
  const { caller } = principal;
  if (isClinicAdmin(caller)) return { clinicId: caller.clinicId, clinicCode: caller.clinicCode };
  if (caller.type === PROVIDER_TYPE) {
    return { clinicId: caller.clinicId, clinicCode: caller.clinicCode, inRoomsOf: caller.userId };
  }
  throw new ApiError("user_list_forbidden");
}

export const listUsers: AppRouteHandler<typeof listUsersRoute> = async (c) => {
  const principal = c.get("principal");
  const scope = listScope(principal);
  const q = c.req.valid("query");
  const fields = (q.fields ?? DEFAULT_LIST_FIELDS) as string[];
  const unknown = fields.filter((f) => !Object.hasOwn(LIST_FIELDS, f));
  if (unknown.length) throw invalidField("fields", `unknown field(s): ${unknown.join(", ")}`);
  let sort: { key: SortKey; dir: "asc" | "desc" } = { key: "id", dir: "asc" };
  if (q.sort) {
    const [key, dir] = q.sort.split(".") as [string, string];
    if (!Object.hasOwn(SORTABLE, key)) throw invalidField("sort", `cannot sort by ${key}`);
    sort = { key: key as SortKey, dir: dir.toLowerCase() as "asc" | "desc" };
  }
  const caller = userOf(principal);
  const filter: UserFilter = {
    ids: q.id,
    types: q.type,
    statuses: q.status,
    subtypes: q.subtype,
    roles: q.role,
    q: q.q,
    fullName: q.full_name,
    email: q.email,
    isHidden: q.is_hidden,
    isAdmin: q.is_admin,
    roomCode: q.room_code,
    group: q.group,
    inRoomsOf: scope.inRoomsOf ?? (q.ex_filter && caller ? caller.userId : undefined),
  };
  if (q.ex_filter === "my-patient") filter.types = [USER_TYPES.member];
  let alive: Map<number, { lastConnected: number; until: number }> | undefined;
  if (q.alive) {
    alive = await aliveUsers(c.env.KV, scope.clinicId);
    filter.aliveIds = [...alive.keys()];
  }
  const limit = q.limit ?? 20;
  const start = q.start ?? 0;
  if (q.account_code && q.account_code !== scope.clinicCode) return c.json({ data: [], total_count: 0 }, 200);
  const { rows, total } = await searchUsers(c.env, scope.clinicId, filter, sort, start, limit);
  const picked = (fields.includes("id") ? fields : ["id", ...fields]) as ListField[];
  const data = rows.map((u) => {
    const item: Record<string, unknown> = {};
    for (const f of picked) item[f] = LIST_FIELDS[f](scope.clinicCode, u);
    const a = alive?.get(u.id);
    if (a) item.last_connected = a.lastConnected;
    return item;
  });
  return c.json({ data, total_count: total }, 200);
};

/** Why the request may read `target`'s profile (self, the API key, clinic admins, providers sharing a room), or null. */
async function readerOf(
  env: Bindings,
  principal: Principal,
  target: User,
): Promise<"self" | "api_key" | "clinic_admin" | "provider" | null> {
  if (principal.kind === "api_key") return "api_key";
  const { caller } = principal;
  if (caller.userId === target.id) return "self";
  if (isClinicAdmin(caller)) return "clinic_admin";
  if (caller.type === PROVIDER_TYPE && (await shareRoom(env, caller.clinicId, caller.userId, target.id))) {
    return "provider";
  }
  return null;
}

export const getUserProfile: AppRouteHandler<typeof getUserRoute> = async (c) => {
  const principal = c.get("principal");
  const { clinicId, clinicCode } = tenantOf(principal);
  const { user, rooms } = await getUserWithRooms(c.env, clinicId, c.req.valid("param").id);
  if (!user) throw new ApiError("user_not_found");
  const reader = await readerOf(c.env, principal, user);
  // Access to another user's profile is an audit row, refused or not.
  if (reader !== "self") {
    auditLater(c, {
      event: "profile_access",
      outcome: reader ? "success" : "failure",
      clinic: clinicId,
      actorUserId: userOf(principal)?.userId ?? null,
      subjectUserId: user.id,
      details: { via: reader ?? "denied" },
    });
  }
  if (!reader) throw new ApiError("profile_forbidden");
  return c.json({ data: profileWire(clinicCode, user, rooms, await photoOf(c, user)) }, 200);
};
