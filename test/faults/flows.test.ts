/**
 * Storage faults in every multi-step flow: a fault is injected at each storage call of the flow in turn.
 * The client gets a clean 503 (Retry-After) or 500 in its family's shape, never a half-written state, and
 * the same request sent again afterwards succeeds once. Logs on the error path carry no secrets.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { scheduledRun } from "../../src/index";
import { deliverDue, queuedIds, queueMessage } from "../../src/services/outbox";
import {
  buildRequest,
  type CallOptions,
  call,
  clock,
  createClinic,
  env,
  json,
  type TestClinic,
  uniq,
} from "../helpers";
import { registerAs } from "../register/support";
import { setPassword, sso } from "../vsee/fixtures";
import { type Fault, faulty, fetchWith, type Op } from "./inject";

afterEach(() => {
  clock.reset();
  vi.restoreAllMocks();
});

// Each test runs its flow once per storage call (a fresh clinic each time): longer than one request.
vi.setConfig({ testTimeout: 120_000 });

interface Flow<W> {
  /** A fresh world for one attempt (its own clinic and users). */
  setup(): Promise<W>;
  request(w: W): { method: string; path: string; opts: CallOptions };
  /** What the flow changes, read from the stores directly (compared before, after a failure, after the retry). */
  snapshot(w: W): Promise<unknown>;
  /** Checks the successful retry's answer (and the state once). */
  done?(w: W, res: Response, body: unknown): Promise<void> | void;
  /** The family's error shape for a 5xx. */
  shape: "vsee" | "accounts" | "register" | "admin";
}

function expectShape(shape: Flow<unknown>["shape"], status: number, body: Record<string, unknown>) {
  if (shape === "vsee") expect(body).toMatchObject({ code: status, message: expect.any(String) });
  if (shape === "accounts") expect(body).toMatchObject({ code: status, name: expect.any(String) });
  if (shape === "register") expect(body).toMatchObject({ error: expect.any(String) });
  if (shape === "admin") expect(body).toMatchObject({ code: status, error: expect.any(String) });
  expect(JSON.stringify(body)).not.toMatch(/D1_ERROR|KV (GET|PUT)|Durable Object|stack|at /);
}

/** Secrets and personal data that must never reach a log line on the error path. */
const SECRET = /[0-9a-f]{32}|eyJ[\w-]+\.|ce_[0-9a-f]{20,}|@example\.test|\$argon2/;

/**
 * Runs `flow` once without faults to learn its storage calls and the state it leaves, then once per call
 * with that call failing: the state after the failure is the state before or the whole change, never a
 * part; the same request again, with storage healthy, succeeds and leaves the whole change once.
 */
async function eachStep<W>(flow: Flow<W>, fault: Omit<Fault, "nth"> = {}) {
  const w0 = await flow.setup();
  const f0 = faulty();
  const r0 = flow.request(w0);
  const res0 = await fetchWith(f0, buildRequest(r0.method, r0.path, r0.opts));
  expect(res0.status, await res0.clone().text()).toBeLessThan(300);
  const whole = JSON.stringify(await flow.snapshot(w0));
  const steps = f0.calls.filter((op) => matches(op, fault));
  expect(steps.length).toBeGreaterThan(0);
  const outcomes: { op: Op; status: number }[] = [];
  for (let nth = 0; nth < steps.length; nth++) {
    const op = steps[nth] as Op;
    const where = `${op.store} ${op.method} ${op.detail.slice(0, 80)}`;
    const w = await flow.setup();
    const before = JSON.stringify(await flow.snapshot(w));
    const lines: string[] = [];
    const capture = (...args: unknown[]) => lines.push(args.map(String).join(" "));
    const spies = [
      vi.spyOn(console, "log").mockImplementation(capture),
      vi.spyOn(console, "warn").mockImplementation(capture),
      vi.spyOn(console, "error").mockImplementation(capture),
    ];
    const { method, path, opts } = flow.request(w);
    const res = await fetchWith(faulty({ ...fault, nth }), buildRequest(method, path, opts));
    for (const spy of spies) spy.mockRestore();
    const text = await res.text();
    outcomes.push({ op, status: res.status });
    for (const line of lines) expect(line, where).not.toMatch(SECRET);
    const after = JSON.stringify(await flow.snapshot(w));
    if (res.status < 300) {
      // A call whose failure the flow tolerates (after-response work): the change is whole.
      expect(after, where).toBe(whole);
      continue;
    }
    expect([500, 503], `${where}: ${text}`).toContain(res.status);
    if (res.status === 503) expect(res.headers.get("retry-after"), where).toBe("1");
    expectShape(flow.shape, res.status, JSON.parse(text));
    expect([before, whole], `${where}: half-written`).toContain(after);
    const retried = await fetchWith(faulty(), buildRequest(method, path, opts));
    const body = await retried.text();
    expect(retried.status, `retry after ${where}: ${body}`).toBeLessThan(300);
    expect(JSON.stringify(await flow.snapshot(w)), `retry after ${where}`).toBe(whole);
    await flow.done?.(w, retried, JSON.parse(body));
  }
  return outcomes;
}

