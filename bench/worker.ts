/**
 * The benchmark's worker entry (never deployed): the real app, plus
 *  - bare baseline routes under /__bench/ (no framework, no business logic) that do exactly the storage
 *    round trips a scenario's design needs, so that each scenario can be compared with its floor;
 *  - a counting wrapper around the D1, KV, Durable Object and rate-limiter bindings, applied to requests that
 *    send `x-bench-count: 1`, which reports the round trips of that request in `x-bench-roundtrips`;
 *  - on every baseline, `rl=<LIMITER>[,<LIMITER>…]`: the rate-limiter calls the scenario's route makes before
 *    its work (a credential endpoint counts the client first), made first, as the route does;
 *  - `/__bench/record`, what the soak test (bench/soak.mjs) checks its care-record writes against: a record's
 *    stored state and its whole change history, read from the Durable Object itself.
 */
import worker, { CareRecord } from "../src/index";
import { verifyPassword } from "../src/lib/password";
import { careRecord, recordOf } from "../src/services/care";
import type { Bindings } from "../src/types";

export { CareRecord };

interface Counts {
  kv: number;
  d1: number;
  do: number;
  /** Rate-limiter binding calls. */
  rl: number;
}

const LIMITERS = ["CREDENTIALS_LIMITER", "MESSAGES_LIMITER", "LOOKUP_LIMITER"] as const;
type Limiter = (typeof LIMITERS)[number];

function countingLimiter(limiter: RateLimit, counts: Counts): RateLimit {
  return {
    limit: (options) => {
      counts.rl++;
      return limiter.limit(options);
    },
  };
}

/** A baseline's `rl` limiter calls, in order (each one awaited, as the middleware awaits it). */
async function floorLimits(env: Bindings, u: URL): Promise<void> {
  for (const name of (u.searchParams.get("rl") ?? "").split(",").filter(Boolean)) {
    if (!LIMITERS.includes(name as Limiter)) throw new Error(`no such limiter: ${name}`);
    await env[name as Limiter].limit({ key: `bench-floor:${name}` });
  }
}

function countingD1(db: D1Database, counts: Counts): D1Database {
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
      if (prop === "batch") {
        return (stmts: D1PreparedStatement[]) => {
          counts.d1++;
          return target.batch(stmts);
        };
      }
      if (prop === "exec") {
        return (sql: string) => {
          counts.d1++;
          return target.exec(sql);
        };
      }
      return value.bind(target);
    },
  });
}

function countingKv(kv: KVNamespace, counts: Counts): KVNamespace {
  return new Proxy(kv, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        counts.kv++;
        return value.apply(target, args);
      };
    },
  });
}

function countingDo<T extends Rpc.DurableObjectBranded | undefined>(
  ns: DurableObjectNamespace<T>,
  counts: Counts,
): DurableObjectNamespace<T> {
  return new Proxy(ns, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (prop === "get" || prop === "getByName") {
        return (...args: unknown[]) => {
          const stub = Reflect.apply(value, target, args) as object;
          return new Proxy(stub, {
            get(s, p) {
              const member = Reflect.get(s, p, s);
              if (typeof member !== "function") return member;
              // RPC stubs answer any property (even "apply") as a remote method: call via Reflect.
              return (...a: unknown[]) => {
                counts.do++;
                return Reflect.apply(member, s, a);
              };
            },
          });
        };
      }
      return value.bind(target);
    },
  });
}

/** The clinic row an API-key request reads to verify its key. */
function clinicRow(env: Bindings, u: URL) {
  return env.DB.prepare("SELECT * FROM clinics WHERE code = ?")
    .bind(u.searchParams.get("cc") ?? "bench")
    .first();
}

/** The audit row a successful sign-in, SSO or refresh writes (DESIGN.md: every credential event is audited). */
/** The one D1 read of a record request: the clinic, the patient and the caller's care-team membership. */
function memberContext(env: Bindings, c: number, p: number, m: number) {
  return env.DB.prepare(
    `SELECT c.settings, p.first_name, (SELECT member_group FROM care_team_members
       WHERE clinic_id = c.id AND patient_id = ?2 AND member_user_id = ?3) AS member_group
     FROM clinics c LEFT JOIN users p ON p.id = ?2 AND p.clinic_id = c.id WHERE c.id = ?1`,
  )
    .bind(c, p, m)
    .first();
}

