import type { Clinic } from "../../db/schema";
import { ApiError } from "../../lib/errors";
import type { AppRouteHandler } from "../../lib/route-handler";
import { isClinicAdmin } from "../../middleware/auth";
import { getClinicById } from "../../services/clinics";
import { fileUrl } from "../../services/files";
import * as roomsService from "../../services/rooms";
import { getUser, roomsOfUser } from "../../services/users";
import type { Bindings, Caller, Principal } from "../../types";
import type {
  createRoom as createRoomRoute,
  getRoom as getRoomRoute,
  listRooms as listRoomsRoute,
  roomProviders as roomProvidersRoute,
} from "./rooms.routes";
import type { assignRoom as assignRoomRoute } from "./users.routes";
import { DEFAULT_LIST_FIELDS, LIST_FIELDS, profileRoomWire, publicProviderWire, roomWire } from "./wire";

interface Tenant {
  clinicId: number;
  clinicCode: string;
  /** The API key or a clinic admin: may manage every room. */
  manager: boolean;
  caller?: Caller;
  /** The API key's clinic. */
  clinic?: Clinic;
}

function tenant(principal: Principal): Tenant {
  if (principal.kind === "api_key") {
    const { clinic } = principal;
    return { clinicId: clinic.id, clinicCode: clinic.code, manager: true, clinic };
  }
  const { caller } = principal;
  return { clinicId: caller.clinicId, clinicCode: caller.clinicCode, manager: isClinicAdmin(caller), caller };
}

function requireManager(t: Tenant): void {
  if (!t.manager) throw new ApiError("api_key_or_admin_required");
}

async function visibleRoom(env: Bindings, t: Tenant, code: string) {
  const room = await roomsService.getRoom(env, t.clinicId, { code });
  if (!room) throw new ApiError("room_not_found");
  if (!t.manager && !(await roomsService.isMember(env, room.id, t.caller?.userId ?? -1))) {
    throw new ApiError("not_in_room");
  }
  return room;
}

export const createRoom: AppRouteHandler<typeof createRoomRoute> = async (c) => {
  const t = tenant(c.get("principal"));
  requireManager(t);
  const clinic = t.clinic ?? (await getClinicById(c.env, t.clinicId));
  if (!clinic) throw new ApiError("clinic_not_found");
  const room = await roomsService.createRoom(c.env, clinic, c.req.valid("json"));
  return c.json({ data: roomWire(room) }, 200);
};

export const listRooms: AppRouteHandler<typeof listRoomsRoute> = async (c) => {
  const t = tenant(c.get("principal"));
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

export const getRoom: AppRouteHandler<typeof getRoomRoute> = async (c) => {
  const room = await visibleRoom(c.env, tenant(c.get("principal")), c.req.valid("param").code);
  return c.json({ data: roomWire(room) }, 200);
};

export const roomProviders: AppRouteHandler<typeof roomProvidersRoute> = async (c) => {
  const t = tenant(c.get("principal"));
  const room = await visibleRoom(c.env, t, c.req.valid("param").code);
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

export const assignRoom: AppRouteHandler<typeof assignRoomRoute> = async (c) => {
  const t = tenant(c.get("principal"));
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
  if (!room) throw new ApiError("room_not_found");
  await roomsService.assign(c.env, t.clinicId, room.id, user.id);
  const rooms = await roomsOfUser(c.env, t.clinicId, user.id);
  return c.json(
    { data: rooms.map((x, i) => profileRoomWire(t.clinicCode, x, i)), total_count: rooms.length },
    200,
  );
};