function matches(op: Op, fault: Omit<Fault, "nth">) {
  return (!fault.store || fault.store === op.store) && (!fault.match || fault.match.test(op.detail));
}

const count = async (sql: string, ...params: unknown[]) =>
  (
    await env.DB.prepare(sql)
      .bind(...params)
      .first<{ n: number }>()
  )?.n ?? 0;

const clinicId = async (clinic: TestClinic) =>
  (await env.DB.prepare("SELECT id FROM clinics WHERE code = ?").bind(clinic.code).first<{ id: number }>())
    ?.id as number;

describe("storage faults: SSO create (POST /api_v3/users/sso)", () => {
  it("at every D1, KV and Durable Object call: a clean 503, no half user, and the retry gives one user once", async () => {
    const code = "fault-patient";
    const outcomes = await eachStep<TestClinic>({
      shape: "vsee",
      setup: () => createClinic(),
      request: (clinic) => ({
        method: "POST",
        path: "/api_v3/users/sso.json",
        opts: { headers: clinic.server, json: { code, first_name: "Fay", last_name: "Ult", type: 200 } },
      }),
      snapshot: async (clinic) => {
        const id = await clinicId(clinic);
        return {
          users: await count("SELECT count(*) AS n FROM users WHERE clinic_id = ? AND code = ?", id, code),
          counts: await count("SELECT coalesce(sum(n), 0) AS n FROM user_counts WHERE clinic_id = ?", id),
          search: await count(
            "SELECT count(*) AS n FROM users_fts WHERE rowid IN (SELECT id FROM users WHERE clinic_id = ?)",
            id,
          ),
        };
      },
      done: async (clinic, _res, body) => {
        const id = await clinicId(clinic);
        expect(
          await count("SELECT count(*) AS n FROM users WHERE clinic_id = ? AND code = ?", id, code),
        ).toBe(1);
        const token = (body as { data: { token: { token: string } } }).data.token.token;
        const me = await call("GET", "/api_v3/me", {
          headers: { "X-ApiToken": token, "X-AccountCode": clinic.code },
        });
        expect(me.status).toBe(200);
      },
    });
    expect(outcomes.some((o) => o.status === 503)).toBe(true);
  });
});

describe("storage faults: care-record write (PUT /state)", () => {
  it("at every call: 503, the record unchanged or written once, and the retry writes it once", async () => {
    type W = { clinic: TestClinic; auth: Record<string, string> };
    await eachStep<W>({
      shape: "register",
      setup: async () => {
        const clinic = await createClinic();
        const patient = await registerAs(clinic, "patients");
        return { clinic, auth: patient.auth };
      },
      request: (w) => ({
        method: "PUT",
        path: "/state",
        opts: { headers: w.auth, json: { medical_history: "penicillin allergy" } },
      }),
      snapshot: async (w) => {
        const res = await call("GET", "/state", { headers: w.auth });
        return json(res);
      },
      done: async (w) => {
        const state = await json<{ medical_history?: string; version: number }>(
          await call("GET", "/state", { headers: w.auth }),
        );
        expect(state.medical_history).toBe("penicillin allergy");
        const history = await json<{ entries: { version: number }[] }>(
          await call("GET", "/state/history", { headers: w.auth }),
        );
        expect(history.entries.map((e) => e.version)).toEqual([state.version]);
      },
    });
  });
});

