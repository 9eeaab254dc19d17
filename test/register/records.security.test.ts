/**
 * Per-patient care records, as an attacker tries them: patient A never reaches patient B's record (every
 * route and the WebSocket, both modes), field permissions per group, members cannot add members, every
 * non-patient access is accounted for without values, and nothing clinic-wide reaches a self-registered
 * user by default.
 */
import { describe, expect, it } from "vitest";
import { CARE_FIELDS, type CareField, GROUP_DEFS, type Group } from "../../src/services/care";
import { call, callAndSettle, createClinic, env, json, type TestClinic } from "../helpers";
import {
  addToTeam,
  as,
  careTeam,
  clinicIdOf,
  connect,
  otherUser,
  person,
  type Registered,
  registerAs,
  sharedClinic,
  state,
} from "./support";

/** Every route of B's record, as A would try it; each must answer 403 and leave B's record as it was. */
async function everyRoute(a: Registered, b: Registered, physicianOfB: Registered) {
  const id = b.body.user.id;
  const tries: [string, string, Record<string, unknown>?][] = [
    ["GET", `/records/${id}`],
    ["PUT", `/records/${id}`, { json: { medical_history: "overwritten by A" } }],
    ["DELETE", `/records/${id}`],
    ["GET", `/records/${id}/history`],
    ["GET", `/records/${id}/members`],
    ["POST", `/records/${id}/members`, { json: { userId: physicianOfB.body.user.id } }],
    ["DELETE", `/records/${id}/members/${physicianOfB.body.user.id}`],
    ["GET", `/records/${id}/access-log`],
    ["GET", `/state?patient=${id}`],
    ["PUT", `/state?patient=${id}`, { json: { medical_history: "overwritten by A" } }],
    ["DELETE", `/state?patient=${id}`],
    ["GET", "/state/history", { headers: { "X-Patient-Id": id } }],
  ];
  for (const [method, path, opts] of tries) {
    const res = await as(method, path, a, opts as never);
    expect(res.status, `${method} ${path}`).toBe(403);
    expect(await json(res), `${method} ${path}`).toEqual({
      error: "You are not on this patient's care team",
    });
  }
  for (const path of [`/records/${id}/live`, `/state/live?patient=${id}`]) {
    const res = await call("GET", path, { headers: { ...a.auth, Upgrade: "websocket" } });
    expect(res.status, path).toBe(403);
    expect(res.webSocket).toBeNull();
  }
  // B's record and team are untouched.
  expect(await json(await as("GET", `/records/${id}`, b))).toEqual({ medical_history: "b's", version: 1 });
  const team = await json<{ members: { user_id: string }[] }>(await as("GET", `/records/${id}/members`, b));
  expect(team.members.map((m) => m.user_id)).toEqual([physicianOfB.body.user.id]);
}

describe("patient A never reaches patient B's record", () => {
  for (const mode of ["per_patient", "shared"] as const) {
    it(`through any route or the WebSocket (${mode} clinic)`, async () => {
      const clinic = mode === "shared" ? await sharedClinic() : await createClinic();
      const [a, b] = [await registerAs(clinic, "patients"), await registerAs(clinic, "patients")];
      const physician = await registerAs(clinic, "physicians");
      await addToTeam(clinic, b, physician);
      expect(
        (await as("PUT", `/records/${b.body.user.id}`, b, { json: { medical_history: "b's" } })).status,
      ).toBe(200);
      await everyRoute(a, b, physician);
      // An id that is no patient answers the same 403: nobody learns which ids are patients.
      const none = await as("GET", "/records/999999999", a);
      expect(none.status).toBe(403);
      const physicianId = await as("GET", `/records/${physician.body.user.id}`, a);
      expect(physicianId.status).toBe(403);
    });
  }

  it("a physician off the team, and the team's physician of another clinic, are refused", async () => {
    const { patient } = await careTeam();
    const clinic2 = await createClinic();
    const stranger = await registerAs(clinic2, "physicians");
    const same = await call("GET", `/records/${patient.body.user.id}`, {
      headers: {
        authorization: stranger.auth.authorization as string,
        "X-AccountCode": stranger.auth["X-AccountCode"] as string,
      },
    });
    expect(same.status).toBe(403);
    const crossClinic = await call("GET", `/records/${patient.body.user.id}`, {
      headers: { ...stranger.auth, "X-AccountCode": patient.auth["X-AccountCode"] as string },
    });
    expect(crossClinic.status).toBe(401);
  });

  it("a live socket of B's record never carries A's record, and A's never B's", async () => {
    const clinic = await createClinic();
    const [a, b] = [await registerAs(clinic, "patients"), await registerAs(clinic, "patients")];
    const liveA = await connect("/state/live", a.auth);
    await liveA.until(1);
    await state("PUT", b, { json: { medical_history: "b's secret" } });
    await state("PUT", a, { json: { medical_history: "a's" } });
    const got = await liveA.until(2);
    expect(got.map((m) => m.state)).toEqual([{ version: 0 }, { medical_history: "a's", version: 1 }]);
    liveA.ws.close(1000);
  });
});

