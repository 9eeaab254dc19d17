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

export { schema };
