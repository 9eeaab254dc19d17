import type { RouteConfig, RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Clinic } from "../../db/schema";
import { ApiError } from "../../lib/errors";
import { isClinicAdmin } from "../../middleware/auth";
import { getClinicById } from "../../services/clinics";
import { fileUrl } from "../../services/files";
import * as roomsService from "../../services/rooms";
import { getUser, roomsOfUser } from "../../services/users";
import type { AppEnv, Caller } from "../../types";
import type * as r from "./rooms.routes";
import type * as u from "./users.routes";
import { DEFAULT_LIST_FIELDS, LIST_FIELDS, profileRoomWire, publicProviderWire, roomWire } from "./wire";

type Handler<R extends RouteConfig> = RouteHandler<R, AppEnv>;

interface Tenant {
  clinicId: number;
  clinicCode: string;
  /** The API key or a clinic admin: may manage every room. */
  manager: boolean;
  caller?: Caller;
}

function tenant(c: Context<AppEnv>): Tenant {
  if (c.get("apiKey")) {
    const clinic = c.get("clinic") as Clinic;
    return { clinicId: clinic.id, clinicCode: clinic.code, manager: true };
  }
  const caller = c.get("caller") as Caller;
  return { clinicId: caller.clinicId, clinicCode: caller.clinicCode, manager: isClinicAdmin(caller), caller };
}

function requireManager(t: Tenant): void {
  if (!t.manager)
    throw new ApiError("forbidden", { message: "Only the account's API key or a clinic admin can do this" });
}

async function visibleRoom(c: Context<AppEnv>, t: Tenant, code: string) {
  const room = await roomsService.getRoom(c.env, t.clinicId, { code });
  if (!room) throw new ApiError("not_found", { message: "Room not found" });
  if (!t.manager && !(await roomsService.isMember(c.env, room.id, t.caller?.userId ?? -1))) {
    throw new ApiError("forbidden", { message: "You are not assigned to this room" });
  }
  return room;
}

export const createRoom: Handler<typeof r.createRoom> = async (c) => {
  const t = tenant(c);
  requireManager(t);
  const clinic = c.get("clinic") ?? (await getClinicById(c.env, t.clinicId));
  if (!clinic) throw new ApiError("clinic_not_found");
  const room = await roomsService.createRoom(c.env, clinic, c.req.valid("json"));
  return c.json({ data: roomWire(room) }, 200);
};

export const listRooms: Handler<typeof r.listRooms> = async (c) => {
  const t = tenant(c);
  const { page = 1, limit = 20 } = c.req.valid("query");
  const { rows, total } = await roomsService.listRooms(
    c.env,
    t.clinicId,
    page,
    limit,
    t.manager ? undefined : t.caller?.userId,
  );
  return c.json({ data: rows.map(roomWire), total_count: total }, 200);
};

export const getRoom: Handler<typeof r.getRoom> = async (c) => {
  const room = await visibleRoom(c, tenant(c), c.req.valid("param").code);
  return c.json({ data: roomWire(room) }, 200);
};

export const roomProviders: Handler<typeof r.roomProviders> = async (c) => {
  const t = tenant(c);
  const room = await visibleRoom(c, t, c.req.valid("param").code);
  const { page = 1, limit = 20 } = c.req.valid("query");
  // Managers see the list fields of every provider; members, guests and providers of the room only the
  // public fields of the providers who are not hidden (README "Rooms").
  const { rows, total } = await roomsService.providersOf(c.env, t.clinicId, room.id, page, limit, t.manager);
  const origin = new URL(c.req.url).origin;
  const data = await Promise.all(
    rows.map(async (user) =>
      t.manager
        ? Object.fromEntries(DEFAULT_LIST_FIELDS.map((f) => [f, LIST_FIELDS[f](t.clinicCode, user)]))
        : publicProviderWire(user, await fileUrl(c.env, origin, user.photo)),
    ),
  );
  return c.json({ data, total_count: total }, 200);
};

export const assignRoom: Handler<typeof u.assignRoom> = async (c) => {
  const t = tenant(c);
  requireManager(t);
  const userId = c.req.valid("param").id;
  const body = c.req.valid("json");
  const [user, room] = await Promise.all([
    getUser(c.env, t.clinicId, userId),
    roomsService.getRoom(
      c.env,
      t.clinicId,
      body.room_code !== undefined ? { code: body.room_code } : { id: body.room_id as number },
    ),
  ]);
  if (!user) throw new ApiError("user_not_found");
  if (!room) throw new ApiError("not_found", { message: "Room not found" });
  await roomsService.assign(c.env, t.clinicId, room.id, user.id);
  const rooms = await roomsOfUser(c.env, t.clinicId, user.id);
  return c.json(
    { data: rooms.map((x, i) => profileRoomWire(t.clinicCode, x, i)), total_count: rooms.length },
    200,
  );
};