describe("storage faults: room assignment (POST /api_v3/users/:id/rooms)", () => {
  it("at every call: a clean 5xx, the user in the room or not, and the retry assigns once", async () => {
    type W = { clinic: TestClinic; userId: string; room: string };
    await eachStep<W>({
      shape: "vsee",
      setup: async () => {
        const clinic = await createClinic();
        const user = await sso(clinic, { type: "400", first_name: "Rita", last_name: "Room" });
        const slug = uniq("room");
        const res = await call("POST", "/api_v3/rooms.json", {
          headers: clinic.server,
          form: { slug, name: `Room ${slug}` },
        });
        const room = (await json<{ data: { code: string } }>(res)).data.code;
        return { clinic, userId: user.id, room };
      },
      request: (w) => ({
        method: "POST",
        path: `/api_v3/users/${w.userId}/rooms.json`,
        opts: { headers: w.clinic.server, form: { room_code: w.room } },
      }),
      snapshot: (w) => count("SELECT count(*) AS n FROM room_members WHERE user_id = ?", Number(w.userId)),
      done: async (w) => {
        const providers = await call("GET", `/api_v3/rooms/${w.room}/providers.json`, {
          headers: w.clinic.server,
        });
        const list = (await json<{ data: { id: string }[] }>(providers)).data;
        expect(list.filter((p) => String(p.id) === w.userId)).toHaveLength(1);
      },
    });
  });
});

describe("storage faults: clinic disable (PATCH /admin/clinics/:code)", () => {
  it("at every call: a clean 5xx; once disabled, every session of the clinic is refused; the retry disables once", async () => {
    type W = { clinic: TestClinic; token: string };
    await eachStep<W>({
      shape: "admin",
      setup: async () => {
        const clinic = await createClinic();
        const user = await sso(clinic);
        return { clinic, token: user.token };
      },
      request: (w) => ({
        method: "PATCH",
        path: `/admin/clinics/${w.clinic.code}`,
        opts: { headers: { authorization: `Bearer ${env.ADMIN_API_KEY}` }, json: { disabled: true } },
      }),
      snapshot: async (w) => {
        const disabled = await env.DB.prepare("SELECT disabled FROM clinics WHERE code = ?")
          .bind(w.clinic.code)
          .first<{ disabled: number }>();
        const live = await count(
          "SELECT count(*) AS n FROM sessions WHERE clinic_id = (SELECT id FROM clinics WHERE code = ?) AND revoked_at IS NULL",
          w.clinic.code,
        );
        // A sweep of the KV tokens that failed after the answer is made up by the next cron run.
        await scheduledRun(env);
        const me = await call("GET", "/api_v3/me", {
          headers: { "X-ApiToken": w.token, "X-AccountCode": w.clinic.code },
        });
        return { disabled: disabled?.disabled, live, me: me.status === 200 };
      },
      done: async (w) => {
        const me = await call("GET", "/api_v3/me", {
          headers: { "X-ApiToken": w.token, "X-AccountCode": w.clinic.code },
        });
        expect(me.status).not.toBe(200);
      },
    });
  });
});

describe("storage faults: refresh rotation (POST /api_v3/tokens/refresh)", () => {
  it("at every call: a clean 5xx, the old token spent with its successor or not at all, and the retry rotates once", async () => {
    type W = { clinic: TestClinic; refresh: string; userId: number };
    const tokens = (w: W) =>
      env.DB.prepare(
        "SELECT count(*) AS n, sum(used_at IS NULL) AS live FROM refresh_tokens WHERE user_id = ?",
      )
        .bind(w.userId)
        .first<{ n: number; live: number }>();
    await eachStep<W>({
      shape: "vsee",
      setup: async () => {
        const clinic = await createClinic();
        const user = await sso(clinic);
        return { clinic, refresh: user.refresh, userId: Number(user.id) };
      },
      request: (w) => ({
        method: "POST",
        path: "/api_v3/tokens/refresh.json",
        opts: { headers: { "X-AccountCode": w.clinic.code }, json: { refresh_token: w.refresh } },
      }),
      snapshot: async (w) => {
        const t = await tokens(w);
        const revoked = await count(
          "SELECT count(*) AS n FROM sessions WHERE user_id = ? AND revoked_at IS NOT NULL",
          w.userId,
        );
        return { tokens: t?.n, live: t?.live, revoked };
      },
      done: async (w, _res, body) => {
        const data = (body as { data: { token: string; refresh_token: { token: string } } }).data;
        const me = await call("GET", "/api_v3/me", {
          headers: { "X-ApiToken": data.token, "X-AccountCode": w.clinic.code },
        });
        expect(me.status).toBe(200);
      },
    });
  });
});