function auditRow(env: Bindings, c: number, userId: number, event: string, now: number) {
  return env.DB.prepare(
    `INSERT INTO audit_log (clinic_id, event, outcome, actor_user_id, subject_user_id, ip, user_agent, request_id, details, created_at)
     VALUES (?, ?, 'success', ?, ?, '127.0.0.1', 'bench', ?, '{}', ?)`,
  ).bind(c, event, userId, userId, crypto.randomUUID(), now);
}

/** The access token key the refresh floor wrote last (the next request deletes it, as a rotation does). */
let lastAccessKey = "bench:r:none";

/** The refresh token a new session gets. */
function refreshRow(env: Bindings, session: string, c: number, userId: number, now: number) {
  return env.DB.prepare(
    "INSERT INTO refresh_tokens (token_hash, session_id, clinic_id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
  ).bind(crypto.randomUUID(), session, c, userId, now, now + 60);
}

const baselines: Record<string, (req: Request, env: Bindings, ctx: ExecutionContext) => Promise<Response>> = {
  /** Nothing: the runtime's own floor. */
  async text() {
    return new Response("ok");
  },
  /** 1 KV get: the access token, which carries what the caller's own-profile read answers. */
  async kv(req, env) {
    const record = await env.KV.get(`at:${new URL(req.url).searchParams.get("h")}`, "json");
    return Response.json({ record: record !== null });
  },
  /** 1 KV get (the access token) + 1 D1 primary-key read (the user): an authenticated read. */
  async "kv-d1"(req, env) {
    const u = new URL(req.url);
    const record = await env.KV.get(`at:${u.searchParams.get("h")}`, "json");
    const row = await env.DB.prepare("SELECT * FROM users WHERE id = ? AND clinic_id = ?")
      .bind(Number(u.searchParams.get("id")), Number(u.searchParams.get("c")))
      .first();
    return Response.json({ record: record !== null, row: row !== null });
  },
  /** 1 KV get + 1 D1 batch (the user and its rooms): GET /users/:id. */
  async "kv-d1-profile"(req, env) {
    const u = new URL(req.url);
    const id = Number(u.searchParams.get("id"));
    const c = Number(u.searchParams.get("c"));
    await env.KV.get(`at:${u.searchParams.get("h")}`, "json");
    const [user, rooms] = await env.DB.batch([
      env.DB.prepare("SELECT * FROM users WHERE id = ? AND clinic_id = ?").bind(id, c),
      env.DB.prepare(
        "SELECT r.*, m.created_at AS added_at FROM room_members m JOIN rooms r ON r.id = m.room_id WHERE m.user_id = ? AND m.clinic_id = ? ORDER BY m.created_at",
      ).bind(id, c),
    ]);
    return Response.json({ user: user?.results[0] !== undefined, rooms: rooms?.results.length });
  },
  /** 1 KV get + 1 KV put: a heartbeat (the token, then the alive mark). */
  async "kv-put"(req, env) {
    const u = new URL(req.url);
    await env.KV.get(`at:${u.searchParams.get("h")}`, "json");
    await env.KV.put(`alive:${u.searchParams.get("c")}:${u.searchParams.get("id")}`, "", {
      metadata: { l: 1, u: 2 },
      expirationTtl: 360,
    });
    return Response.json({ ok: true });
  },
  /** 1 D1 read (the clinic, for its API key) + 1 KV list + 1 D1 batch (page + count): who is online. */
  async "kv-list-d1"(req, env) {
    const u = new URL(req.url);
    const c = Number(u.searchParams.get("c"));
    await clinicRow(env, u);
    const list = await env.KV.list({ prefix: `alive:${c}:` });
    const ids = JSON.stringify(list.keys.map((k) => Number(k.name.split(":")[2])));
    const where = "+clinic_id = ? AND id IN (SELECT value FROM json_each(?))";
    const [rows] = await env.DB.batch([
      env.DB.prepare(`SELECT * FROM users WHERE ${where} ORDER BY id LIMIT 20`).bind(c, ids),
      env.DB.prepare(`SELECT count(*) FROM users WHERE ${where}`).bind(c, ids),
    ]);
    return Response.json({ n: rows?.results.length });
  },
  /** The bare indexed query behind ?q= (FTS5) with its count, in one batch. */
  async search(req, env) {
    const u = new URL(req.url);
    const c = Number(u.searchParams.get("c"));
    await clinicRow(env, u);
    const match = `"${u.searchParams.get("q")}"`;
    const where =
      "+clinic_id = ? AND +type = 200 AND id IN (SELECT rowid FROM users_fts WHERE users_fts MATCH ?)";
    const [rows] = await env.DB.batch([
      env.DB.prepare(`SELECT * FROM users WHERE ${where} ORDER BY id LIMIT 20`).bind(c, match),
      env.DB.prepare(`SELECT count(*) FROM users WHERE ${where}`).bind(c, match),
    ]);
    return Response.json({ n: rows?.results.length });
  },
  /** The bare indexed query behind ?type=200&limit=50 with its total (the clinic's per-type count), in one batch. */
  async "by-type"(req, env) {
    const u = new URL(req.url);
    const c = Number(u.searchParams.get("c"));
    await clinicRow(env, u);
    const [rows] = await env.DB.batch([
      env.DB.prepare("SELECT * FROM users WHERE clinic_id = ? AND type = 200 ORDER BY id LIMIT 50").bind(c),
      env.DB.prepare("SELECT n FROM user_counts WHERE clinic_id = ? AND type = 200").bind(c),
    ]);
    return Response.json({ n: rows?.results.length });
  },
  /**
   * 1 D1 read (the clinic) + 1 D1 write batch (the user, a session, its refresh token, the audit row) +
   * 1 KV put (the access token): what SSO for an existing code needs at least.
   */
  async "d1-write-kv"(req, env) {
    const u = new URL(req.url);
    const c = Number(u.searchParams.get("c"));
    const id = crypto.randomUUID();
    const now = Math.floor(Date.now() / 1000);
    await env.DB.prepare("SELECT id, api_key_hash FROM clinics WHERE code = ?")
      .bind(u.searchParams.get("cc"))
      .first();
    const [user] = await env.DB.batch<{ id: number }>([
      env.DB.prepare("UPDATE users SET updated_at = ? WHERE clinic_id = ? AND code = ? RETURNING *").bind(
        now,
        c,
        u.searchParams.get("code"),
      ),
      env.DB.prepare(
        "INSERT INTO sessions (id, clinic_id, user_id, kind, created_at, expires_at) SELECT ?, clinic_id, id, 'vsee', ?, ? FROM users WHERE clinic_id = ? AND code = ?",
      ).bind(id, now, now + 60, c, u.searchParams.get("code")),
      env.DB.prepare(
        "INSERT INTO refresh_tokens (token_hash, session_id, clinic_id, user_id, created_at, expires_at) SELECT ?, ?, clinic_id, id, ?, ? FROM users WHERE clinic_id = ? AND code = ?",
      ).bind(crypto.randomUUID(), id, now, now + 60, c, u.searchParams.get("code")),
      env.DB.prepare(
        `INSERT INTO audit_log (clinic_id, event, outcome, actor_user_id, subject_user_id, ip, user_agent, request_id, details, created_at)
         SELECT clinic_id, 'sso', 'success', NULL, id, '127.0.0.1', 'bench', ?, '{}', ? FROM users WHERE clinic_id = ? AND code = ?`,
      ).bind(id, now, c, u.searchParams.get("code")),
    ]);
    await env.KV.put(`bench:${id}`, "{}", { expirationTtl: 60 });
    return Response.json({ ok: user?.results.length === 1 });
  },
  /**
   * 1 D1 batch (spend a token, insert its successor, read and move the session, read the owner, the audit
   * row) + 1 KV delete + 1 KV put: a refresh. The spent row is the floor session's first token, written
   * again each time (a real row write, as in a rotation).
   */
  async "refresh-floor"(req, env) {
    const u = new URL(req.url);
    const c = Number(u.searchParams.get("c"));
    const id = Number(u.searchParams.get("id"));
    const session = u.searchParams.get("s");
    const now = Math.floor(Date.now() / 1000);
    const hash = crypto.randomUUID();
    await env.DB.batch([
      env.DB.prepare("UPDATE refresh_tokens SET used_at = ?, replaced_by = ? WHERE token_hash = ?").bind(
        now,
        hash,
        u.searchParams.get("t"),
      ),
      refreshRow(env, session ?? "", c, id, now),
      env.DB.prepare("SELECT kind, access_hash FROM sessions WHERE id = ?").bind(session),
      env.DB.prepare("UPDATE sessions SET access_hash = ? WHERE id = ?").bind(hash, session),
      env.DB.prepare(
        "SELECT u.*, c.code AS clinic_code FROM users u JOIN clinics c ON c.id = u.clinic_id WHERE u.id = ?",
      ).bind(id),
      auditRow(env, c, id, "token_refresh", now),
    ]);
    // The session's previous access token is a live key: delete the one the previous request wrote.
    const previous = lastAccessKey;
    lastAccessKey = `bench:r:${hash}`;
    await env.KV.delete(previous);
    await env.KV.put(lastAccessKey, "{}", { expirationTtl: 60 });
    return Response.json({ ok: true });
  },
  /**
   * GET /state of a physician on a "shared" clinic: 1 KV get (the token), 1 D1 read (the clinic's settings and
   * membership), 1 Durable Object read (with the access log entry), and the audit row after the answer.
   */
  async "do-read"(req, env, ctx) {
    const u = new URL(req.url);
    const c = Number(u.searchParams.get("c"));
    const m = Number(u.searchParams.get("m"));
    await env.KV.get(`at:${u.searchParams.get("h")}`, "json");
    await memberContext(env, c, 0, m);
    const fields = ["medical_history", "office_visit_notes", "prescription", "insurer_reply"] as const;
    const view = await careRecord(env, c).view({ userId: m, group: "physicians", fields, logged: true });
    ctx.waitUntil(env.DB.batch([auditRow(env, c, m, "record_access", Math.floor(Date.now() / 1000))]));
    return Response.json(view);
  },
  /**
   * A per-patient record as a care-team member reads it (GET /records/:id): 1 KV get (the token), 1 D1 read
   * (the clinic's settings, the patient and the caller's membership in one query), 1 Durable Object call (the
   * view, which writes the access log entry), and after the answer the audit row.
   */
  async "record-read"(req, env, ctx) {
    const u = new URL(req.url);
    const [c, p, m] = ["c", "p", "m"].map((k) => Number(u.searchParams.get(k)));
    await env.KV.get(`at:${u.searchParams.get("h")}`, "json");
    await memberContext(env, c as number, p as number, m as number);
    const fields = ["medical_history", "office_visit_notes", "prescription", "insurer_reply"] as const;
    const view = await recordOf(env, c as number, p as number).view({
      userId: m as number,
      group: "physicians",
      fields,
      logged: true,
    });
    const now = Math.floor(Date.now() / 1000);
    ctx.waitUntil(env.DB.batch([auditRow(env, c as number, m as number, "record_access", now)]));
    return Response.json(view);
  },
  /** PUT /records/:id by a member: as record-read, with the write (and its history) in the object. */
  async "record-write"(req, env, ctx) {
    const u = new URL(req.url);
    const [c, p, m] = ["c", "p", "m"].map((k) => Number(u.searchParams.get(k)));
    await env.KV.get(`at:${u.searchParams.get("h")}`, "json");
    await memberContext(env, c as number, p as number, m as number);
    const result = await recordOf(env, c as number, p as number).write(
      { prescription: "bench" },
      { userId: m as number, group: "physicians", logged: true },
    );
    const now = Math.floor(Date.now() / 1000);
    ctx.waitUntil(env.DB.batch([auditRow(env, c as number, m as number, "record_access", now)]));
    return Response.json("state" in result ? result.state : result);
  },
  /** PUT /state of a physician on a "shared" clinic: as do-read, with the write (and its history) in the object. */
  async "do-write"(req, env, ctx) {
    const u = new URL(req.url);
    const c = Number(u.searchParams.get("c"));
    const id = Number(u.searchParams.get("id"));
    await env.KV.get(`at:${u.searchParams.get("h")}`, "json");
    await memberContext(env, c, 0, id);
    const result = await careRecord(env, c).write(
      { office_visit_notes: "bench" },
      { userId: id, group: "physicians", logged: true },
    );
    ctx.waitUntil(env.DB.batch([auditRow(env, c, id, "record_access", Math.floor(Date.now() / 1000))]));
    return Response.json("state" in result ? result.state : result);
  },
  /**
   * 2 D1 reads (clinic, user) + 1 D1 write batch (a session, its refresh token, the audit row) + 2 KV puts:
   * re-registering an existing user.
   */
  async "register-floor"(req, env) {
    const u = new URL(req.url);
    const c = Number(u.searchParams.get("c"));
    const userId = Number(u.searchParams.get("id"));
    const now = Math.floor(Date.now() / 1000);
    const id = crypto.randomUUID();
    await env.DB.prepare("SELECT * FROM clinics WHERE code = ?").bind(u.searchParams.get("cc")).first();
    await env.DB.prepare(
      "SELECT * FROM users WHERE clinic_id = ? AND email IS NOT NULL AND lower(email) = lower(?)",
    )
      .bind(c, u.searchParams.get("email"))
      .first();
    await env.DB.batch([
      env.DB.prepare(
        "INSERT INTO sessions (id, clinic_id, user_id, kind, created_at, expires_at) VALUES (?, ?, ?, 'register', ?, ?)",
      ).bind(id, c, userId, now, now + 60),
      refreshRow(env, id, c, userId, now),
      auditRow(env, c, userId, "sign_in", now),
    ]);
    await Promise.all([
      env.KV.put(`bench:a:${id}`, "{}", { expirationTtl: 60 }),
      env.KV.put(`bench:e:${id}`, "{}", { expirationTtl: 60 }),
    ]);
    return Response.json({ ok: true });
  },
  /** The soak test's view of a care record (never in the app): `?c=<clinic id>&p=<patient id>`. */
  async record(req, env) {
    const u = new URL(req.url);
    const stub = recordOf(env, Number(u.searchParams.get("c")), Number(u.searchParams.get("p")));
    const state = await stub.read();
    const history = [];
    let before: number | undefined;
    do {
      const page = await stub.history(100, before);
      history.push(...page.entries);
      before = page.nextBefore ?? undefined;
    } while (before !== undefined);
    return Response.json({ state, history });
  },
  /**
   * 1 KV get (the access token) + 1 D1 write (the session marked revoked, returning its keys) + 1 KV delete
   * (the access token) + 1 D1 batch (the session marked cleared, the sweeper's bookkeeping, and the audit
   * row: after the response in the app): a sign-out. The floor's session row is written again
   * each time (a real row write).
   */
  async "signout-floor"(req, env) {
    const u = new URL(req.url);
    const c = Number(u.searchParams.get("c"));
    const s = u.searchParams.get("s");
    const now = Math.floor(Date.now() / 1000);
    await env.KV.get(`at:${u.searchParams.get("h")}`, "json");
    const ended = await env.DB.prepare(
      "UPDATE sessions SET revoked_at = ?1 WHERE id = ?2 RETURNING id, kind, access_hash, user_id",
    )
      .bind(now, s)
      .first();
    await env.KV.delete(req.headers.get("x-floor-key") ?? "bench:o:none");
    await env.DB.batch([
      env.DB.prepare("UPDATE sessions SET kv_cleared_at = ?1 WHERE id = ?2").bind(now, s),
      auditRow(env, c, Number(u.searchParams.get("id")), "sign_out", now),
    ]);
    return Response.json({ ok: ended !== null });
  },
  /** `n` (≤ 500) KV keys for the sign-out floor to delete, one per request: a sign-out deletes a token that exists. */
  async "signout-floor-keys"(req, env) {
    const n = Math.min(Number(new URL(req.url).searchParams.get("n")) || 0, 500);
    const keys = Array.from({ length: n }, () => `bench:o:${crypto.randomUUID()}`);
    await Promise.all(keys.map((k) => env.KV.put(k, JSON.stringify({ k }), { expirationTtl: 3600 })));
    return Response.json(keys);
  },
  /** One argon2id verification: the floor of every password sign-in. */
  async hash(req, env) {
    const u = new URL(req.url);
    const row = await env.DB.prepare("SELECT password_hash FROM users WHERE id = ?")
      .bind(Number(u.searchParams.get("id")))
      .first<{ password_hash: string }>();
    const ok = await verifyPassword(u.searchParams.get("p") ?? "", row?.password_hash);
    return Response.json({ ok });
  },
};

export default {
  async fetch(req, env, ctx) {
    const url = new URL(req.url);
    if (url.pathname.startsWith("/__bench/")) {
      const baseline = baselines[url.pathname.slice("/__bench/".length)];
      if (!baseline) return new Response("no such baseline", { status: 404 });
      await floorLimits(env, url);
      return baseline(req, env, ctx);
    }
    if (req.headers.get("x-bench-count") !== "1") return worker.fetch(req as never, env, ctx);
    const counts: Counts = { kv: 0, d1: 0, do: 0, rl: 0 };
    const counted = {
      ...env,
      DB: countingD1(env.DB, counts),
      KV: countingKv(env.KV, counts),
      CARE_RECORD: countingDo(env.CARE_RECORD, counts),
      ...Object.fromEntries(LIMITERS.map((name) => [name, countingLimiter(env[name], counts)])),
    };
    const res = await worker.fetch(req as never, counted, ctx);
    const out = new Response(res.body, res);
    out.headers.set("x-bench-roundtrips", JSON.stringify(counts));
    return out;
  },
  scheduled: worker.scheduled,
} satisfies ExportedHandler<Bindings>;
