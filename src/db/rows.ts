/**
 * Bridges drizzle queries and raw D1 batches: hot paths put drizzle-built statements and hand-written
 * ones into one `env.DB.batch` (one round trip, atomic), then map raw rows back to typed records.
 */
import { getTableColumns, type Table } from "drizzle-orm";

interface ToSql {
  toSQL(): { sql: string; params: unknown[] };
}

/** A drizzle query as a D1 prepared statement (for `env.DB.batch`). */
export function statement(d1: D1Database, query: ToSql): D1PreparedStatement {
  const { sql, params } = query.toSQL();
  return d1.prepare(sql).bind(...params);
}

/** Maps a raw D1 row (column names) to the table's typed record (property names, decoded values). */
export function mapRow<T extends Table>(table: T, raw: Record<string, unknown>): T["$inferSelect"] {
  const out: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    const value = raw[column.name];
    out[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return out as T["$inferSelect"];
}

/**
 * The database's own message of a failed query. drizzle wraps driver errors in "Failed query: <sql>
 * params: <values>", which must never reach a log or a client (the params are user data).
 */
export function dbErrorMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  const message = e instanceof Error ? e.message : String(e);
  return message.startsWith("Failed query:") ? "query failed" : message;
}