describe("field permissions on /records/:patientId", () => {
  const cases = (Object.keys(GROUP_DEFS) as Group[]).flatMap((group) =>
    CARE_FIELDS.filter((f) => !GROUP_DEFS[group].writes.includes(f)).map((field) => [group, field] as const),
  );
  it(`every group writing any field it may not write, even "", gets 403 and writes nothing (${cases.length} pairs)`, async () => {
    const team = await careTeam();
    const who: Record<Group, Registered> = {
      patients: team.patient,
      physicians: team.physician,
      insurers: team.insurer,
    };
    const path = `/records/${team.patient.body.user.id}`;
    await as("PUT", path, team.physician, { json: { prescription: "keep", office_visit_notes: "keep" } });
    await as("PUT", path, team.patient, { json: { medical_history: "keep" } });
    await as("PUT", path, team.insurer, { json: { insurer_reply: "keep" } });
    for (const [group, field] of cases) {
      for (const value of ["", "changed"]) {
        const res = await as("PUT", path, who[group], { json: { [field as CareField]: value } });
        expect(res.status, `${group} ${field}=${JSON.stringify(value)}`).toBe(403);
      }
    }
    expect(await json(await as("GET", path, team.patient))).toEqual({
      medical_history: "keep",
      office_visit_notes: "keep",
      prescription: "keep",
      insurer_reply: "keep",
      version: 3,
    });
  });
});

describe("care-team management", () => {
  it("members cannot add or remove members; only the patient, admins and the clinic's server can", async () => {
    const { clinic, patient, physician, insurer } = await careTeam();
    const another = await registerAs(clinic, "physicians");
    const path = `/records/${patient.body.user.id}/members`;
    for (const member of [physician, insurer]) {
      const add = await as("POST", path, member, { json: { userId: another.body.user.id } });
      expect(add.status).toBe(403);
      expect(await json(add)).toEqual({
        error: "Only the patient, clinic admins and the clinic's server manage a care team",
      });
      expect((await as("DELETE", `${path}/${insurer.body.user.id}`, member)).status).toBe(403);
    }
    const team = await json<{ members: { user_id: string }[] }>(await as("GET", path, patient));
    expect(team.members.map((m) => m.user_id).sort()).toEqual(
      [physician.body.user.id, insurer.body.user.id].sort(),
    );
    // A wrong API key is 401, not a silent success.
    const wrongKey = await call("POST", path, {
      headers: { "X-AccountCode": clinic.code, "X-ApiKey": "ce_wrong" },
      json: { userId: another.body.user.id },
    });
    expect(wrongKey.status).toBe(401);
  });

  it("another clinic's API key cannot manage this clinic's teams", async () => {
    const { patient, physician } = await careTeam();
    const other: TestClinic = await createClinic();
    const res = await call("DELETE", `/records/${patient.body.user.id}/members/${physician.body.user.id}`, {
      headers: other.server,
    });
    expect(res.status).toBe(404);
    expect(await json(await as("GET", `/records/${patient.body.user.id}`, physician))).toEqual({
      version: 0,
    });
  });
});

