/**
 * The one identity store (DESIGN.md "Identity model"), shared by all three families. Functions here
 * take storage in and give data out; they know nothing of HTTP shapes.
 */
import { and, eq, type Placeholder, type SQL, sql } from "drizzle-orm";
import { getDb, prepared } from "../db";
import { boundStatement, dbErrorMessage, mapRow } from "../db/rows";
import {
  authFailures,
  type Clinic,
  clinics,
  type Room,
  roomMembers,
  rooms,
  type User,
  users,
} from "../db/schema";
import { now } from "../lib/clock";
import { randomToken } from "../lib/crypto";
import { ApiError, invalidField } from "../lib/errors";
import type { Bindings } from "../types";
import { ACCOUNT_LOCK_PREFIX } from "./lockout";

export const USER_TYPES = {
  admin: 100,
  cronjob: 110,
  system: 140,
  commonAdmin: 150,
  api: 160,
  member: 200,
  company: 300,
  provider: 400,
  kiosk: 500,
  guest: 600,
  phoneBridge: 700,
} as const;

export const SUBTYPE_DOCTOR = 482;
export const STATUS_PENDING = 10;
export const STATUS_ACTIVE = 20;

// GET /me and most token routes read the caller this way: built once per client, bound per call.
export async function getUser(env: Bindings, clinicId: number, id: number): Promise<User | undefined> {
  const db = getDb(env.DB);
  return prepared(db, "userById", (d) =>
    d
      .select()
      .from(users)
      .where(and(eq(users.id, sql.placeholder("id")), eq(users.clinicId, sql.placeholder("clinicId"))))
      .prepare(),
  ).get({ id, clinicId });
}

/**
 * `lower(email) = lower(?)` on the partial unique index users_clinic_email_uq. The `email IS NOT NULL`
 * term is what lets SQLite use that partial index; without it every lookup scans the clinic's users.
 */
export const emailIs = (email: string | Placeholder) =>
  sql`(${users.email} IS NOT NULL AND lower(${users.email}) = lower(${email}))`;

export async function findByEmail(env: Bindings, clinicId: number, email: string): Promise<User | undefined> {
  const db = getDb(env.DB);
  return prepared(db, "userByEmail", (d) =>
    d
      .select()
      .from(users)
      .where(and(eq(users.clinicId, sql.placeholder("clinicId")), emailIs(sql.placeholder("email"))))
      .prepare(),
  ).get({ clinicId, email });
}

export type SignInIdentity = { username: string } | { email: string } | { mobileNo: string };

function identityMatch(who: SignInIdentity) {
  if ("username" in who) return sql`(${users.username} = ${who.username} OR ${emailIs(who.username)})`;
  if ("email" in who) return emailIs(who.email);
  return eq(users.mobileNo, who.mobileNo);
}

/**
 * Everything a sign-in needs, in one round trip: the clinic (by code, unless its id is known), the user
 * (by username or email, by email, or by mobile number) and the lockout: the identity's own, and for
 * password sign-ins the account's (`accountLockKey`), whichever ends later.
 */
