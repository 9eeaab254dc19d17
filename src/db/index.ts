import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

export type Db = ReturnType<typeof makeDb>;

function makeDb(d1: D1Database) {
  return drizzle(d1, { schema });
}

// One drizzle client per D1 binding (the binding object lives as long as the isolate's env).
const clients = new WeakMap<D1Database, Db>();

export function getDb(d1: D1Database): Db {
  let client = clients.get(d1);
  if (!client) {
    client = makeDb(d1);
    clients.set(d1, client);
  }
  return client;
}

/**
 * A query that hot paths run with different values only: built by drizzle once per client (its values
 * as `sql.placeholder`s, then `.prepare()`), bound per call. Building SQL is most of drizzle's CPU cost.
 */
const preparedQueries = new WeakMap<Db, Map<string, unknown>>();

export function prepared<T>(db: Db, key: string, build: (db: Db) => T): T {
  let queries = preparedQueries.get(db);
  if (!queries) {
    queries = new Map();
    preparedQueries.set(db, queries);
  }
  let query = queries.get(key) as T | undefined;
  if (query === undefined) {
    query = build(db);
    queries.set(key, query);
  }
  return query;
}

export { schema };
