/**
 * The provider dashboard's data (seed 001 use case 1; seed 000 POST /users/alive: "only alive patients
 * show up on the provider dashboard"): the provider's rooms and, per room, the patients (members and guests)
 * whose heartbeat has not lapsed. One KV list (who is alive in the clinic), then one D1 query bounded by
 * that list.
 */
import { aliveUsers } from "../kv/alive";
import { now } from "../lib/clock";
import type { Bindings } from "../types";
import { USER_TYPES } from "./users";

export const PATIENT_TYPES = [USER_TYPES.member, USER_TYPES.guest] as const;

export interface WaitingPatient {
  id: number;
  firstName: string;
  lastName: string;
  lastConnected: number;
  /** Seconds since the last heartbeat, by the server's clock. */
  seenAgo: number;
}

export interface WaitingRoom {
  code: string;
  name: string;
  patients: WaitingPatient[];
}

interface Row {
  room_id: number;
  code: string;
  name: string;
  user_id: number | null;
  first_name: string | null;
  last_name: string | null;
}

/** The provider's rooms (in the order they were assigned) with their alive patients (by name). */
export async function waitingRooms(
  env: Bindings,
  clinicId: number,
  providerId: number,
): Promise<WaitingRoom[]> {
  const alive = await aliveUsers(env.KV, clinicId);
  const { results } = await env.DB.prepare(
    `SELECT r.id AS room_id, r.code, r.name, u.id AS user_id, u.first_name, u.last_name
     FROM room_members me
     JOIN rooms r ON r.id = me.room_id AND r.clinic_id = me.clinic_id
     LEFT JOIN room_members pm ON pm.room_id = r.id AND pm.user_id IN (SELECT value FROM json_each(?3))
     LEFT JOIN users u ON u.id = pm.user_id AND u.clinic_id = ?1 AND u.disabled = 0
       AND u.type IN (${PATIENT_TYPES.join(", ")})
     WHERE me.clinic_id = ?1 AND me.user_id = ?2
     ORDER BY me.created_at, r.id, u.first_name, u.last_name, u.id`,
  )
    .bind(clinicId, providerId, JSON.stringify([...alive.keys()]))
    .all<Row>();
  const t = now();
  const rooms = new Map<number, WaitingRoom>();
  for (const row of results) {
    let room = rooms.get(row.room_id);
    if (!room) {
      room = { code: row.code, name: row.name, patients: [] };
      rooms.set(row.room_id, room);
    }
    const heartbeat = row.user_id === null ? undefined : alive.get(row.user_id);
    if (row.user_id === null || !heartbeat) continue;
    room.patients.push({
      id: row.user_id,
      firstName: row.first_name ?? "",
      lastName: row.last_name ?? "",
      lastConnected: heartbeat.lastConnected,
      seenAgo: Math.max(0, t - heartbeat.lastConnected),
    });
  }
  return [...rooms.values()];
}
