/**
 * `find` on the accounts family's resources (GET /accounts, GET /personal-details): a decoded Feathers
 * query (lib/feathers-query.ts) run on `users`, always within the caller's clinic, and for callers who
 * are not clinic admins within their own account.
 */
import { and, asc, count, desc, type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { getDb } from "../db";
import { type User, users } from "../db/schema";
import type { Condition, FeathersQuery, QuerySpec, Value } from "../lib/feathers-query";
import type { Bindings } from "../types";

/** What a resource's query fields are in SQL: a column, or an expression (`lower(email)`). */
type Target = { sql: SQL | SQLiteColumn; kind: "id" | "text" | "ci" | "bool" | "time" };

const col = (c: SQLiteColumn, kind: Target["kind"]): Target => ({ sql: c, kind });

const ACCOUNT_TARGETS: Record<string, Target> = {
  uid: col(users.id, "id"),
  email: { sql: sql`lower(${users.email})`, kind: "ci" },
  mobileNo: col(users.mobileNo, "text"),
  isEmailVerified: col(users.emailVerified, "bool"),
  isMobileNoVerified: col(users.mobileVerified, "bool"),
  isDoctor: col(users.isDoctor, "bool"),
  isDisabled: col(users.disabled, "bool"),
  isFirstLogin: col(users.isFirstLogin, "bool"),
  mfaEnabled: col(users.mfaEnabled, "bool"),
  createdAt: col(users.createdAt, "time"),
  updatedAt: col(users.updatedAt, "time"),
};

const DETAILS_TARGETS: Record<string, Target> = {
  id: col(users.id, "id"),
  "name.firstName": col(users.firstName, "text"),
  "name.lastName": col(users.lastName, "text"),
  dateOfBirth: col(users.dob, "text"),
  sex: col(users.gender, "text"),
  createdAt: col(users.createdAt, "time"),
  updatedAt: col(users.updatedAt, "time"),
};

const LIMITS = { defaultLimit: 10, maxLimit: 50 } as const;

const typeOf = (t: Target) =>
  t.kind === "id" ? "id" : t.kind === "bool" ? "boolean" : t.kind === "time" ? "date" : "string";

const specOf = (targets: Record<string, Target>, selectable: string[]): QuerySpec => ({
  fields: Object.fromEntries(Object.entries(targets).map(([k, t]) => [k, typeOf(t)])),
  selectable,
  ...LIMITS,
});

export const ACCOUNT_QUERY = specOf(ACCOUNT_TARGETS, [
  "uid",
  "email",
  "mobileNo",
  "isEmailVerified",
  "isMobileNoVerified",
  "isDoctor",
  "isDisabled",
  "isFirstLogin",
  "mfaEnabled",
  "createdAt",
  "updatedAt",
]);

export const DETAILS_QUERY = specOf(DETAILS_TARGETS, [
  "id",
  "name",
  "dateOfBirth",
  "sex",
  "maritalStatus",
  "address",
  "doc_PRCLicenseNo",
  "identityImages",
  "createdAt",
  "updatedAt",
]);

export type Resource = "accounts" | "personal-details";

const TARGETS: Record<Resource, Record<string, Target>> = {
  accounts: ACCOUNT_TARGETS,
  "personal-details": DETAILS_TARGETS,
};

/** A query value as it is stored: booleans 0/1, times unix seconds (possibly fractional), case-folded emails. */
function stored(t: Target, v: Exclude<Value, null>): string | number {
  if (typeof v === "boolean") return v ? 1 : 0;
  if (t.kind === "time") return (v as number) / 1000;
  if (t.kind === "ci") return String(v).toLowerCase();
  return v as string | number;
}

function condition(targets: Record<string, Target>, c: Condition): SQL {
  if (c.op === "or") {
    return sql`(${sql.join(
      c.branches.map((b) => sql`(${and(...b.map((x) => condition(targets, x))) ?? sql`1`})`),
      sql` OR `,
    )})`;
  }
  const t = targets[c.field] as Target;
  const x = t.sql;
  if ("values" in c) {
    // One bound parameter for the whole list (D1 allows at most 100 per statement).
    const list = sql`(SELECT value FROM json_each(${JSON.stringify(c.values.map((v) => stored(t, v)))}))`;
    // Feathers (as MongoDB) lets $nin match records that have no value.
    return c.op === "in" ? sql`${x} IN ${list}` : sql`(${x} IS NULL OR ${x} NOT IN ${list})`;
  }
  if (c.value === null) return c.op === "eq" ? sql`${x} IS NULL` : sql`${x} IS NOT NULL`;
  const v = stored(t, c.value);
  switch (c.op) {
    case "eq":
      return sql`${x} = ${v}`;
    case "ne":
      return sql`(${x} IS NULL OR ${x} != ${v})`;
    case "lt":
      return sql`${x} < ${v}`;
    case "lte":
      return sql`${x} <= ${v}`;
    case "gt":
      return sql`${x} > ${v}`;
    case "gte":
      return sql`${x} >= ${v}`;
  }
}

export interface FindScope {
  clinicId: number;
  /** Only this account (callers who are not clinic admins). */
  onlyUserId?: number;
}

/** The page of users a query selects, and how many it selects in all. One D1 round trip. */
export async function findAccounts(
  env: Bindings,
  resource: Resource,
  scope: FindScope,
  q: FeathersQuery,
): Promise<{ rows: User[]; total: number }> {
  const db = getDb(env.DB);
  const targets = TARGETS[resource];
  const where = and(
    sql`${users.clinicId} = ${scope.clinicId}`,
    scope.onlyUserId === undefined ? undefined : sql`${users.id} = ${scope.onlyUserId}`,
    ...q.where.map((c) => condition(targets, c)),
  );
  const order = q.sort.map((s) => {
    const x = (targets[s.field] as Target).sql;
    return s.dir === 1 ? asc(x) : desc(x);
  });
  if (!q.sort.some((s) => (targets[s.field] as Target).kind === "id")) order.push(asc(users.id));
  const [rows, total] = await db.batch([
    db
      .select()
      .from(users)
      .where(where)
      .orderBy(...order)
      .limit(q.limit)
      .offset(q.skip),
    db.select({ n: count() }).from(users).where(where),
  ]);
  return { rows, total: Number(total[0]?.n ?? 0) };
}
