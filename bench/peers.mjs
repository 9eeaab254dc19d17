/**
 * The peers of `npm run bench -- --peers`: today better-auth (bench/peers/better-auth/, its own package.json
 * and lockfile, installed here on first use so that the project's `npm install` never pulls it).
 *
 * Its worker is built and served as ours is (wrangler deploy --dry-run, then wrangler's miniflare on a fresh
 * persisted state, no proxy), its schema is made by better-auth's own migration, and the clinic's users are
 * written directly in D1 in batches (each with a credential account holding one real scrypt hash made by
 * better-auth's own hashPassword). The scenarios it answers are matched to ours by `peer` in run.mjs.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dir = join(here, "peers", "better-auth");
const ORIGIN = "http://bench.test";
const SECRET = "bench-peer-secret-0123456789abcdef0123456789";
export const PEER_PASSWORD = "bench password 123";
const SIGNIN_EMAIL = "bench.signin@example.test";

/** What each side does per request, printed beside the figures (the comparison is only fair with them). */
export const DOES = {
  "get-session": {
    ours: "bearer token hashed (SHA-256) before its KV lookup, whose record carries the user's profile (no D1 read; a profile write rewrites it); revoked at once",
    peer: {
      default: "session token stored in clear, looked up in D1, then its user (2 queries); revoked at once",
      joins: "session and user in one joined D1 query; revoked at once",
      cache:
        "no storage read: the signed session_data cookie; a revoked session still answers for up to 5 min",
    },
  },
  "sign-in": {
    ours: "argon2id (OWASP parameters) verify; per-identity lockout counter in D1; audit row; session, refresh token and access token written together",
    peer: {
      default:
        "scrypt verify; user, account and session queries one by one; no lockout (its rate limiter is off here), no audit row",
      joins: "as default, user and account in one joined query",
    },
  },
  "sign-up": {
    ours: "argon2id hash; common-password check; account, personal details and its welcome and verification messages in one D1 batch (all or nothing); audit row; no session (the accounts family signs in with POST /authentication)",
    peer: {
      default:
        "scrypt hash; user, account and session inserted one by one (no transaction on D1: a failure can leave a user without its account); signs the new user in (autoSignIn)",
      joins: "as default",
    },
  },
  "sign-out": {
    ours: "token hashed; the session and its refresh tokens revoked in D1 and the access token deleted from KV; audit row",
    peer: {
      default: "session row deleted by its clear token",
      joins: "as default",
    },
  },
};

/** The configurations that keep instant revocation: `× better-auth` is ours over the best of these. */
export const INSTANT = ["default", "joins"];

function ensureInstalled(log) {
  if (existsSync(join(dir, "node_modules", "better-auth"))) return;
  log("installing the better-auth peer (npm ci in bench/peers/better-auth, first use only)…");
  execFileSync(process.platform === "win32" ? "npm.cmd" : "npm", ["ci", "--no-audit", "--no-fund"], {
    cwd: dir,
    stdio: ["ignore", 2, 2], // npm's output on stderr: stdout is the results table
  });
}

/**
 * Builds, serves and seeds the peer. `tools` are run.mjs's: its Miniflare, wrangler's helpers and paths.
 * Returns its base URL, its miniflare, version, fixtures and the request of each scenario and configuration.
 */