export async function signInLookup(
  env: Bindings,
  clinicRef: string | number,
  who: SignInIdentity,
  lockKeyHash: string,
  perAccount = true,
): Promise<{ clinic?: Clinic; user?: User; lockedUntil: number | null }> {
  const db = getDb(env.DB);
  const account = (clinicId: SQL) =>
    perAccount
      ? sql`(SELECT ${ACCOUNT_LOCK_PREFIX} || ${users.id} FROM ${users} WHERE ${users.clinicId} = ${clinicId} AND ${identityMatch(who)} LIMIT 1)`
      : sql`NULL`;
  const lockedUntil = sql<number | null>`max(${authFailures.lockedUntil})`;
  if (typeof clinicRef === "number") {
    const [userRows, lockRows] = await db.batch([
      db
        .select()
        .from(users)
        .where(and(eq(users.clinicId, clinicRef), identityMatch(who)))
        .limit(1),
      db
        .select({ lockedUntil })
        .from(authFailures)
        .where(
          and(
            eq(authFailures.clinicId, clinicRef),
            sql`${authFailures.keyHash} IN (${lockKeyHash}, ${account(sql`${clinicRef}`)})`,
          ),
        ),
    ]);
    return { user: userRows[0], lockedUntil: lockRows[0]?.lockedUntil ?? null };
  }
  // Joined from the clinic row (not `clinic_id = (SELECT …)`, which SQLite cannot use with the
  // username/email OR and answers with a scan of every user).
  const [clinicRows, userRows, lockRows] = await db.batch([
    db.select().from(clinics).where(eq(clinics.code, clinicRef)),
    db
      .select({ user: users })
      .from(clinics)
      .innerJoin(users, eq(users.clinicId, clinics.id))
      .where(and(eq(clinics.code, clinicRef), identityMatch(who)))
      .limit(1),
    db
      .select({ lockedUntil })
      .from(clinics)
      .innerJoin(authFailures, eq(authFailures.clinicId, clinics.id))
      .where(
        and(
          eq(clinics.code, clinicRef),
          sql`${authFailures.keyHash} IN (${lockKeyHash}, ${account(sql`${clinics.id}`)})`,
        ),
      ),
  ]);
  return { clinic: clinicRows[0], user: userRows[0]?.user, lockedUntil: lockRows[0]?.lockedUntil ?? null };
}

/** A generated username or code: 128 random bits as hex (VSee's format). */
export const generatedId = () => randomToken(16);

/** Translates unique-constraint failures of `users` into 400s naming the field. */
export function uniqueViolation(err: unknown): ApiError | null {
  const message = dbErrorMessage(err);
  if (!/UNIQUE constraint failed/i.test(message)) return null;
  if (/users\.username/.test(message)) return invalidField("username", "is already taken");
  if (/users\.mobile_no/.test(message)) return invalidField("mobileNo", "is already in use");
  if (/users\.code/.test(message)) return invalidField("code", "is already in use");
  if (/email|index 'users_clinic_email_uq'|lower/i.test(message))
    return invalidField("email", "is already in use");
  return new ApiError("conflict");
}

/** Fields an SSO call may set on the user it creates or updates. */
export interface SsoFields {
  firstName: string;
  lastName: string;
  dob?: string;
  email?: string;
  username?: string;
  disableEmails?: boolean;
  gender?: string;
  streetAddr?: string;
  city?: string;
  state?: string;
  zip?: string;
  phone?: string;
}

/**
 * The upsert behind VSee SSO, as one statement for the caller's batch: the first call with a code
 * creates the user; later calls update the names and the optional fields that were sent.
 */
export function ssoUpsert(
  d1: D1Database,
  clinicId: number,
  type: number,
  code: string,
  f: SsoFields,
): D1PreparedStatement {
  const t = now();
  const optional = {
    dob: f.dob,
    email: f.email,
    // An address the clinic's server sets is one it vouches for (see registration.ts).
    emailFromClinic: f.email !== undefined ? true : undefined,
    disableEmails: f.disableEmails,
    gender: f.gender,
    streetAddr: f.streetAddr,
    city: f.city,
    state: f.state,
    zip: f.zip,
    phone: f.phone,
  };
  // The statement's shape is which optional fields came (and whether a username did): built once per shape.
  const given = (Object.keys(optional) as (keyof typeof optional)[]).filter((k) => optional[k] !== undefined);
  const p = <K extends string>(keys: K[]) =>
    Object.fromEntries(keys.map((k) => [k, sql.placeholder(k)])) as unknown as Record<K, Placeholder>;
  // An update takes the row's new values from the insert it replaces.
  const excluded = (keys: (keyof typeof users.$inferInsert)[]) =>
    Object.fromEntries(keys.map((k) => [k, sql`excluded.${sql.identifier(users[k].name)}`]));
  const values = {
    ...optional,
    clinicId,
    code,
    type,
    status: STATUS_ACTIVE,
    username: f.username ?? generatedId(),
    firstName: f.firstName,
    lastName: f.lastName,
    t,
  };
  return boundStatement(
    d1,
    `sso:${f.username !== undefined ? "u" : ""}:${given.join(",")}`,
    () =>
      getDb(d1)
        .insert(users)
        .values({
          ...p(["clinicId", "code", "type", "status", "username", "firstName", "lastName", ...given]),
          createdAt: sql.placeholder("t"),
          updatedAt: sql.placeholder("t"),
        })
        .onConflictDoUpdate({
          target: [users.clinicId, users.code],
          // Only the same user type, and never a disabled user: a refused SSO call changes nothing.
          setWhere: sql`${users.type} = ${sql.placeholder("type")} AND ${users.disabled} = 0`,
          set: excluded([
            "firstName",
            "lastName",
            ...(f.username !== undefined ? ["username" as const] : []),
            ...given,
            "updatedAt",
          ]),
        })
        .returning(),
    values,
  );
}

