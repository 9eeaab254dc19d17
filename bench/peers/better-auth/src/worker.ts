/**
 * The better-auth side of `npm run bench -- --peers`: better-auth 1.x on D1 with its documented Workers
 * setup (`database: env.DB`, email and password sign-in, the handler mounted at /api/auth), in the three
 * configurations the bench compares, chosen per request by the `x-peer-config` header:
 *  - `default`: as documented, nothing tuned;
 *  - `joins`: `advanced.database.joins` (one joined query for the session and its user);
 *  - `cache`: `session.cookieCache` for 5 minutes (get-session answers from a signed cookie, no storage
 *    read; a revoked session keeps working until the cookie expires).
 * All three share one D1 database and one secret, so a session made by one is valid for the others.
 *
 * Bench-only routes (never part of a real deployment):
 *  - POST /__bench/migrate: better-auth's own programmatic migration (its documented D1 route);
 *  - POST /__bench/sessions?email=…&n=…: n sessions of a user through better-auth's internal adapter, as
 *    signed session cookies (the sign-out scenario spends one per request);
 *  - any request with `x-bench-count: 1` runs on an instance whose D1 binding counts the round trips and
 *    answers them in `x-bench-roundtrips`.
 */
import { betterAuth } from "better-auth";
import { makeSignature } from "better-auth/crypto";
import { getMigrations } from "better-auth/db/migration";

interface Env {
  DB: D1Database;
  BETTER_AUTH_SECRET: string;
}

type Config = "default" | "joins" | "cache";
const CONFIGS: Config[] = ["default", "joins", "cache"];
const ORIGIN = "http://bench.test";

function options(db: D1Database, secret: string, config: Config) {
  return {
    database: db,
    secret,
    baseURL: ORIGIN,
    trustedOrigins: [ORIGIN],
    emailAndPassword: { enabled: true },
    // Off: its limiter (in memory, on by default only in production) allows 3 sign-ins per 10 s and would
    // refuse the load generator. Clinic Edge's limiters stay on in the bench, with limits it cannot reach.
    rateLimit: { enabled: false },
    telemetry: { enabled: false },
    ...(config === "joins" ? { advanced: { database: { joins: true } } } : {}),
    ...(config === "cache" ? { session: { cookieCache: { enabled: true, maxAge: 5 * 60 } } } : {}),
  };
}

const make = (db: D1Database, secret: string, config: Config) => betterAuth(options(db, secret, config));
type Auth = ReturnType<typeof make>;
const instances = new Map<Config, Auth>();
const countingInstances = new Map<Config, Auth>();
const counts = { d1: 0 };

function authFor(env: Env, config: Config): Auth {
  let auth = instances.get(config);
  if (!auth) {
    auth = make(env.DB, env.BETTER_AUTH_SECRET, config);
    instances.set(config, auth);
  }
  return auth;
}

/** A D1 binding that counts its round trips: each statement run and each batch is one (as bench/worker.ts). */
function countingD1(db: D1Database, counts: { d1: number }): D1Database {
  const wrapStatement = (stmt: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(stmt, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (typeof value !== "function") return value;
        if (prop === "bind") return (...args: unknown[]) => wrapStatement(value.apply(target, args));
        if (["first", "all", "run", "raw"].includes(String(prop))) {
          return (...args: unknown[]) => {
            counts.d1++;
            return value.apply(target, args);
          };
        }
        return value.bind(target);
      },
    });
  return new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (prop === "prepare") return (sql: string) => wrapStatement(target.prepare(sql));
      if (prop === "batch" || prop === "exec") {
        return (arg: never) => {
          counts.d1++;
          return value.call(target, arg);
        };
      }
      return value.bind(target);
    },
  });
}

async function sessions(req: Request, env: Env): Promise<Response> {
  const u = new URL(req.url);
  const n = Math.min(Number(u.searchParams.get("n") ?? 1), 5000);
  const ctx = await authFor(env, "default").$context;
  const user = await ctx.internalAdapter.findUserByEmail(u.searchParams.get("email") ?? "");
  if (!user) return Response.json({ error: "no such user" }, { status: 404 });
  const name = ctx.authCookies.sessionToken.name;
  const cookies: string[] = [];
  for (let i = 0; i < n; i += 50) {
    const made = await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, () => ctx.internalAdapter.createSession(user.user.id)),
    );
    for (const s of made) {
      const signed = `${s.token}.${await makeSignature(s.token, env.BETTER_AUTH_SECRET)}`;
      cookies.push(`${name}=${encodeURIComponent(signed)}`);
    }
  }
  return Response.json({ cookies });
}

export default {
  async fetch(req, env) {
    const url = new URL(req.url);
    if (url.pathname === "/health") return new Response("ok");
    if (url.pathname === "/__bench/text") return new Response("ok");
    if (url.pathname === "/__bench/migrate" && req.method === "POST") {
      const { runMigrations } = await getMigrations(options(env.DB, env.BETTER_AUTH_SECRET, "default"));
      await runMigrations();
      return new Response(null, { status: 204 });
    }
    if (url.pathname === "/__bench/sessions" && req.method === "POST") return sessions(req, env);
    const header = req.headers.get("x-peer-config") ?? "default";
    const config = CONFIGS.find((c) => c === header);
    if (!config) return Response.json({ error: `unknown x-peer-config ${header}` }, { status: 400 });
    if (req.headers.get("x-bench-count") !== "1") return authFor(env, config).handler(req);
    // Its own instance on a counting binding (the probe runs alone). An instance's first request also
    // reads the schema (sqlite_master, pragma_table_info): the bench probes twice and keeps the second.
    counts.d1 = 0;
    let counting = countingInstances.get(config);
    if (!counting) {
      counting = make(countingD1(env.DB, counts), env.BETTER_AUTH_SECRET, config);
      countingInstances.set(config, counting);
    }
    const res = await counting.handler(req);
    const out = new Response(res.body, res);
    out.headers.set("x-bench-roundtrips", JSON.stringify({ kv: 0, d1: counts.d1, do: 0 }));
    return out;
  },
} satisfies ExportedHandler<Env>;
