/** Waiting rooms (seed 001, use case 2) and their members. */
import { and, asc, count, eq, sql } from "drizzle-orm";
import { getDb } from "../db";
import { dbErrorMessage } from "../db/rows";
import { type Room, roomMembers, rooms, type User, users } from "../db/schema";
import { now } from "../lib/clock";
import { randomToken } from "../lib/crypto";
import { ApiError } from "../lib/errors";
import type { Bindings } from "../types";

export async function createRoom(
  env: Bindings,
  clinic: { id: number; domain: string },
  input: { slug: string; name: string; code?: string; domain?: string },
): Promise<Room> {
  const db = getDb(env.DB);
  const t = now();
  const domain = input.domain ?? clinic.domain;
  try {
    const row = await db
      .insert(rooms)
      .values({
        clinicId: clinic.id,
        code: input.code ?? randomToken(8),
        slug: input.slug,
        name: input.name,
        domain,
        createdAt: t,
        updatedAt: t,
      })
      .returning()
      .get();
    return row;
  } catch (err) {
    const message = dbErrorMessage(err);
    if (/rooms\.slug|rooms_clinic_domain_slug_uq/.test(message)) {
      throw new ApiError("room_slug_exists", { params: { domain, slug: input.slug } });
    }
    if (/rooms\.code|rooms_clinic_code_uq/.test(message)) {
      throw new ApiError("room_code_exists", { params: { code: input.code ?? "" } });
    }
    throw err;
  }
}

export async function getRoom(
  env: Bindings,
  clinicId: number,
  by: { code: string } | { id: number },
): Promise<Room | undefined> {
  const db = getDb(env.DB);
  const match = "code" in by ? eq(rooms.code, by.code) : eq(rooms.id, by.id);
  return db
    .select()
    .from(rooms)
    .where(and(eq(rooms.clinicId, clinicId), match))
    .get();
}

export async function listRooms(
  env: Bindings,
  clinicId: number,
  page: number,
  limit: number,
  memberId?: number,
) {
  const db = getDb(env.DB);
  const where = and(
    eq(rooms.clinicId, clinicId),
    memberId === undefined
      ? undefined
      : sql`${rooms.id} IN (SELECT room_id FROM room_members WHERE user_id = ${memberId})`,
  );
  const [rows, total] = await db.batch([
    db
      .select()
      .from(rooms)
      .where(where)
      .orderBy(asc(rooms.id))
      .limit(limit)
      .offset((page - 1) * limit),
    db.select({ n: count() }).from(rooms).where(where),
  ]);
  return { rows, total: total[0]?.n ?? 0 };
}

export async function isMember(env: Bindings, roomId: number, userId: number): Promise<boolean> {
  const db = getDb(env.DB);
  const row = await db
    .select({ one: sql<number>`1` })
    .from(roomMembers)
    .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, userId)))
    .get();
  return row !== undefined;
}

/** Assigns a user to a room; assigning twice changes nothing. */
export async function assign(env: Bindings, clinicId: number, roomId: number, userId: number): Promise<void> {
  const db = getDb(env.DB);
  await db.insert(roomMembers).values({ roomId, userId, clinicId, createdAt: now() }).onConflictDoNothing();
}

/** The providers of a room; with `includeHidden` false, hidden providers (`is_hidden`) are left out. */
export async function providersOf(
  env: Bindings,
  clinicId: number,
  roomId: number,
  page: number,
  limit: number,
  includeHidden = true,
): Promise<{ rows: User[]; total: number }> {
  const db = getDb(env.DB);
  const where = and(
    eq(users.clinicId, clinicId),
    eq(users.type, 400),
    sql`${users.id} IN (SELECT user_id FROM room_members WHERE room_id = ${roomId})`,
    includeHidden ? undefined : eq(users.isHidden, false),
  );
  const [rows, total] = await db.batch([
    db
      .select()
      .from(users)
      .where(where)
      .orderBy(asc(users.firstName), asc(users.lastName), asc(users.id))
      .limit(limit)
      .offset((page - 1) * limit),
    db.select({ n: count() }).from(users).where(where),
  ]);
  return { rows, total: total[0]?.n ?? 0 };
}
