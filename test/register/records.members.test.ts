/** Care teams: adding members (consent), listing them, and removal ending access at once. */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  type CareRecord,
  CLOSE_MEMBER_REMOVED,
  CLOSE_SESSION_ENDED,
} from "../../src/durable-objects/care-record";
import { scheduledRun } from "../../src/index";
import { recordOf } from "../../src/services/care";
import { ADMIN_AUTH, call, createClinic, env, json } from "../helpers";
import { addToTeam, as, careTeam, clinicIdOf, connect, idOf, otherUser, registerAs, state } from "./support";

describe("POST/GET /records/:patientId/members", () => {
  it("the patient adds a physician by email and an insurer by id; adding again changes nothing", async () => {
    const clinic = await createClinic();
    const patient = await registerAs(clinic, "patients");
    const physician = await registerAs(clinic, "physicians", { firstName: "Gregory", lastName: "House" });
    const insurer = await registerAs(clinic, "insurers");
    const path = `/records/${patient.body.user.id}/members`;
    const byEmail = await as("POST", path, patient, { json: { email: physician.email.toUpperCase() } });
    expect(byEmail.status).toBe(200);
    expect(await json(byEmail)).toEqual({
      member: {
        user_id: physician.body.user.id,
        group: "physicians",
        name: { formatted: "Gregory House", familyName: "House", givenName: "Gregory" },
        added_by: patient.body.user.id,
        added_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      },
      added: true,
    });
    const byId = await as("POST", path, patient, { form: { userId: insurer.body.user.id } });
    expect((await json<{ added: boolean }>(byId)).added).toBe(true);
    const again = await as("POST", path, patient, { multipart: { userId: insurer.body.user.id } });
    expect(await json(again)).toMatchObject({ added: false, member: { user_id: insurer.body.user.id } });

    const team = await json<{ patient_id: string; members: { user_id: string; group: string }[] }>(
      await as("GET", path, physician),
    );
    expect(team.patient_id).toBe(patient.body.user.id);
    expect(team.members.map((m) => [m.user_id, m.group])).toEqual([
      [physician.body.user.id, "physicians"],
      [insurer.body.user.id, "insurers"],
    ]);
    // The physician sees the record now.
    expect((await as("GET", `/records/${patient.body.user.id}`, physician)).status).toBe(200);
  });

  it("only physicians and insurers of the clinic join, with one answer for every other case", async () => {
    const clinic = await createClinic();
    const patient = await registerAs(clinic, "patients");
    const otherPatient = await registerAs(clinic, "patients");
    const elsewhere = await registerAs(await createClinic(), "physicians");
    const admin = await otherUser(clinic, 150);
    const path = `/records/${patient.body.user.id}/members`;
    for (const body of [
      { userId: otherPatient.body.user.id },
      { userId: patient.body.user.id },
      { userId: elsewhere.body.user.id },
      { userId: admin.id },
      { email: elsewhere.email },
      { email: "nobody@example.test" },
      { userId: "999999999" },
    ]) {
      const res = await as("POST", path, patient, { json: body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(await json(res)).toEqual({
        error: "Only physicians and insurers of this clinic can join a care team",
      });
    }
    const neither = await as("POST", path, patient, { json: {} });
    expect(neither.status).toBe(400);
    expect(await json(neither)).toEqual({
      error: "Invalid request body",
      errors: [{ param: "body", message: "send exactly one of userId, email" }],
    });
    const extra = await as("POST", path, patient, { json: { userId: "1", role: "admin" } });
    expect(extra.status).toBe(400);
  });

  it("clinic admins and the clinic's server add and remove members", async () => {
    const clinic = await createClinic();
    const patient = await registerAs(clinic, "patients");
    const physician = await registerAs(clinic, "physicians");
    const admin = await otherUser(clinic, 100);
    const path = `/records/${patient.body.user.id}/members`;
    const added = await as("POST", path, admin.auth, { json: { userId: physician.body.user.id } });
    expect(await json(added)).toMatchObject({ added: true, member: { added_by: admin.id } });
    const removed = await call("DELETE", `${path}/${physician.body.user.id}`, { headers: clinic.server });
    expect(await json(removed)).toEqual({ removed: true, user_id: physician.body.user.id });
    const gone = await call("DELETE", `${path}/${physician.body.user.id}`, { headers: clinic.server });
    expect(gone.status).toBe(404);
    expect(await json(gone)).toEqual({ error: "No such member of this care team" });
    await addToTeam(clinic, patient, physician);
    await addToTeam(clinic, patient, physician);
    // One audit row per change: the second add and the refused removal wrote none.
    const { results } = await env.DB.prepare(
      "SELECT actor_user_id, details FROM audit_log WHERE clinic_id = ? AND event = 'care_team_change' ORDER BY id",
    )
      .bind(await clinicIdOf(clinic.code))
      .all<{ actor_user_id: number | null; details: string }>();
    expect(
      results.map((r) => {
        const d = JSON.parse(r.details) as Record<string, unknown>;
        return [r.actor_user_id, d.action, d.member, d.via];
      }),
    ).toEqual([
      [Number(admin.id), "add", Number(physician.body.user.id), "admin"],
      [null, "remove", Number(physician.body.user.id), "server"],
      [null, "add", Number(physician.body.user.id), "server"],
    ]);
    const team = await json<{ members: { added_by: string | null }[] }>(
      await call("GET", path, { headers: clinic.server }),
    );
    expect(team.members).toMatchObject([{ added_by: null }]);
  });
});

describe("DELETE /records/:patientId/members/:userId", () => {
  it("ends the member's access at once: the next request is 403 and their live socket closes (4004)", async () => {
    const { clinic, patient, physician, insurer } = await careTeam();
    const id = patient.body.user.id;
    const live = await connect(`/records/${id}/live`, physician.auth);
    const insurerLive = await connect(`/records/${id}/live`, insurer.auth);
    await live.until(1);
    await insurerLive.until(1);
    expect((await as("GET", `/records/${id}`, physician)).status).toBe(200);

    const res = await as("DELETE", `/records/${id}/members/${physician.body.user.id}`, patient);
    expect(res.status).toBe(200);
    await live.until(2);
    expect(live.closed()).toMatchObject({ code: CLOSE_MEMBER_REMOVED });
    expect(insurerLive.closed()).toBeUndefined();

    for (const [method, path, opts] of [
      ["GET", `/records/${id}`, {}],
      ["PUT", `/records/${id}`, { json: { prescription: "after removal" } }],
      ["GET", `/records/${id}/history`, {}],
      ["GET", `/state?patient=${id}`, {}],
      ["GET", "/state", {}],
    ] as const) {
      const after = await as(method, path, physician, opts);
      expect(after.status, `${method} ${path}`).toBe(method === "GET" && path === "/state" ? 404 : 403);
    }
    const reopen = await call("GET", `/records/${id}/live`, {
      headers: { ...physician.auth, Upgrade: "websocket" },
    });
    expect(reopen.status).toBe(403);
    const list = await json<{ records: unknown[] }>(await as("GET", "/records", physician));
    expect(list.records).toEqual([]);
    // The insurer still follows the record.
    await as("PUT", `/records/${id}`, patient, {
      json: { medical_history: "still shared with the insurer" },
    });
    expect((await insurerLive.until(2))[1]?.state).toMatchObject({
      medical_history: "still shared with the insurer",
    });
    insurerLive.ws.close(1000);

    // Added again (consent given again), the physician is back.
    await addToTeam(clinic, patient, physician);
    expect((await as("GET", `/records/${id}`, physician)).status).toBe(200);
  });

  it("the record's object refuses a removed member even when the D1 check let the request through", async () => {
    const { clinic, patient, physician } = await careTeam();
    const stub = recordOf(env, await clinicIdOf(clinic.code), idOf(patient));
    await stub.removeMember(idOf(physician));
    // D1 still lists the member (the race: checked just before the removal): the object refuses anyway.
    const res = await as("GET", `/records/${patient.body.user.id}`, physician);
    expect(res.status).toBe(403);
    const put = await as("PUT", `/records/${patient.body.user.id}`, physician, {
      json: { prescription: "x" },
    });
    expect(put.status).toBe(403);
    const inside = await runInDurableObject(stub, (_o: CareRecord, ctx) =>
      ctx.storage.sql.exec("SELECT count(*) AS n FROM audit").one(),
    );
    expect(inside.n).toBe(0);
  });

  it("the patient cannot be removed from their own team", async () => {
    const { patient } = await careTeam();
    const res = await as(
      "DELETE",
      `/records/${patient.body.user.id}/members/${patient.body.user.id}`,
      patient,
    );
    expect(res.status).toBe(404);
    expect((await as("GET", `/records/${patient.body.user.id}`, patient)).status).toBe(200);
  });
});

describe("ending a session closes its sockets on per-patient records", () => {
  it("disabling the physician closes their socket on the patient's record (4003)", async () => {
    const { clinic, patient, physician } = await careTeam();
    const live = await connect(`/records/${patient.body.user.id}/live`, physician.auth);
    const own = await connect("/state/live", patient.auth);
    await live.until(1);
    await own.until(1);
    const res = await call("PATCH", `/admin/clinics/${clinic.code}/users/${physician.body.user.id}`, {
      headers: ADMIN_AUTH,
      json: { disabled: true },
    });
    expect(res.status).toBe(200);
    await live.until(2);
    expect(live.closed()).toMatchObject({ code: CLOSE_SESSION_ENDED });
    expect(own.closed()).toBeUndefined();
    // Disabling the clinic closes the patient's socket on their own record.
    await call("PATCH", `/admin/clinics/${clinic.code}`, { headers: ADMIN_AUTH, json: { disabled: true } });
    await own.until(2);
    expect(own.closed()).toMatchObject({ code: CLOSE_SESSION_ENDED });
    // Refused at once: 403 while the token's KV copy awaits the sweep, 401 after it.
    expect([401, 403]).toContain((await state("GET", patient)).status);
  });
});

describe("care_live", () => {
  it("the cron run forgets the records of expired sessions, and keeps live ones", async () => {
    const { patient, physician } = await careTeam();
    const live = await connect(`/records/${patient.body.user.id}/live`, physician.auth);
    await live.until(1);
    const rows = async () =>
      (
        await env.DB.prepare(
          "SELECT l.session_id FROM care_live l JOIN sessions s ON s.id = l.session_id WHERE s.user_id = ?",
        )
          .bind(idOf(physician))
          .all()
      ).results.length;
    expect(await rows()).toBe(1);
    await scheduledRun(env);
    expect(await rows()).toBe(1);
    await env.DB.prepare("UPDATE sessions SET expires_at = 1 WHERE user_id = ?").bind(idOf(physician)).run();
    await scheduledRun(env);
    expect(await rows()).toBe(0);
    live.ws.close(1000);
  });
});

describe("adding by email", () => {
  it("is rate-limited per client for patients (it tells whether an email is a physician's), not for the server", async () => {
    const { clinic, patient } = await careTeam();
    const path = `/records/${patient.body.user.id}/members`;
    const ip = { "cf-connecting-ip": "10.250.1.1" };
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++) {
      const res = await as("POST", path, patient, { headers: ip, json: { email: `probe${i}@example.test` } });
      statuses.push(res.status);
      if (res.status === 429) {
        expect(res.headers.get("Retry-After")).toBe("60");
        expect(await json(res)).toEqual({ error: "Too many requests, try again later" });
        break;
      }
    }
    expect(statuses.at(-1)).toBe(429);
    expect(statuses.slice(0, -1).every((s) => s === 400)).toBe(true);
    const server = await call("POST", path, {
      headers: { ...clinic.server, ...ip },
      json: { email: "probe-server@example.test" },
    });
    expect(server.status).toBe(400);
  }, 60_000);
});
