/**
 * Bridges drizzle queries and raw D1 batches: hot paths put drizzle-built statements and hand-written
 * ones into one `env.DB.batch` (one round trip, atomic), then map raw rows back to typed records.
 */
import { type Column, fillPlaceholders, getTableColumns, type Table } from "drizzle-orm";

interface ToSql {
  toSQL(): { sql: string; params: unknown[] };
}

/** A drizzle query as a D1 prepared statement (for `env.DB.batch`). */
export function statement(d1: D1Database, query: ToSql): D1PreparedStatement {
  const { sql, params } = query.toSQL();
  return d1.prepare(sql).bind(...params);
}

const builtStatements = new Map<string, { sql: string; params: unknown[] }>();

/**
 * A drizzle query as a D1 prepared statement, built once per `key` (the query's shape: its values are
 * `sql.placeholder`s) and bound to `values` per call. For batches on hot paths.
 */
export function boundStatement(
  d1: D1Database,
  key: string,
  build: () => ToSql,
  values: Record<string, unknown>,
): D1PreparedStatement {
  let built = builtStatements.get(key);
  if (!built) {
    built = build().toSQL();
    builtStatements.set(key, built);
  }
  return d1.prepare(built.sql).bind(...fillPlaceholders(built.params, values));
}

/** Maps a raw D1 row (column names) to the table's typed record (property names, decoded values). */
const columnsOf = new WeakMap<Table, [string, Column][]>();

export function mapRow<T extends Table>(table: T, raw: Record<string, unknown>): T["$inferSelect"] {
  let columns = columnsOf.get(table);
  if (!columns) {
    columns = Object.entries(getTableColumns(table));
    columnsOf.set(table, columns);
  }
  const out: Record<string, unknown> = {};
  for (const [key, column] of columns) {
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
