import type { Context } from "hono";
import type { Clinic, User } from "../../db/schema";
import { aliveUsers, markAlive } from "../../kv/alive";
import { ApiError, invalidField } from "../../lib/errors";
import type { AppRouteHandler } from "../../lib/route-handler";
import { auditLater } from "../../middleware/audit";
import { isClinicAdmin, PROVIDER_TYPE } from "../../middleware/auth";
import { SORTABLE, type SortKey, searchUsers, type UserFilter } from "../../services/user-search";
import { getUserWithRooms, shareRoom, USER_TYPES } from "../../services/users";
import type { AppEnv, Caller } from "../../types";
import type {
  alive as aliveRoute,
  getUser as getUserRoute,
  listUsers as listUsersRoute,
} from "./users.routes";
import { DEFAULT_LIST_FIELDS, LIST_FIELDS, type ListField, photoOf, profileWire } from "./wire";

export const alive: AppRouteHandler<typeof aliveRoute> = async (c) => {
  const caller = c.get("caller") as Caller;
  const heartbeat = c.req.valid("json").heartbeat ?? caller.heartbeat;
  const state = await markAlive(c.env.KV, caller.clinicId, caller.userId, heartbeat);
  return c.json({ data: { last_connected: state.lastConnected, heartbeat } }, 200);
};

/** Who may list users: the API key and clinic admins (everybody), providers (their rooms' users). */
function listScope(c: Context<AppEnv>): { clinicId: number; clinicCode: string; inRoomsOf?: number } {
  if (c.get("apiKey")) {
    const clinic = c.get("clinic") as Clinic;
    return { clinicId: clinic.id, clinicCode: clinic.code };
  }
  const caller = c.get("caller") as Caller;
  if (isClinicAdmin(caller)) return { clinicId: caller.clinicId, clinicCode: caller.clinicCode };
  if (caller.type === PROVIDER_TYPE) {
    return { clinicId: caller.clinicId, clinicCode: caller.clinicCode, inRoomsOf: caller.userId };
  }
  throw new ApiError("forbidden", { message: "Members and guests cannot list users" });
}

export const listUsers: AppRouteHandler<typeof listUsersRoute> = async (c) => {
  const scope = listScope(c);
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
  const caller = c.get("caller");
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
  c: Context<AppEnv>,
  target: User,
): Promise<"self" | "api_key" | "clinic_admin" | "provider" | null> {
  if (c.get("apiKey")) return "api_key";
  const caller = c.get("caller") as Caller;
  if (caller.userId === target.id) return "self";
  if (isClinicAdmin(caller)) return "clinic_admin";
  if (caller.type === PROVIDER_TYPE && (await shareRoom(c.env, caller.clinicId, caller.userId, target.id))) {
    return "provider";
  }
  return null;
}

function tenantOf(c: Context<AppEnv>): { clinicId: number; clinicCode: string } {
  const caller = c.get("caller");
  if (caller) return { clinicId: caller.clinicId, clinicCode: caller.clinicCode };
  const clinic = c.get("clinic") as Clinic;
  return { clinicId: clinic.id, clinicCode: clinic.code };
}

export const getUserProfile: AppRouteHandler<typeof getUserRoute> = async (c) => {
  const { clinicId, clinicCode } = tenantOf(c);
  const { user, rooms } = await getUserWithRooms(c.env, clinicId, c.req.valid("param").id);
  if (!user) throw new ApiError("user_not_found");
  const reader = await readerOf(c, user);
  // Access to another user's profile is an audit row, refused or not.
  if (reader !== "self") {
    auditLater(c, {
      event: "profile_access",
      outcome: reader ? "success" : "failure",
      clinic: clinicId,
      actorUserId: c.get("caller")?.userId ?? null,
      subjectUserId: user.id,
      details: { via: reader ?? "denied" },
    });
  }
  if (!reader) throw new ApiError("forbidden", { message: "You may not read this user's profile" });
  return c.json({ data: profileWire(clinicCode, user, rooms, await photoOf(c, user)) }, 200);
};
