#!/usr/bin/env node
/**
 * `npm run soak` — mixed traffic against the built worker, then invariants (issue 14, part 1; README "Soak test").
 *
 * The bench entry (bench/worker.ts: the real app plus bench-only routes) is built with `wrangler deploy
 * --dry-run` and served through wrangler's own miniflare (bench/serve.mjs; no `wrangler dev` proxy) on a
 * fresh persisted state with the migrations applied. A clinic of 10,000 users, rooms, care teams, accounts and
 * online patients is seeded; then virtual users send a realistic mix at a fixed arrival rate on loopback, with
 * live care-record sockets connected, for a bounded time and a bounded number of requests. Afterwards the
 * stores are checked (D1 directly, the care records through the bench-only /__bench/record route, the isolate
 * heap through workerd's inspector) and a table is printed. Exit status 1 when an invariant fails.
 *
 *   npm run soak                  3 minutes of load; writes bench/soak-results.json
 *   npm run soak -- --minutes 1   N minutes of load; writes bench/soak-results.json
 *   npm run soak -- --quick       30 s of load (under 60 s with the seed and the checks; CI); writes
 *                                 bench/.work/soak.quick.json, never the committed results
 *   npm run soak -- --rate 25     actions started per second besides the heartbeats (default 25, --quick 15)
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { Secret, TOTP } from "otpauth";
import { benchSecrets, build, inspector, root, serve, wranglerRequire } from "./serve.mjs";

const USAGE = `npm run soak -- [flags]

  (none)          3 minutes of load; writes bench/soak-results.json; exits 1 when an invariant fails
  --minutes N     N minutes of load (writes bench/soak-results.json)
  --quick         30 s of load, under 60 s in all (CI); writes bench/.work/soak.quick.json
  --rate N        actions started per second, besides the heartbeats (default 25; --quick 15)
  --help          this text`;
const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v) || v <= 0) {
    console.error(`${name} needs a positive number\n\n${USAGE}`);
    process.exit(2);
  }
  return v;
};
const known = new Set(["--quick", "--minutes", "--rate", "--help", "-h"]);
const unknown = args.filter((a, i) => !known.has(a) && !["--minutes", "--rate"].includes(args[i - 1]));
if (args.includes("--help") || args.includes("-h") || unknown.length) {
  if (unknown.length) console.error(`unknown flag${unknown.length > 1 ? "s" : ""}: ${unknown.join(" ")}\n`);
  console.log(USAGE);
  process.exit(unknown.length ? 2 : 0);
}
const quick = args.includes("--quick");
const LOAD_SECONDS = quick ? 30 : Math.round((flag("--minutes") ?? 3) * 60);
const RATE = flag("--rate") ?? (quick ? 15 : 25);
const USERS = 10_000;
const ONLINE = 40; // patients sending heartbeats
const HEARTBEAT_EVERY = 4; // seconds between one online patient's heartbeats
const RECORDS = 12; // care records written by their teams
const MFA_ACCOUNTS = 8;
const MAX_IN_FLIGHT = 64; // actions; an arrival beyond it is shed (and counted)
// Each action sends at most a few requests: the run stops starting actions past this many requests.
const MAX_REQUESTS = Math.ceil((RATE + ONLINE / HEARTBEAT_EVERY) * LOAD_SECONDS * 4);
const HEAP_EVERY = quick ? 5 : 15;

const work = join(root, "bench", ".work", "soak");
const log = (...m) => console.error("[soak]", ...m);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sha256 = (s) => createHash("sha256").update(s).digest("hex");
const pick = (xs) => xs[Math.floor(Math.random() * xs.length)];
const started = performance.now();

// ---------- build and serve ----------

log("building the worker (wrangler deploy --dry-run)…");
mkdirSync(work, { recursive: true });
build("bench/worker.ts", join(work, "dist"));
const NAME = "clinic-edge-soak";
const secrets = await benchSecrets();
const { mf, base, db, firstAnswerMs } = await serve({
  dist: join(work, "dist"),
  state: join(work, "state"),
  name: NAME,
  secrets,
  vars: { DEFAULT_ACCOUNT_CODE: "soak" },
  inspector: true,
});
log(`serving on ${base} (first answer after ${firstAnswerMs} ms)`);
const sockets = [];
let disposed;
const stopServer = () => {
  disposed ??= mf.dispose();
  return disposed;
};
let exitCode = 0;
try {
  exitCode = await soak();
} finally {
  for (const s of sockets) s.ws.close();
  await stopServer();
  rmSync(join(work, "state"), { recursive: true, force: true });
}
process.exit(exitCode);

async function soak() {
  // ---------- requests, their statuses and latencies ----------

  // route → { statuses: {status: n}, ms: [] }: the load's requests, and the setup's and the checks' apart.
  const routes = new Map();
  const others = new Map();
  let phase = "setup";
  const unexpected = []; // { route, status, expected, body }
  let requests = 0; // of the load

  /** One request; `expect` lists the statuses the scenario expects (anything else is an invariant failure). */
  async function send(route, method, path, { headers = {}, body, expect = [200] } = {}) {
    if (phase === "load") requests++;
    const t0 = performance.now();
    let status = 0;
    let text = "";
    let resHeaders = new Headers();
    try {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      status = res.status;
      resHeaders = res.headers;
      text = await res.text();
    } catch (e) {
      text = String(e?.cause?.code ?? e?.message ?? e);
    }
    const ms = performance.now() - t0;
    const map = phase === "load" ? routes : others;
    const r = map.get(route) ?? { statuses: {}, ms: [] };
    map.set(route, r);
    r.statuses[status] = (r.statuses[status] ?? 0) + 1;
    r.ms.push(ms);
    if (!expect.includes(status))
      unexpected.push({ route, status, expected: expect, body: text.slice(0, 200) });
    let json;
    try {
      json = JSON.parse(text);
    } catch {}
    return { status, json, headers: resHeaders, text };
  }
  /** Setup calls: anything but the expected status stops the run. */
  async function must(route, method, path, opts = {}) {
    const r = await send(route, method, path, opts);
    if (!(opts.expect ?? [200]).includes(r.status))
      throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
    return r.json;
  }

  // ---------- seed ----------

  const API_KEY = "ce_soak_api_key";
  const now = Math.floor(Date.now() / 1000);
  await db
    .prepare(
      `INSERT INTO clinics (code, name, domain, portal_base_url, sso_enabled, signup_mode, default_heartbeat, settings, api_key_hash, api_key_prefix, disabled, created_at, updated_at)
       VALUES ('soak', 'Soak Clinic', 'soak.test', NULL, 1, 'open', 300, ?, ?, 'ce_soak_', 0, ?, ?)`,
    )
    .bind(
      JSON.stringify({ careRecordMode: "per_patient", selfRegisterGroups: ["patients"], codesPerHour: 50 }),
      sha256(`clinic-api-key:${API_KEY}`),
      now,
      now,
    )
    .run();
  const clinicId = (await db.prepare("SELECT id FROM clinics WHERE code = 'soak'").first()).id;
  const FIRST = ["Anna", "Ben", "Carla", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas"];
  const LAST = ["Anders", "Brown", "Castillo", "Dubois", "Eriksen", "Fischer", "Garcia", "Hansen", "Ivanov"];
  const seedStart = performance.now();
  for (let i = 0; i < USERS; i += 5000) {
    const batch = [];
    for (let k = i; k < Math.min(i + 5000, USERS); k += 500) {
      const values = [];
      for (let j = k; j < Math.min(k + 500, USERS); j++) {
        const first = FIRST[j % FIRST.length];
        const last = LAST[Math.floor(j / FIRST.length) % LAST.length];
        const type = j % 20 < 16 ? 200 : j % 20 < 19 ? 400 : 600;
        values.push(
          `(${clinicId}, 'seed-${j}', ${type}, 20, 'user${j}', '${first.toLowerCase()}.${last.toLowerCase()}${j}@example.test', '${first}', '${last}', ${now}, ${now})`,
        );
      }
      batch.push(
        db.prepare(
          `INSERT INTO users (clinic_id, code, type, status, username, email, first_name, last_name, created_at, updated_at) VALUES ${values.join(",")}`,
        ),
      );
    }
    await db.batch(batch);
  }
  await db.batch(
    Array.from({ length: 20 }, (_, r) =>
      db
        .prepare(
          "INSERT INTO rooms (clinic_id, code, slug, name, domain, created_at, updated_at) VALUES (?, ?, ?, ?, 'soak.test', ?, ?)",
        )
        .bind(clinicId, `room-${r}`, `room-${r}`, `Room ${r}`, now, now),
    ),
  );
  await db
    .prepare(
      `INSERT INTO room_members (room_id, user_id, clinic_id, created_at)
       SELECT (u.id % 20) + (SELECT min(id) FROM rooms WHERE clinic_id = ?1), u.id, ?1, ?2 FROM users u
       WHERE u.clinic_id = ?1 AND u.id % 10 = 0`,
    )
    .bind(clinicId, now)
    .run();
  log(
    `${USERS.toLocaleString()} users, 20 rooms seeded in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`,
  );

  // ---------- fixtures through the API ----------

  const server = { "X-AccountCode": "soak", "X-ApiKey": API_KEY };
  const pub = { "X-AccountCode": "soak" };
  const PASSWORD = "soak password 4711";
  let seq = 0;
  const uniq = (p) => `${p}-${Date.now().toString(36)}-${++seq}`;

  /** A patient, provider or guest of the clinic's portal, signed in by SSO. */
  async function ssoUser(code, type = 200, extra = {}) {
    const d = (
      await must("POST /api_v3/users/sso", "POST", "/api_v3/users/sso", {
        headers: server,
        body: {
          first_name: "Soak",
          last_name: `User${seq}`,
          type,
          ...(type === 600 ? {} : { code }),
          ...extra,
        },
      })
    ).data;
    return {
      code,
      id: d.id,
      token: d.token.token,
      refresh: d.token.refresh_token.token,
      spent: [],
      busy: false,
    };
  }
  const patients = [];
  for (let i = 0; i < 60; i++) patients.push(await ssoUser(`soak-patient-${i}`));
  const online = patients.slice(0, ONLINE);
  log("patients signed in");
  const providers = [];
  for (let i = 0; i < 4; i++) {
    const p = await ssoUser(`soak-provider-${i}`, 400, { username: `soak-provider-${i}` });
    await must("POST /api_v3/me", "POST", "/api_v3/me", {
      headers: { "X-ApiToken": p.token },
      body: { password: PASSWORD },
    });
    providers.push({ ...p, username: `soak-provider-${i}` });
  }

  log("providers with passwords");
  // Care records: a patient each, with one of three physicians and one of two insurers on the team.
  const register = (group, extra = {}) =>
    must("POST /register", "POST", "/register", {
      headers: server,
      body: {
        email: `${uniq(group)}@example.test`,
        groupName: group,
        firstName: "Soak",
        lastName: "Member",
        ...extra,
      },
    });
  const physicians = [
    await register("physicians"),
    await register("physicians"),
    await register("physicians"),
  ];
  const insurers = [await register("insurers"), await register("insurers")];
  const records = [];
  for (let i = 0; i < RECORDS; i++) {
    const patient = await register("patients");
    const physician = physicians[i % physicians.length];
    const insurer = insurers[i % insurers.length];
    for (const m of [physician, insurer]) {
      await must("POST /records/:id/members", "POST", `/records/${patient.user.id}/members`, {
        headers: server,
        body: { userId: m.user.id },
      });
    }
    const auth = (who) => ({ authorization: `Bearer ${who.token}`, "X-AccountCode": "soak" });
    const rec = { id: patient.user.id, patient, physician, writes: [], seedFields: {} };
    rec.writers = [
      { rec, field: "medical_history", headers: auth(patient), known: 0, busy: false },
      { rec, field: "office_visit_notes", headers: auth(physician), known: 0, busy: false },
      { rec, field: "prescription", headers: auth(physician), known: 0, busy: false },
      { rec, field: "insurer_reply", headers: auth(insurer), known: 0, busy: false },
    ];
    records.push(rec);
  }
  const writers = records.flatMap((r) => r.writers);
  log(`${RECORDS} care records with their teams`);

  // Accounts with two-factor on (POST /accounts, setupMFA, verifyMFASecret), signed in during the run.
  const totpAt = (secret, step) =>
    new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: "SHA1" }).generate({
      timestamp: step * 30_000,
    });
  const stepNow = () => Math.floor(Date.now() / 30_000);
  const mfaAccounts = [];
  for (let i = 0; i < MFA_ACCOUNTS; i++) {
    const email = `${uniq("mfa")}@example.test`;
    await must("POST /accounts", "POST", "/accounts", {
      headers: pub,
      body: { email, password: PASSWORD },
      expect: [201],
    });
    const jwt = (
      await must("POST /authentication", "POST", "/authentication", {
        headers: pub,
        body: { strategy: "local", email, password: PASSWORD },
        expect: [201],
      })
    ).accessToken;
    const bearer = { ...pub, authorization: `Bearer ${jwt}` };
    const { secret } = await must("POST /authentication (setupMFA)", "POST", "/authentication", {
      headers: bearer,
      body: { action: "setupMFA", enable: true },
      expect: [201],
    });
    const step = stepNow();
    await must("POST /authentication (verifyMFASecret)", "POST", "/authentication", {
      headers: bearer,
      body: { action: "verifyMFASecret", totpToken: totpAt(secret, step) },
      expect: [201],
    });
    mfaAccounts.push({ email, secret, lastStep: step, busy: false });
  }

  log(`${MFA_ACCOUNTS} accounts with two-factor on`);

  // ---------- live sockets ----------

  /** A live socket on a record: every state it is sent, and how it closed. */
  function connect(rec, who, label) {
    const ws = new WebSocket(`${base.replace(/^http/, "ws")}/records/${rec.id}/live?accountCode=soak`, [
      "care-state",
      `bearer.${who.token}`,
    ]);
    const s = { rec, label, ws, states: [], closed: null, opened: false };
    ws.onopen = () => {
      s.opened = true;
    };
    ws.onmessage = (e) => {
      const msg = JSON.parse(String(e.data));
      if (msg.type === "state") s.states.push(msg.state);
    };
    ws.onclose = (e) => {
      s.closed = { code: e.code, reason: e.reason };
    };
    sockets.push(s);
    return s;
  }
  for (const rec of records) connect(rec, rec.patient, "patient, from the start");
  // Sessions that end during the run: their sockets must close with 4003 (README, /state/live).
  const ending = [];
  for (const rec of records.slice(0, 3)) {
    const again = await must("POST /register", "POST", "/register", {
      headers: server,
      body: {
        email: rec.patient.user.emails[0].value,
        groupName: "patients",
        firstName: "Soak",
        lastName: "Member",
      },
    });
    ending.push({ token: again.token, socket: connect(rec, again, "a second session, signed out mid-run") });
  }

  log(`${sockets.length} live sockets`);

  // ---------- the isolate's heap ----------

  const cdp = await inspector(`${String(await mf.getInspectorURL()).replace(/\/$/, "")}/core:user:${NAME}`);
  const heap = [];
  let loadStart = performance.now();
  /**
   * The isolate's heap (the worker and its Durable Objects share it). At the start and the end after a full
   * GC: workerd's inspector does not answer `HeapProfiler.collectGarbage`, but a heap snapshot collects
   * garbage first (about a second; never taken under load). During the load, the used size as it is.
   */
  async function sampleHeap(phase) {
    if (phase !== "load") await cdp.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    const { usedSize, totalSize } = await cdp.send("Runtime.getHeapUsage");
    heap.push({
      t: Math.round((performance.now() - loadStart) / 1000),
      phase,
      gc: phase !== "load",
      usedMiB: +(usedSize / 2 ** 20).toFixed(2),
      totalMiB: +(totalSize / 2 ** 20).toFixed(2),
    });
  }

  // ---------- the mix ----------

  const refreshAccepted = new Set(); // refresh tokens answered 200 once
  const refreshTwice = []; // a token answered 200 a second time
  const reused = []; // { token, family: latest access token of its family }
  const codes = new Map(); // code → successful redemptions
  const signups = []; // emails signed up during the run
  const lastAccess = new Map(); // vu → last access token (for the sign-out check)

  /** A free member of `pool`, locked for one action (null when all are busy: the arrival is shed). */
  function take(pool) {
    for (let i = 0; i < 4; i++) {
      const x = pick(pool);
      if (!x.busy) {
        x.busy = true;
        return x;
      }
    }
    const free = pool.filter((x) => !x.busy);
    if (!free.length) return null;
    const x = pick(free);
    x.busy = true;
    return x;
  }

  /** Signs a patient in again after a sign-out or a revoked family (SSO by its code). */
  async function ensureSignedIn(vu) {
    if (vu.token) return;
    const r = await send("POST /api_v3/users/sso", "POST", "/api_v3/users/sso", {
      headers: server,
      body: { first_name: "Soak", last_name: "Again", type: 200, code: vu.code },
    });
    if (r.status === 200) {
      vu.token = r.json.data.token.token;
      vu.refresh = r.json.data.token.refresh_token.token;
    }
  }
  const asUser = (vu) => ({ "X-ApiToken": vu.token });
  const SEARCH = ["ann", "ben", "car", "dav", "ele", "fis", "gar", "han", "iva", "son", "eri"];

  async function refresh(vu) {
    const token = vu.refresh;
    const race = Math.random() < 0.15;
    const attempts = race ? [0, 1] : [0];
    const results = await Promise.all(
      attempts.map(() =>
        send("POST /api_v3/tokens/refresh", "POST", "/api_v3/tokens/refresh", {
          headers: pub,
          body: { refresh_token: token },
          expect: race ? [200, 401] : [200],
        }),
      ),
    );
    const ok = results.filter((r) => r.status === 200);
    if (race && ok.length !== 1)
      unexpected.push({
        route: "POST /api_v3/tokens/refresh (race)",
        status: ok.length,
        expected: ["exactly one 200"],
      });
    for (const r of ok) {
      if (refreshAccepted.has(token)) refreshTwice.push(token);
      refreshAccepted.add(token);
      vu.token = r.json.data.token;
      vu.refresh = r.json.data.refresh_token.token;
    }
    vu.spent.push(token);
    if (race) {
      // The loser presented a spent token: a reuse, which ends the winner's family too.
      reused.push({ token, access: vu.token, refresh: vu.refresh });
      vu.token = null;
      vu.spent = [];
    }
  }

  const mix = [
    {
      name: "sso",
      weight: 8,
      async run() {
        const type = pick([200, 200, 200, 400, 600]);
        await send("POST /api_v3/users/sso", "POST", "/api_v3/users/sso", {
          headers: server,
          body: {
            first_name: "Soak",
            last_name: "New",
            type,
            ...(type === 600 ? {} : { code: uniq("sso") }),
          },
        });
      },
    },
    {
      name: "login",
      weight: 1,
      async run() {
        const p = pick(providers);
        await send("POST /api_v3/users/login", "POST", "/api_v3/users/login", {
          headers: pub,
          body: { username: p.username, password: PASSWORD },
        });
      },
    },
    {
      name: "me",
      weight: 14,
      pool: patients,
      async run(vu) {
        await ensureSignedIn(vu);
        await send("GET /api_v3/me", "GET", "/api_v3/me", { headers: asUser(vu) });
      },
    },
    {
      name: "me update",
      weight: 4,
      pool: patients,
      async run(vu) {
        await ensureSignedIn(vu);
        await send("POST /api_v3/me", "POST", "/api_v3/me", {
          headers: asUser(vu),
          body: { first_name: pick(FIRST), last_name: `${pick(LAST)}${++seq}` },
        });
      },
    },
    {
      name: "search",
      weight: 6,
      async run() {
        await send("GET /api_v3/users?q=", "GET", `/api_v3/users?q=${pick(SEARCH)}`, { headers: server });
      },
    },
    {
      name: "list",
      weight: 4,
      async run() {
        const [route, path] = pick([
          [
            "GET /api_v3/users?type=",
            `/api_v3/users?type=${pick([200, 400, 600])}&limit=50&start=${Math.floor(Math.random() * 40) * 50}`,
          ],
          ["GET /api_v3/users?alive=1", "/api_v3/users?alive=1"],
          ["GET /api_v3/users/:id", `/api_v3/users/${pick(patients).id}`],
        ]);
        await send(route, "GET", path, { headers: server });
      },
    },
    {
      name: "refresh",
      weight: 5,
      pool: patients.slice(ONLINE),
      async run(vu) {
        await ensureSignedIn(vu);
        await refresh(vu);
      },
    },
    {
      name: "refresh reuse",
      weight: 1,
      pool: patients.slice(ONLINE),
      async run(vu) {
        await ensureSignedIn(vu);
        if (!vu.spent.length) return refresh(vu);
        const old = pick(vu.spent);
        await send("POST /api_v3/tokens/refresh (reuse)", "POST", "/api_v3/tokens/refresh", {
          headers: pub,
          body: { refresh_token: old },
          expect: [401],
        });
        // The reuse ended the family: its current tokens are dead; the patient signs in again.
        reused.push({ token: old, access: vu.token, refresh: vu.refresh });
        vu.token = null;
        vu.spent = [];
      },
    },
    {
      name: "sign-out",
      weight: 2,
      pool: patients.slice(ONLINE),
      async run(vu) {
        await ensureSignedIn(vu);
        const r = await send("POST /api_v3/users/logout", "POST", "/api_v3/users/logout", {
          headers: asUser(vu),
        });
        if (r.status === 200) {
          await send("GET /api_v3/me (signed out)", "GET", "/api_v3/me", {
            headers: asUser(vu),
            expect: [401],
          });
          lastAccess.set(vu, vu.token);
          vu.token = null;
          vu.spent = [];
        }
      },
    },
    {
      name: "signup",
      weight: 1,
      async run() {
        const email = `${uniq("acct")}@example.test`;
        const r = await send("POST /accounts", "POST", "/accounts", {
          headers: pub,
          body: { email, password: PASSWORD },
          expect: [201],
        });
        if (r.status !== 201) return;
        signups.push(email);
        // The code, as a developer reads it from the outbox (the row is written with the account).
        const row = await db
          .prepare(
            "SELECT body_text FROM outbox WHERE clinic_id = ? AND recipient = ? AND template = 'email_verification' ORDER BY id DESC LIMIT 1",
          )
          .bind(clinicId, email)
          .first();
        const code = /(?:code is|Use code) ([0-9a-z]+)/.exec(row?.body_text ?? "")?.[1];
        if (!code) {
          unexpected.push({
            route: "outbox",
            status: "no code",
            expected: ["an email_verification message"],
          });
          return;
        }
        const times = Math.random() < 0.3 ? 2 : 1; // some codes are tried again: refused
        for (let i = 0; i < times; i++) {
          const a = await send("POST /authentication (applyActionCode)", "POST", "/authentication", {
            headers: pub,
            body: { action: "applyActionCode", code, email },
            expect: i === 0 ? [201] : [401],
          });
          if (a.status === 201) codes.set(code, (codes.get(code) ?? 0) + 1);
        }
      },
    },
    {
      name: "mfa sign-in",
      weight: 1,
      async run() {
        const step = stepNow();
        const a = mfaAccounts.find((x) => !x.busy && x.lastStep < step);
        if (!a) {
          // Every account used this 30-s step: the password alone is answered 206 (Missing MFA token).
          await send("POST /authentication (password, MFA on)", "POST", "/authentication", {
            headers: pub,
            body: { strategy: "local", email: pick(mfaAccounts).email, password: PASSWORD },
            expect: [206],
          });
          return;
        }
        a.busy = true;
        try {
          a.lastStep = step;
          await send("POST /authentication (local + TOTP)", "POST", "/authentication", {
            headers: pub,
            body: {
              strategy: "local",
              email: a.email,
              password: PASSWORD,
              totpToken: totpAt(a.secret, step),
            },
            expect: [201],
          });
        } finally {
          a.busy = false;
        }
      },
    },
    {
      name: "register",
      weight: 2,
      async run() {
        const kind = Math.random();
        if (kind < 0.5) {
          await send("POST /register", "POST", "/register", {
            headers: server,
            body: {
              email: `${uniq("reg")}@example.test`,
              groupName: pick(["patients", "physicians", "insurers"]),
              firstName: "Soak",
              lastName: "Reg",
            },
          });
        } else if (kind < 0.8) {
          await send("POST /register (self)", "POST", "/register", {
            headers: pub,
            body: {
              email: `${uniq("self")}@example.test`,
              groupName: "patients",
              firstName: "Soak",
              lastName: "Self",
            },
          });
        } else {
          // Anonymous re-registration of an existing email: refused, nothing created (README, Security decisions).
          await send("POST /register (existing, anonymous)", "POST", "/register", {
            headers: pub,
            body: {
              email: pick(records).patient.user.emails[0].value,
              groupName: "patients",
              firstName: "Soak",
              lastName: "Member",
            },
            expect: [401],
          });
        }
      },
    },
    {
      name: "record write",
      weight: 14,
      pool: writers,
      async run(w) {
        for (let attempt = 0; attempt < 2; attempt++) {
          const value = `${w.field}-${++seq}`;
          const r = await send("PUT /records/:id", "PUT", `/records/${w.rec.id}`, {
            headers: { ...w.headers, "If-Match": `"${w.known}"` },
            body: { [w.field]: value },
            expect: [200, 412],
          });
          if (r.status === 200) {
            w.rec.writes.push({ version: r.json.version, field: w.field, value, state: r.json });
            w.known = r.json.version;
            return;
          }
          if (r.status !== 412) return;
          w.known = Number(JSON.parse(r.headers.get("etag") ?? '"0"'));
        }
      },
    },
    {
      name: "record read",
      weight: 4,
      pool: writers,
      async run(w) {
        const [route, path] = pick([
          ["GET /records/:id", `/records/${w.rec.id}`],
          ["GET /records/:id/history", `/records/${w.rec.id}/history?limit=20`],
        ]);
        const r = await send(route, "GET", path, { headers: w.headers });
        if (route === "GET /records/:id" && r.status === 200) w.known = Math.max(w.known, r.json.version);
      },
    },
  ];
  const totalWeight = mix.reduce((n, m) => n + m.weight, 0);
  const chooseAction = () => {
    let x = Math.random() * totalWeight;
    for (const m of mix) {
      x -= m.weight;
      if (x < 0) return m;
    }
    return mix[0];
  };

  // ---------- the run ----------

  let shed = 0;
  let actions = 0;
  let inFlight = 0;
  const running = new Set();
  const launch = (fn) => {
    if (inFlight >= MAX_IN_FLIGHT || requests >= MAX_REQUESTS) {
      shed++;
      return;
    }
    actions++;
    inFlight++;
    const p = fn()
      .catch((e) =>
        unexpected.push({ route: "client", status: "exception", expected: [], body: String(e?.stack ?? e) }),
      )
      .finally(() => {
        inFlight--;
        running.delete(p);
      });
    running.add(p);
  };
  const actionOf = (m) => async () => {
    if (!m.pool) return m.run();
    const x = take(m.pool);
    if (!x) {
      shed++;
      return;
    }
    try {
      await m.run(x);
    } finally {
      x.busy = false;
    }
  };
  const heartbeat = (vu) => async () => {
    if (vu.busy) return; // its own request is under way: the next beat comes at the next period
    vu.busy = true;
    try {
      await ensureSignedIn(vu);
      await send("POST /api_v3/users/alive", "POST", "/api_v3/users/alive", {
        headers: asUser(vu),
        body: {},
      });
    } finally {
      vu.busy = false;
    }
  };

  loadStart = performance.now();
  await sampleHeap("start");
  await sleep(2000); // the snapshot's own work settles before the load starts
  loadStart = performance.now();
  phase = "load";
  log(
    `load: ${LOAD_SECONDS} s at ${RATE} actions/s + ${ONLINE} patients' heartbeats every ${HEARTBEAT_EVERY} s; ${sockets.length} live sockets`,
  );
  const nextBeat = online.map((_, i) => (i * HEARTBEAT_EVERY * 1000) / online.length);
  let arrivals = 0;
  let lateSocketsOpen = false;
  let signedOutSockets = false;
  let nextHeap = HEAP_EVERY * 1000;
  while (true) {
    const t = performance.now() - loadStart;
    if (t >= LOAD_SECONDS * 1000) break;
    const due = Math.floor((t / 1000) * RATE);
    while (arrivals < due) {
      arrivals++;
      launch(actionOf(chooseAction()));
    }
    for (let i = 0; i < online.length; i++) {
      if (t >= nextBeat[i]) {
        nextBeat[i] += HEARTBEAT_EVERY * 1000;
        launch(heartbeat(online[i]));
      }
    }
    // Sockets opened mid-run must see every version written after they connected.
    if (!lateSocketsOpen && t >= LOAD_SECONDS * 400) {
      lateSocketsOpen = true;
      for (const rec of records) connect(rec, rec.physician, "physician, opened mid-run");
    }
    if (!signedOutSockets && t >= LOAD_SECONDS * 600) {
      signedOutSockets = true;
      // Not an arrival of the mix: never shed.
      for (const e of ending) {
        const p = send("POST /api_v3/users/logout", "POST", "/api_v3/users/logout", {
          headers: { "X-ApiToken": e.token },
        }).finally(() => running.delete(p));
        running.add(p);
      }
    }
    if (t >= nextHeap) {
      nextHeap += HEAP_EVERY * 1000;
      sampleHeap("load").catch((e) => log(`heap sample: ${e.message}`));
    }
    await sleep(10);
  }
  log(`arrivals stopped; waiting for ${running.size} actions`);
  await Promise.all([...running]);
  phase = "check";
  log("answered; reading the records");
  const loadSeconds = (performance.now() - loadStart) / 1000;
  // The sockets' last messages: every record's final version reaches its open sockets.
  const finals = new Map();
  for (const rec of records) {
    const r = await must("GET /__bench/record", "GET", `/__bench/record?c=${clinicId}&p=${rec.id}`);
    finals.set(rec, r);
  }
  for (let i = 0; i < 300; i++) {
    const waiting = sockets.filter(
      (s) =>
        !s.closed &&
        !ending.some((e) => e.socket === s) &&
        (s.states.at(-1)?.version ?? -1) < finals.get(s.rec).state.version,
    );
    if (!waiting.length) break;
    await sleep(10);
  }
  log("sockets drained; heap");
  await sampleHeap("end");
  cdp.close();
  log(`load done: ${requests} requests in ${loadSeconds.toFixed(1)} s; checking the stores…`);

  // ---------- invariants ----------

  const checks = [];
  const check = (name, ok, detail = "") => checks.push({ name, ok: Boolean(ok), detail });

  // Statuses.
  const fivexx = [...routes, ...others].flatMap(([route, r]) =>
    Object.entries(r.statuses).flatMap(([s, n]) => (Number(s) >= 500 ? [`${route} ${s} ×${n}`] : [])),
  );
  check("no response 500-599", fivexx.length === 0, fivexx.join("; "));
  check(
    "every 4xx (and every other status) is one the scenario expected",
    unexpected.length === 0,
    unexpected
      .slice(0, 8)
      .map((u) => `${u.route}: ${u.status} (expected ${u.expected.join("/")}) ${u.body ?? ""}`)
      .join(" | "),
  );

  // Refresh tokens: none accepted twice (client and store), every reuse revoked its family.
  const chains = await db
    .prepare(
      `SELECT session_id, sum(used_at IS NULL) AS live, count(*) AS n, count(DISTINCT replaced_by) AS successors,
              sum(used_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM refresh_tokens s WHERE s.token_hash = r.replaced_by AND s.session_id = r.session_id)) AS orphans
       FROM refresh_tokens r WHERE clinic_id = ? GROUP BY session_id
       HAVING live > 1 OR successors != n - live OR orphans > 0`,
    )
    .bind(clinicId)
    .all();
  check(
    "no refresh token accepted twice (one successor each, one live token per family)",
    refreshTwice.length === 0 && chains.results.length === 0,
    `${refreshTwice.length} twice; ${chains.results.length} families broken ${JSON.stringify(chains.results.slice(0, 2))}`,
  );
  const notRevoked = [];
  for (const r of reused) {
    const row = await db
      .prepare(
        "SELECT s.revoked_at FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE t.token_hash = ?",
      )
      .bind(sha256(r.token))
      .first();
    const me = await send("GET /api_v3/me (revoked family)", "GET", "/api_v3/me", {
      headers: { "X-ApiToken": r.access },
      expect: [401],
    });
    const again = await send(
      "POST /api_v3/tokens/refresh (revoked family)",
      "POST",
      "/api_v3/tokens/refresh",
      {
        headers: pub,
        body: { refresh_token: r.refresh },
        expect: [401],
      },
    );
    if (!row?.revoked_at || me.status !== 401 || again.status !== 401) notRevoked.push(r.token.slice(0, 6));
  }
  check(
    `every reused refresh token revoked its family (${reused.length} reuses)`,
    notRevoked.length === 0,
    notRevoked.join(","),
  );
  const signedOutAlive = [];
  for (const [, token] of lastAccess) {
    const r = await send("GET /api_v3/me (signed out)", "GET", "/api_v3/me", {
      headers: { "X-ApiToken": token },
      expect: [401],
    });
    if (r.status !== 401) signedOutAlive.push(token.slice(0, 6));
  }
  check(
    `signed-out tokens stay refused (${lastAccess.size})`,
    signedOutAlive.length === 0,
    signedOutAlive.join(","),
  );

  // Single-use codes and the outbox.
  const twice = [...codes].filter(([, n]) => n > 1);
  const codeRows = await db
    .prepare(
      "SELECT count(*) AS n FROM codes WHERE clinic_id = ? AND used_at IS NOT NULL AND used_at > expires_at",
    )
    .bind(clinicId)
    .first();
  check(
    `every single-use code redeemed at most once (${codes.size} redeemed)`,
    twice.length === 0 && codeRows.n === 0,
    `${twice.length} twice, ${codeRows.n} used after expiry`,
  );
  const t = Math.floor(Date.now() / 1000);
  const outbox = await db
    .prepare(
      `SELECT status, count(*) AS n,
              sum(CASE WHEN status = 'sent' AND sent_at IS NULL THEN 1
                       WHEN status = 'pending' AND next_attempt_at IS NULL THEN 1
                       WHEN status = 'sending' AND (claimed_until IS NULL OR claimed_until < ?2 - 3600) THEN 1
                       WHEN status NOT IN ('sent', 'pending', 'sending') THEN 1 ELSE 0 END) AS bad
       FROM outbox WHERE clinic_id = ?1 GROUP BY status`,
    )
    .bind(clinicId, t)
    .all();
  const lost = [];
  for (const email of signups) {
    const n = await db
      .prepare(
        "SELECT count(*) AS n FROM outbox WHERE clinic_id = ? AND recipient = ? AND template = 'email_verification'",
      )
      .bind(clinicId, email)
      .first();
    if (n.n !== 1) lost.push(email);
  }
  const outboxBad = outbox.results.reduce((n, r) => n + r.bad, 0);
  check(
    `outbox: every message delivered or pending with its retry time, none lost (${outbox.results.map((r) => `${r.n} ${r.status}`).join(", ")})`,
    outboxBad === 0 && lost.length === 0,
    `${outboxBad} in a wrong state; ${lost.length} signups without exactly one verification message`,
  );

  // User counts and the search index.
  const counts = await db
    .prepare(
      `SELECT u.clinic_id, u.type, count(*) AS actual, (SELECT n FROM user_counts c WHERE c.clinic_id = u.clinic_id AND c.type = u.type) AS kept
       FROM users u GROUP BY u.clinic_id, u.type`,
    )
    .all();
  const countRows = counts.results.filter((r) => r.actual !== r.kept);
  const extraCounts = await db
    .prepare(
      "SELECT count(*) AS n FROM user_counts c WHERE n != (SELECT count(*) FROM users u WHERE u.clinic_id = c.clinic_id AND u.type = c.type)",
    )
    .first();
  check(
    `user counts per type equal COUNT(*) (${counts.results
      .filter((r) => r.clinic_id === clinicId)
      .map((r) => `${r.type}: ${r.actual}`)
      .join(", ")})`,
    countRows.length === 0 && extraCounts.n === 0,
    JSON.stringify(countRows.slice(0, 3)),
  );
  const fts = await db
    .prepare(
      `SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM users_fts) AS indexed,
              (SELECT count(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM users_fts f WHERE f.rowid = u.id
                 AND f.full_name = trim(u.first_name || ' ' || u.last_name) AND f.email = coalesce(u.email, ''))) AS stale`,
    )
    .first();
  check(
    `the search index matches the users table (${fts.users} users, ${fts.indexed} indexed)`,
    fts.users === fts.indexed && fts.stale === 0,
    `${fts.stale} rows stale or missing`,
  );

  // The server stops here: workerd reports a close it initiated (4003 on a sign-out) to a Node client only
  // when the connection ends, so the sockets' close codes are read once it has been disposed.
  await stopServer();
  for (let i = 0; i < 200 && sockets.some((x) => !x.closed); i++) await sleep(10);

  // Care records: every acknowledged write in the record and its history, versions strictly increasing,
  // no field lost; every socket saw every version after it connected.
  const recordProblems = [];
  let acknowledged = 0;
  for (const rec of records) {
    const { state, history } = finals.get(rec);
    const byVersion = new Map(history.map((h) => [h.version, h]));
    const versions = history.map((h) => h.version);
    const sorted = [...versions].sort((a, b) => a - b);
    if (
      new Set(versions).size !== versions.length ||
      sorted.some((v, i) => v !== i + 1) ||
      (sorted.at(-1) ?? 0) !== state.version
    )
      recordProblems.push(
        `record ${rec.id}: history versions ${sorted.slice(0, 5).join(",")}… are not 1..${state.version}`,
      );
    const writes = [...rec.writes].sort((a, b) => a.version - b.version);
    acknowledged += writes.length;
    if (writes.length !== history.length)
      recordProblems.push(
        `record ${rec.id}: ${writes.length} acknowledged writes, ${history.length} history entries`,
      );
    // The state at each version, rebuilt from the acknowledged writes alone.
    const at = new Map([[0, { version: 0 }]]);
    let current = { version: 0 };
    for (const w of writes) {
      const h = byVersion.get(w.version);
      if (h?.fields.length !== 1 || h.fields[0] !== w.field)
        recordProblems.push(`record ${rec.id}: write v${w.version} (${w.field}) not in the history as such`);
      current = { ...current, [w.field]: w.value, version: w.version };
      at.set(w.version, current);
      if (JSON.stringify(sortKeys(w.state)) !== JSON.stringify(sortKeys(current)))
        recordProblems.push(
          `record ${rec.id}: the answer of v${w.version} is not the state rebuilt from the writes`,
        );
    }
    if (JSON.stringify(sortKeys(state)) !== JSON.stringify(sortKeys(current)))
      recordProblems.push(
        `record ${rec.id}: stored state ${JSON.stringify(state).slice(0, 120)} lost a field`,
      );
    for (const s of sockets.filter((x) => x.rec === rec)) {
      const seen = s.states.map((x) => x.version);
      const from = seen[0];
      if (from === undefined) {
        if (!s.closed || ![4001, 4003, 4004].includes(s.closed.code))
          recordProblems.push(
            `record ${rec.id}: socket (${s.label}) received nothing (${JSON.stringify(s.closed)})`,
          );
        continue;
      }
      const expected = Array.from({ length: state.version - from + 1 }, (_, i) => from + i);
      const documentedClose = s.closed && [4001, 4003, 4004].includes(s.closed.code);
      const complete = documentedClose
        ? seen.every((v, i) => v === expected[i])
        : JSON.stringify(seen) === JSON.stringify(expected);
      if (!complete)
        recordProblems.push(
          `record ${rec.id}: socket (${s.label}) saw ${seen.length} versions ${from}..${seen.at(-1)}, expected ${from}..${state.version}${s.closed ? ` (closed ${s.closed.code})` : ""}`,
        );
      for (const st of s.states) {
        const want = at.get(st.version);
        if (want && JSON.stringify(sortKeys(st)) !== JSON.stringify(sortKeys(want)))
          recordProblems.push(
            `record ${rec.id}: socket (${s.label}) v${st.version} differs from the written state`,
          );
      }
    }
  }
  check(
    "care records: every acknowledged write in the record and its history, versions 1..n, no field lost",
    recordProblems.filter((p) => !p.includes("socket")).length === 0,
    recordProblems
      .filter((p) => !p.includes("socket"))
      .slice(0, 5)
      .join(" | "),
  );
  check(
    "live sockets: every version after connecting (or a documented close)",
    recordProblems.filter((p) => p.includes("socket")).length === 0,
    recordProblems
      .filter((p) => p.includes("socket"))
      .slice(0, 5)
      .join(" | "),
  );
  const endedOk = ending.every((e) => e.socket.closed?.code === 4003);
  check(
    "sockets of a session signed out mid-run closed with 4003",
    endedOk,
    ending.map((e) => JSON.stringify(e.socket.closed)).join(" "),
  );

  // Memory: the isolate's heap after a forced GC, at the start, during and at the end of the load.
  // Judged on the two after-GC figures; the slope of the samples under load (no GC) is reported beside them.
  const first = heap[0].usedMiB;
  const last = heap.at(-1).usedMiB;
  const slope = linearSlope(heap.filter((h) => h.phase === "load").map((h) => [h.t / 60, h.usedMiB])); // MiB/min
  const grew = last > first * 1.5 && last - first > 16;
  check(
    `isolate heap: no growth trend (${first} MiB at the start, ${last} MiB at the end, ${slope.toFixed(2)} MiB/min)`,
    !grew,
    grew ? "grew by more than 50% and 16 MiB" : "",
  );

  // ---------- report ----------

  const pct = (xs, p) => {
    if (!xs.length) return 0;
    const s = [...xs].sort((a, b) => a - b);
    return +s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)].toFixed(1);
  };
  const table = [...routes]
    .filter(([route]) => !route.startsWith("GET /__bench"))
    .map(([route, r]) => ({
      route,
      requests: r.ms.length,
      statuses: r.statuses,
      p50: pct(r.ms, 50),
      p99: pct(r.ms, 99),
    }))
    .sort((a, b) => b.requests - a.requests);
  const allMs = [...routes].flatMap(([, r]) => r.ms);
  const statusTotals = {};
  for (const [, r] of routes)
    for (const [s, n] of Object.entries(r.statuses)) statusTotals[s] = (statusTotals[s] ?? 0) + n;
  const workerdVersion = JSON.parse(
    readFileSync(wranglerRequire.resolve("workerd/package.json"), "utf8"),
  ).version;
  const report = {
    date: new Date().toISOString(),
    mode: quick ? "quick" : "full",
    machine: {
      cpu: os.cpus()[0]?.model,
      cores: os.cpus().length,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    },
    node: process.version,
    workerd: workerdVersion,
    method: {
      loadSeconds: LOAD_SECONDS,
      actionsPerSecond: RATE,
      onlinePatients: ONLINE,
      heartbeatEverySeconds: HEARTBEAT_EVERY,
      users: USERS,
      records: RECORDS,
      liveSockets: sockets.length,
      maxInFlight: MAX_IN_FLIGHT,
      maxRequests: MAX_REQUESTS,
    },
    totals: {
      requests,
      actions,
      shed,
      requestsPerSecond: +(requests / loadSeconds).toFixed(1),
      statuses: statusTotals,
      p50: pct(allMs, 50),
      p99: pct(allMs, 99),
      acknowledgedRecordWrites: acknowledged,
      refreshRotations: refreshAccepted.size,
      refreshReuses: reused.length,
      codesRedeemed: codes.size,
      signups: signups.length,
    },
    heap,
    routes: table,
    invariants: checks,
    seconds: Math.round((performance.now() - started) / 1000),
  };
  const file = quick
    ? join(root, "bench", ".work", "soak.quick.json")
    : join(root, "bench", "soak-results.json");
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);

  const pad = (v, n) => String(v).padStart(n);
  console.log(
    `\nClinic Edge soak (${report.mode}, ${LOAD_SECONDS} s of load) — ${report.machine.cpu}, ${report.machine.cores} cores, node ${process.version}, workerd ${workerdVersion}`,
  );
  console.log(
    `${requests} requests (${report.totals.requestsPerSecond}/s), ${actions} actions, ${shed} shed; statuses ${JSON.stringify(statusTotals)}; p50 ${report.totals.p50} ms, p99 ${report.totals.p99} ms`,
  );
  console.log(
    `isolate heap: ${heap[0].usedMiB} MiB at the start (after GC), ${heap
      .filter((h) => h.phase === "load")
      .map((h) => h.usedMiB)
      .join(" → ")} under load, ${heap.at(-1).usedMiB} MiB at the end (after GC)\n`,
  );
  console.log(
    `${"route".padEnd(44)} ${pad("requests", 8)} ${pad("p50 ms", 7)} ${pad("p99 ms", 7)}  statuses`,
  );
  for (const r of table)
    console.log(
      `${r.route.padEnd(44)} ${pad(r.requests, 8)} ${pad(r.p50, 7)} ${pad(r.p99, 7)}  ${Object.entries(
        r.statuses,
      )
        .map(([s, n]) => `${s}×${n}`)
        .join(" ")}`,
    );
  console.log("\ninvariant".padEnd(100), "result");
  for (const c of checks)
    console.log(`${c.name.slice(0, 98).padEnd(99)} ${c.ok ? "ok" : `FAILED ${c.detail}`}`);
  console.log(`\nwritten to ${file.slice(root.length + 1)} (${report.seconds} s in all)`);
  const failed = checks.filter((c) => !c.ok);
  if (failed.length) console.error(`[soak] ${failed.length} invariant(s) failed`);
  return failed.length ? 1 : 0;
}

function sortKeys(o) {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

/** Least-squares slope of y over x. */
function linearSlope(points) {
  if (points.length < 2) return 0;
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const num = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const den = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return den ? num / den : 0;
}