/** A sign-in's new `last_login`, as a statement of its batch. */
export function lastLoginStatement(d1: D1Database, userId: number, at: number): D1PreparedStatement {
  return d1.prepare("UPDATE users SET last_login = ? WHERE id = ?").bind(at, userId);
}

/** A password hash upgraded at sign-in (its parameters are out of date), as a statement of its batch. */
export function rehashStatement(d1: D1Database, userId: number, passwordHash: string): D1PreparedStatement {
  return d1.prepare("UPDATE users SET password_hash = ? WHERE id = ?").bind(passwordHash, userId);
}

export function userFromRow(raw: Record<string, unknown>): User {
  return mapRow(users, raw);
}

export interface UserRoom extends Room {
  addedAt: number;
}

/** The rooms a user is assigned to. */
export async function roomsOfUser(env: Bindings, clinicId: number, userId: number): Promise<UserRoom[]> {
  const db = getDb(env.DB);
  const rows = await db
    .select({ room: rooms, addedAt: roomMembers.createdAt })
    .from(roomMembers)
    .innerJoin(rooms, eq(rooms.id, roomMembers.roomId))
    .where(and(eq(roomMembers.userId, userId), eq(roomMembers.clinicId, clinicId)))
    .orderBy(roomMembers.createdAt);
  return rows.map((r) => ({ ...r.room, addedAt: r.addedAt }));
}

/**
 * A user and its rooms in one round trip (GET /users/:id). Hand-written SQL on the raw binding: the
 * statements are fixed, so building them with drizzle on every call would only cost CPU.
 */
const USER_BY_ID = "SELECT * FROM users WHERE id = ? AND clinic_id = ?";
const ROOMS_OF_USER = `SELECT r.*, m.created_at AS added_at FROM room_members m JOIN rooms r ON r.id = m.room_id
  WHERE m.user_id = ? AND m.clinic_id = ? ORDER BY m.created_at`;

export async function getUserWithRooms(
  env: Bindings,
  clinicId: number,
  id: number,
): Promise<{ user?: User; rooms: UserRoom[] }> {
  const d1 = env.DB;
  const [found, memberships] = await d1.batch<Record<string, unknown>>([
    d1.prepare(USER_BY_ID).bind(id, clinicId),
    d1.prepare(ROOMS_OF_USER).bind(id, clinicId),
  ]);
  const raw = found?.results[0];
  return {
    user: raw ? mapRow(users, raw) : undefined,
    rooms: (memberships?.results ?? []).map((r) => ({ ...mapRow(rooms, r), addedAt: Number(r.added_at) })),
  };
}

/** True when both users share at least one room. */
export async function shareRoom(env: Bindings, clinicId: number, a: number, b: number): Promise<boolean> {
  const db = getDb(env.DB);
  const row = await db
    .select({ one: sql<number>`1` })
    .from(roomMembers)
    .where(
      and(
        eq(roomMembers.clinicId, clinicId),
        eq(roomMembers.userId, a),
        sql`${roomMembers.roomId} IN (SELECT room_id FROM room_members WHERE user_id = ${b})`,
      ),
    )
    .get();
  return row !== undefined;
}

export type Where = SQL | undefined;
