/**
 * User search for GET /api_v3/users: every filter of the seed, on indexes. Substring search (`q`,
 * `full_name`, `email`) goes through the FTS5 trigram table `users_fts`, never a `LIKE '%…%'` scan.
 */
import { and, asc, count, desc, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db";
import { type User, users } from "../db/schema";

export interface UserFilter {
  ids?: number[];
  types?: number[];
  statuses?: number[];
  subtypes?: number[];
  roles?: string[];
  q?: string;
  fullName?: string;
  email?: string;
  isHidden?: boolean;
  isAdmin?: boolean;
  roomCode?: string;
  group?: string;
  /** Only users sharing a room with this user (providers, ex_filter=all). */
  inRoomsOf?: number;
  /** Only these ids (heartbeat alive); an empty list matches nobody. */
  aliveIds?: number[];
}

export const SORTABLE = {
  id: [users.id],
  full_name: [users.firstName, users.lastName],
  first_name: [users.firstName],
  last_name: [users.lastName],
  username: [users.username],
  email: [users.email],
  created: [users.createdAt],
  last_login: [users.lastLogin],
  type: [users.type],
  status: [users.status],
} as const;

export type SortKey = keyof typeof SORTABLE;

/** An FTS5 phrase query: the text as one quoted phrase (quotes doubled), optionally on one column. */
function phrase(text: string, column?: "full_name" | "email"): string {
  const quoted = `"${text.replace(/"/g, '""')}"`;
  return column ? `${column} : ${quoted}` : quoted;
}

function fts(match: string): SQL {
  return sql`${users.id} IN (SELECT rowid FROM users_fts WHERE users_fts MATCH ${match})`;
}

const hasRole = (role: string) => sql`(',' || ${users.roles} || ',') LIKE ${`%,${role},%`}`;

export function filterConditions(clinicId: number, f: UserFilter): SQL {
  const where: (SQL | undefined)[] = [eq(users.clinicId, clinicId)];
  if (f.ids) where.push(inArray(users.id, f.ids));
  if (f.types) where.push(inArray(users.type, f.types));
  if (f.statuses) where.push(inArray(users.status, f.statuses));
  if (f.subtypes) where.push(inArray(users.subtype, f.subtypes));
  if (f.roles?.length) where.push(sql`(${sql.join(f.roles.map(hasRole), sql` OR `)})`);
  if (f.q) where.push(fts(phrase(f.q)));
  if (f.fullName) where.push(fts(phrase(f.fullName, "full_name")));
  if (f.email) where.push(fts(phrase(f.email, "email")));
  if (f.isHidden !== undefined) where.push(eq(users.isHidden, f.isHidden));
  if (f.isAdmin !== undefined) {
    const admin = sql`(${users.type} IN (100, 150) OR ${hasRole("clinic_admin")})`;
    where.push(f.isAdmin ? admin : sql`NOT ${admin}`);
  }
  if (f.group) where.push(eq(users.groupName, f.group));
  if (f.roomCode) {
    where.push(
      sql`${users.id} IN (SELECT rm.user_id FROM room_members rm JOIN rooms r ON r.id = rm.room_id WHERE r.clinic_id = ${clinicId} AND r.code = ${f.roomCode})`,
    );
  }
  if (f.inRoomsOf !== undefined) {
    where.push(
      sql`${users.id} IN (SELECT rm.user_id FROM room_members rm WHERE rm.clinic_id = ${clinicId} AND rm.room_id IN (SELECT room_id FROM room_members WHERE user_id = ${f.inRoomsOf}))`,
    );
  }
  if (f.aliveIds) where.push(f.aliveIds.length ? inArray(users.id, f.aliveIds) : sql`0`);
  return and(...where) as SQL;
}

export async function searchUsers(
  db: Db,
  clinicId: number,
  filter: UserFilter,
  sort: { key: SortKey; dir: "asc" | "desc" },
  start: number,
  limit: number,
): Promise<{ rows: User[]; total: number }> {
  const where = filterConditions(clinicId, filter);
  const order = [...SORTABLE[sort.key].map((col) => (sort.dir === "asc" ? asc(col) : desc(col)))];
  if (sort.key !== "id") order.push(sort.dir === "asc" ? asc(users.id) : desc(users.id));
  const [rows, total] = await db.batch([
    db
      .select()
      .from(users)
      .where(where)
      .orderBy(...order)
      .limit(limit)
      .offset(start),
    db.select({ n: count() }).from(users).where(where),
  ]);
  return { rows, total: total[0]?.n ?? 0 };
}
