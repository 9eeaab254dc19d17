/**
 * User search for GET /api_v3/users: every filter of the seed, on indexes. Substring search (`q`,
 * `full_name`, `email`) goes through the FTS5 trigram table `users_fts`, never a `LIKE '%…%'` scan.
 */
import { and, asc, count, desc, eq, type SQL, sql } from "drizzle-orm";
import { getDb } from "../db";
import { type User, userCounts, users } from "../db/schema";
import type { Bindings } from "../types";

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

type Column = typeof users.id | typeof users.type | typeof users.status | typeof users.subtype;

/**
 * `column IN (list)`: one value is an equality (index-friendly); a longer list goes as ONE bound
 * parameter (a JSON array), since D1 allows at most 100 bound parameters per statement.
 */
function inList(column: Column, values: number[], indexable = true): SQL {
  const col = indexable ? sql`${column}` : sql`+${column}`;
  if (values.length === 1) return sql`${col} = ${values[0]}`;
  return sql`${col} IN (SELECT value FROM json_each(${JSON.stringify(values)}))`;
}

const hasRole = (role: string) => sql`(',' || ${users.roles} || ',') LIKE ${`%,${role},%`}`;

/**
 * The WHERE clause of a search. When a text search or an id list names the candidates, they drive the
 * plan: the clinic and type conditions are made non-indexable (`+col`), so SQLite walks those rowids in
 * id order instead of every user of the clinic.
 */
export function filterConditions(clinicId: number, f: UserFilter): SQL {
  const text = Boolean(f.q || f.fullName || f.email || f.ids || f.aliveIds);
  const where: (SQL | undefined)[] = [
    text ? sql`+${users.clinicId} = ${clinicId}` : eq(users.clinicId, clinicId),
  ];
  const matches: string[] = [];
  if (f.q) matches.push(phrase(f.q));
  if (f.fullName) matches.push(phrase(f.fullName, "full_name"));
  if (f.email) matches.push(phrase(f.email, "email"));
  if (matches.length) where.push(fts(matches.join(" AND ")));
  if (f.ids) where.push(inList(users.id, f.ids));
  if (f.types) where.push(inList(users.type, f.types, !text));
  if (f.statuses) where.push(inList(users.status, f.statuses, !text));
  if (f.subtypes) where.push(inList(users.subtype, f.subtypes, !text));
  if (f.roles?.length) where.push(sql`(${sql.join(f.roles.map(hasRole), sql` OR `)})`);
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
  if (f.aliveIds) where.push(f.aliveIds.length ? inList(users.id, f.aliveIds) : sql`0`);
  return and(...where) as SQL;
}

export async function searchUsers(
  env: Bindings,
  clinicId: number,
  filter: UserFilter,
  sort: { key: SortKey; dir: "asc" | "desc" },
  start: number,
  limit: number,
): Promise<{ rows: User[]; total: number }> {
  const db = getDb(env.DB);
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
    countsSuffice(filter)
      ? db
          .select({ n: sql<number>`coalesce(sum(${userCounts.n}), 0)` })
          .from(userCounts)
          .where(
            and(
              eq(userCounts.clinicId, clinicId),
              filter.types
                ? sql`${userCounts.type} IN (SELECT value FROM json_each(${JSON.stringify(filter.types)}))`
                : undefined,
            ),
          )
      : db.select({ n: count() }).from(users).where(where),
  ]);
  return { rows, total: Number(total[0]?.n ?? 0) };
}

/**
 * True when the filter is at most a list of types: the total is then the sum of the clinic's
 * `user_counts` rows (kept by triggers), not a count over its users.
 */
export function countsSuffice(f: UserFilter): boolean {
  return Object.entries(f).every(([key, value]) => {
    if (value === undefined) return true;
    if (key === "roles") return (value as string[]).length === 0;
    return key === "types" && (value as number[]).length > 0;
  });
}