describe("access log and audit log", () => {
  it("every non-patient read and write is in both, with who, group, fields and no values", async () => {
    const { clinic, patient, physician, insurer } = await careTeam();
    const path = `/records/${patient.body.user.id}`;
    const secret = "SECRET-diagnosis-7731";
    const settle = (method: string, p: string, who: Registered, opts = {}) =>
      callAndSettle(method, p, { ...opts, headers: { ...who.auth } });
    await settle("PUT", path, patient, { json: { medical_history: secret } });
    await settle("GET", path, patient);
    await settle("GET", path, physician);
    await settle("PUT", path, physician, { json: { prescription: `${secret}-rx` } });
    await settle("GET", `/state?patient=${patient.body.user.id}`, insurer);
    const admin = await otherUser(clinic, 150);
    await callAndSettle("GET", path, { headers: admin.auth });
    await settle("DELETE", path, physician);

    const log = await json<{
      entries: { action: string; fields: string[]; user_id: string; group: string; at: string }[];
    }>(await as("GET", `${path}/access-log`, patient));
    expect(log.entries.map((e) => [e.action, e.user_id, e.group, e.fields])).toEqual([
      ["reset", physician.body.user.id, "physicians", [...CARE_FIELDS]],
      ["read", admin.id, "clinic_admin", [...CARE_FIELDS]],
      ["read", insurer.body.user.id, "insurers", [...CARE_FIELDS]],
      ["write", physician.body.user.id, "physicians", ["prescription"]],
      ["read", physician.body.user.id, "physicians", [...CARE_FIELDS]],
    ]);
    expect(JSON.stringify(log)).not.toContain(secret);
    // Clinic admins read it too; members do not.
    expect((await as("GET", `${path}/access-log`, admin.auth)).status).toBe(200);
    expect((await as("GET", `${path}/access-log`, physician)).status).toBe(403);

    const { results } = await env.DB.prepare(
      "SELECT actor_user_id, subject_user_id, details FROM audit_log WHERE clinic_id = ? AND event = 'record_access' ORDER BY id",
    )
      .bind(await clinicIdOf(clinic.code))
      .all<{ actor_user_id: number; subject_user_id: number; details: string }>();
    expect(
      results.map((r) => {
        const d = JSON.parse(r.details) as Record<string, string>;
        return [String(r.actor_user_id), r.subject_user_id, d.action, d.group, d.fields];
      }),
    ).toEqual([
      [physician.body.user.id, Number(patient.body.user.id), "read", "physicians", CARE_FIELDS.join(" ")],
      [physician.body.user.id, Number(patient.body.user.id), "write", "physicians", "prescription"],
      [insurer.body.user.id, Number(patient.body.user.id), "read", "insurers", CARE_FIELDS.join(" ")],
      [admin.id, Number(patient.body.user.id), "read", "clinic_admin", CARE_FIELDS.join(" ")],
      [physician.body.user.id, Number(patient.body.user.id), "reset", "physicians", CARE_FIELDS.join(" ")],
    ]);
    const all = await env.DB.prepare("SELECT details FROM audit_log WHERE clinic_id = ?")
      .bind(await clinicIdOf(clinic.code))
      .all<{ details: string }>();
    expect(JSON.stringify(all.results)).not.toContain("SECRET");
  });
});

describe("no clinic-wide record for a self-registered user by default", () => {
  it("a new clinic that lets patients register themselves still gives each only their own record", async () => {
    const clinic = await createClinic({ settings: { selfRegisterGroups: ["patients"] } });
    const insider = await registerAs(clinic, "patients");
    await state("PUT", insider, { json: { medical_history: "insider's history" } });
    const self = await call("POST", "/register", {
      headers: { "X-AccountCode": clinic.code },
      json: person("patients"),
    });
    expect(self.status).toBe(200);
    const stranger = {
      "X-AccountCode": clinic.code,
      authorization: `Bearer ${(await json<{ token: string }>(self)).token}`,
    };
    expect(await json(await state("GET", stranger))).toEqual({ version: 0 });
    const list = await json<{ records: { patient_id: string }[] }>(await as("GET", "/records", stranger));
    expect(list.records.map((r) => r.patient_id)).not.toContain(insider.body.user.id);
    expect((await as("GET", `/records/${insider.body.user.id}`, stranger)).status).toBe(403);
  });
});