describe("storage faults: password change (POST /api_v3/me)", () => {
  it("at every call: the password and the end of the other sessions are one change; the retry changes it once", async () => {
    type W = {
      clinic: TestClinic;
      auth: Record<string, string>;
      other: Record<string, string>;
      userId: number;
    };
    await eachStep<W>({
      shape: "vsee",
      setup: async () => {
        const clinic = await createClinic();
        const user = await sso(clinic);
        await setPassword(user, "first password 1");
        const other = await sso(clinic, { code: user.code }); // a second session of the same user
        return { clinic, auth: user.auth, other: other.auth, userId: Number(user.id) };
      },
      request: (w) => ({
        method: "POST",
        path: "/api_v3/me.json",
        opts: { headers: w.auth, form: { password: "second password 2", old_password: "first password 1" } },
      }),
      snapshot: async (w) => {
        const row = await env.DB.prepare("SELECT password_hash FROM users WHERE id = ?")
          .bind(w.userId)
          .first<{ password_hash: string }>();
        const live = await count(
          "SELECT count(*) AS n FROM sessions WHERE user_id = ? AND revoked_at IS NULL",
          w.userId,
        );
        // KV tokens whose deletion failed after the answer are deleted by the next cron run.
        await scheduledRun(env);
        const other = await call("GET", "/api_v3/me", { headers: w.other });
        return { hashed: row?.password_hash.startsWith("$argon2id$"), live, other: other.status };
      },
      done: async (w) => {
        const headers = { "X-AccountCode": w.clinic.code };
        const me = await json<{ data: { username: string } }>(
          await call("GET", "/api_v3/me", { headers: w.auth }),
        );
        const login = await call("POST", "/api_v3/users/login", {
          headers,
          form: { username: me.data.username, password: "second password 2" },
        });
        expect(login.status).toBe(200);
      },
    });
  });
});

describe("storage faults: outbox claim and delivery", () => {
  it("a failure at any step loses no message: it is sent, or pending with its retry time, or claimed and re-claimed after the claim expires; sent once", async () => {
    clock.freeze();
    const probe = faulty();
    const first = await queueOne();
    await deliverDue(probe.env, { ids: [first] });
    const steps = probe.calls.length;
    expect(steps).toBeGreaterThanOrEqual(2); // the claim, then the mark
    for (let nth = 0; nth < steps; nth++) {
      const id = await queueOne();
      const sent: number[] = [];
      const sender = {
        async send(m: { id: number }) {
          sent.push(m.id);
        },
      };
      await deliverDue(faulty({ store: "d1", nth }).env, { ids: [id], sender }).catch(() => undefined);
      const row = await outboxRow(id);
      expect(["pending", "sending", "sent"]).toContain(row?.status);
      if (row?.status === "pending") expect(row.next_attempt_at).toBeGreaterThan(0);
      // Later runs (after the claim and any backoff expired) deliver what is left, and nothing twice after sent.
      clock.advance(3600);
      await deliverDue(env, { ids: [id], sender });
      expect((await outboxRow(id))?.status).toBe("sent");
      await deliverDue(env, { ids: [id], sender });
      // At least once: a failure after the provider accepted it but before the row was marked may send it again.
      expect(sent.filter((x) => x === id).length).toBeGreaterThanOrEqual(1);
      expect(sent.filter((x) => x === id).length).toBeLessThanOrEqual(2);
    }
  });
});

async function queueOne(): Promise<number> {
  const results = await env.DB.batch([
    queueMessage(env.DB, 1, "email", `${uniq("m")}@example.test`, "welcome", {
      clinicName: "Test Clinic",
      name: "Ann",
    }),
  ]);
  return queuedIds(results)[0] as number;
}

const outboxRow = (id: number) =>
  env.DB.prepare("SELECT status, next_attempt_at FROM outbox WHERE id = ?")
    .bind(id)
    .first<{ status: string; next_attempt_at: number }>();
