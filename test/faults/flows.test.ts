/**
 * Storage faults in every multi-step flow: a fault is injected at each storage call of the flow in turn.
 * The client gets a clean 503 (Retry-After) or 500 in its family's shape, never a half-written state, and
 * the same request sent again afterwards succeeds once. Logs on the error path carry no secrets.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { scheduledRun } from "../../src/index";
import { deliverDue, queuedIds, queueMessage } from "../../src/services/outbox";
import { call, clock, createClinic, env, json, type TestClinic, uniq } from "../helpers";
import { registerAs } from "../register/support";
import { setPassword, sso } from "../vsee/support";
import { faulty } from "./inject";
import { clinicId, count, eachStep } from "./steps";

afterEach(() => {
  clock.reset();
  vi.restoreAllMocks();
});

// Each test runs its flow once per storage call (a fresh clinic each time): longer than one request.
vi.setConfig({ testTimeout: 120_000 });

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