export async function startPeer({
  Miniflare,
  convertV4MiniflareOptions,
  getOptions,
  wranglerBin,
  work,
  users,
  log,
}) {
  ensureInstalled(log);
  const version = JSON.parse(
    readFileSync(join(dir, "node_modules", "better-auth", "package.json"), "utf8"),
  ).version;
  log(`building the better-auth ${version} peer (wrangler deploy --dry-run)…`);
  const dist = join(work, "peer-dist");
  rmSync(dist, { recursive: true, force: true });
  execFileSync(wranglerBin, ["deploy", "--dry-run", "--outdir", dist], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CI: "1" },
  });
  const state = join(work, "peer-state");
  rmSync(state, { recursive: true, force: true });
  const { workerOptions } = getOptions(join(dir, "wrangler.toml"));
  const { modulesRules: _rules, ...serveOptions } = workerOptions;
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      ...serveOptions,
      name: "better-auth-bench",
      modules: [
        { type: "ESModule", path: join(dist, "worker.js") },
        ...readdirSync(dist)
          .filter((f) => f.endsWith(".wasm"))
          .map((f) => ({ type: "CompiledWasm", path: join(dist, f) })),
      ],
      modulesRoot: dist,
      bindings: { ...workerOptions.bindings, BETTER_AUTH_SECRET: SECRET },
      resourcePersistencePath: state,
      logRequests: false,
      host: "127.0.0.1",
      port: 0,
    }),
  );
  const base = (await mf.ready).toString().replace(/\/$/, "");
  let health;
  do health = await fetch(`${base}/health`).catch(() => null);
  while (!health?.ok);
  const migrated = await fetch(`${base}/__bench/migrate`, { method: "POST" });
  if (migrated.status !== 204) throw new Error(`peer migration: ${migrated.status} ${await migrated.text()}`);

  // The users, written directly in D1 in batches, each with a credential account and one real hash.
  const { hashPassword } = await import(
    pathToFileURL(join(dir, "node_modules", "better-auth", "dist", "crypto", "index.mjs")).href
  );
  const hash = await hashPassword(PEER_PASSWORD);
  const db = await mf.getD1Database("DB");
  log(`loading ${users.toLocaleString()} better-auth users…`);
  const seedStart = performance.now();
  const at = new Date().toISOString();
  const ROWS = 250; // D1 refuses statements over 100 KB: 250 accounts with their hash are about 60 KB
  let pending = [];
  const flush = async () => {
    if (pending.length) await db.batch(pending);
    pending = [];
  };
  for (let i = 0; i < users; i += ROWS) {
    const rows = [];
    const accounts = [];
    for (let j = i; j < Math.min(i + ROWS, users); j++) {
      rows.push(`('seed${j}', 'User ${j}', 'user${j}@example.test', 0, '${at}', '${at}')`);
      accounts.push(`('acct${j}', 'seed${j}', 'credential', 'seed${j}', '${hash}', '${at}', '${at}')`);
    }
    pending.push(
      db.prepare(
        `INSERT INTO "user" (id, name, email, emailVerified, createdAt, updatedAt) VALUES ${rows.join(",")}`,
      ),
      db.prepare(
        `INSERT INTO account (id, accountId, providerId, userId, password, createdAt, updatedAt) VALUES ${accounts.join(",")}`,
      ),
    );
    if (pending.length >= 10) await flush();
  }
  await flush();
  await db
    .prepare(
      `INSERT INTO "user" (id, name, email, emailVerified, createdAt, updatedAt) VALUES ('signin', 'Bench Signin', ?, 0, ?, ?)`,
    )
    .bind(SIGNIN_EMAIL, at, at)
    .run();
  await db
    .prepare(
      `INSERT INTO account (id, accountId, providerId, userId, password, createdAt, updatedAt) VALUES ('acct-signin', 'signin', 'credential', 'signin', ?, ?, ?)`,
    )
    .bind(hash, at, at)
    .run();
  const seedSeconds = +((performance.now() - seedStart) / 1000).toFixed(1);
  log(`better-auth seeded in ${seedSeconds} s`);

  const json = { "content-type": "application/json", origin: ORIGIN };
  const signInBody = JSON.stringify({ email: SIGNIN_EMAIL, password: PEER_PASSWORD });
  const cookieOf = async (config) => {
    const res = await fetch(`${base}/api/auth/sign-in/email`, {
      method: "POST",
      headers: { ...json, "x-peer-config": config },
      body: signInBody,
    });
    if (!res.ok) throw new Error(`peer sign-in (${config}): ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
    return res.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .join("; ");
  };
  // A session for the reads; with cookie cache, its sign-in also sets the signed session_data cookie.
  const cookie = { default: await cookieOf("default"), cache: await cookieOf("cache") };
  cookie.joins = cookie.default;
  let cachedAt = Date.now();
  /**
   * Before a pass: the cookie cache's signed session_data lives 5 minutes, after which get-session reads D1
   * again. A new one each minute keeps the `cache` figures those of the cache (a full run lasts longer).
   */
  const prepare = async (scenario, config) => {
    if (scenario !== "get-session" || config !== "cache" || Date.now() - cachedAt < 60_000) return;
    cookie.cache = await cookieOf("cache");
    cachedAt = Date.now();
  };

  /** n fresh sessions of the sign-in user, as cookies: the sign-out scenario spends one per request. */
  const sessions = async (n) => {
    const res = await fetch(`${base}/__bench/sessions?${new URLSearchParams({ email: SIGNIN_EMAIL, n })}`, {
      method: "POST",
    });
    if (!res.ok) throw new Error(`peer sessions: ${res.status} ${await res.text()}`);
    return (await res.json()).cookies;
  };

  const configs = {
    "get-session": ["default", "joins", "cache"],
    "sign-in": ["default", "joins"],
    "sign-up": ["default", "joins"],
    "sign-out": ["default", "joins"],
  };
  /** The request of a scenario in a configuration (headers include the configuration). */
  const request = (scenario, config) => {
    const h = { "x-peer-config": config };
    switch (scenario) {
      case "get-session":
        return { method: "GET", path: "/api/auth/get-session", headers: { ...h, cookie: cookie[config] } };
      case "sign-in":
        return {
          method: "POST",
          path: "/api/auth/sign-in/email",
          headers: { ...h, ...json },
          body: signInBody,
        };
      case "sign-up":
        return {
          method: "POST",
          path: "/api/auth/sign-up/email",
          headers: { ...h, ...json },
          body: JSON.stringify({ email: "signup-{n}@example.test", password: PEER_PASSWORD, name: "Bench" }),
          unique: true,
        };
      case "sign-out":
        return {
          method: "POST",
          path: "/api/auth/sign-out",
          headers: { ...h, ...json },
          body: "{}",
          pool: async (n) => (await sessions(n)).map((c) => ({ cookie: c })),
        };
      default:
        throw new Error(`no peer scenario ${scenario}`);
    }
  };
  return { name: "better-auth", version, base, mf, state, seedSeconds, configs, prepare, request };
}
