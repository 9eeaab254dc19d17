/** Per-patient care records: the patient's own record, their care team, /state, lists, modes. */
import { describe, expect, it } from "vitest";
import { ADMIN_AUTH, call, createClinic, env, json } from "../helpers";
import {
  addToTeam,
  as,
  careTeam,
  clinicIdOf,
  idOf,
  otherUser,
  person,
  registerAs,
  sharedClinic,
  state,
} from "./support";

interface CareState {
  version: number;
  medical_history?: string;
  office_visit_notes?: string;
  prescription?: string;
  insurer_reply?: string;
}

describe("new clinics", () => {
  it("default to per-patient records and no self-registration", async () => {
    const clinic = await createClinic();
    const res = await call("GET", `/admin/clinics/${clinic.code}`, { headers: ADMIN_AUTH });
    const body = await json<{ clinic: { settings: Record<string, unknown> } }>(res);
    expect(body.clinic.settings).toMatchObject({ careRecordMode: "per_patient", selfRegisterGroups: [] });
    const self = await call("POST", "/register", {
      headers: { "X-AccountCode": clinic.code },
      json: person("patients"),
    });
    expect(self.status).toBe(403);
    expect(await json(self)).toEqual({ error: "Registering in this group requires the clinic's API key" });
  });

  it("a PATCH of other settings keeps the mode and who self-registers", async () => {
    const clinic = await sharedClinic();
    const res = await call("PATCH", `/admin/clinics/${clinic.code}`, {
      headers: ADMIN_AUTH,
      json: { settings: { codesPerHour: 7 } },
    });
    expect(res.status).toBe(200);
    expect((await json<{ clinic: { settings: unknown } }>(res)).clinic.settings).toEqual({
      careRecordMode: "shared",
      selfRegisterGroups: ["patients"],
      codesPerHour: 7,
    });
  });

  it("migration 0009 keeps clinics that existed before it shared, with patients self-registering", async () => {
    const t = Math.floor(Date.now() / 1000);
    const code = `old${t.toString(36)}${Math.floor(Math.random() * 1e6)}`;
    await env.DB.prepare(
      `INSERT INTO clinics (code, name, domain, settings, api_key_hash, api_key_prefix, created_at, updated_at)
       VALUES (?, 'Old', 'old.example.test', '{"selfRegisterGroups":["insurers"]}', 'x', 'x', ?, ?)`,
    )
      .bind(code, t, t)
      .run();
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0009"));
    const update = migration?.queries.find((q) => q.includes("UPDATE `clinics`"));
    expect(update).toBeDefined();
    await env.DB.prepare(update as string).run();
    const row = await env.DB.prepare("SELECT settings FROM clinics WHERE code = ?")
      .bind(code)
      .first<{ settings: string }>();
    expect(JSON.parse(row?.settings ?? "{}")).toEqual({
      careRecordMode: "shared",
      selfRegisterGroups: ["insurers", "patients"],
    });
  });
});

describe("GET/PUT/DELETE /records/:patientId", () => {
  it("the patient and their care team read and write their own fields, with versions and If-Match", async () => {
    const { patient, physician, insurer } = await careTeam();
    const path = `/records/${patient.body.user.id}`;
    const first = await as("PUT", path, patient, { json: { medical_history: "asthma" } });
    expect(first.status).toBe(200);
    expect(first.headers.get("ETag")).toBe('"1"');
    const notes = await as("PUT", path, physician, {
      headers: { "If-Match": '"1"' },
      form: { office_visit_notes: "seen", prescription: "inhaler" },
    });
    expect(notes.status).toBe(200);
    const stale = await as("PUT", path, insurer, {
      headers: { "If-Match": '"1"' },
      multipart: { insurer_reply: "late" },
    });
    expect(stale.status).toBe(412);
    expect(stale.headers.get("ETag")).toBe('"2"');
    expect(await json(stale)).toEqual({ error: "The record has changed since you read it" });
    expect((await as("PUT", path, insurer, { multipart: { insurer_reply: "covered" } })).status).toBe(200);
    for (const who of [patient, physician, insurer]) {
      const res = await as("GET", path, who);
      expect(res.headers.get("ETag")).toBe('"3"');
      expect(await json<CareState>(res)).toEqual({
        medical_history: "asthma",
        office_visit_notes: "seen",
        prescription: "inhaler",
        insurer_reply: "covered",
        version: 3,
      });
    }
    const history = await json<{ entries: { user_id: string; fields: string[] }[] }>(
      await as("GET", `${path}/history`, patient),
    );
    expect(history.entries.map((e) => [e.user_id, e.fields])).toEqual([
      [insurer.body.user.id, ["insurer_reply"]],
      [physician.body.user.id, ["office_visit_notes", "prescription"]],
      [patient.body.user.id, ["medical_history"]],
    ]);
    // Physicians of the team reset; the version moves on.
    expect((await as("DELETE", path, insurer)).status).toBe(403);
    const reset = await as("DELETE", path, physician);
    expect(await json(reset)).toEqual({ version: 4 });
  });

  it("a clinic narrows what a group reads (insurers: prescription and insurer_reply)", async () => {
    const { patient, physician, insurer } = await careTeam({
      careReadFields: { insurers: ["prescription", "insurer_reply"] },
    });
    const path = `/records/${patient.body.user.id}`;
    await as("PUT", path, patient, { json: { medical_history: "private" } });
    await as("PUT", path, physician, { json: { office_visit_notes: "notes", prescription: "rx" } });
    expect(await json(await as("GET", path, insurer))).toEqual({ prescription: "rx", version: 2 });
    expect(await json(await as("GET", path, physician))).toMatchObject({ medical_history: "private" });
  });

  it("clinic admins read a patient's record; 404 for an id that is no patient", async () => {
    const { clinic, patient } = await careTeam();
    await as("PUT", `/records/${patient.body.user.id}`, patient, { json: { medical_history: "h" } });
    const admin = await otherUser(clinic, 150);
    expect(await json(await as("GET", `/records/${patient.body.user.id}`, admin.auth))).toEqual({
      medical_history: "h",
      version: 1,
    });
    const none = await as("GET", "/records/999999999", admin.auth);
    expect(none.status).toBe(404);
    expect(await json(none)).toEqual({ error: "Care record not found" });
  });
});

describe("/state in a per-patient clinic", () => {
  it("is each patient's own record", async () => {
    const clinic = await createClinic();
    const [a, b] = [await registerAs(clinic, "patients"), await registerAs(clinic, "patients")];
    await state("PUT", a, { json: { medical_history: "a's" } });
    await state("PUT", b, { json: { medical_history: "b's" } });
    expect(await json(await state("GET", a))).toEqual({ medical_history: "a's", version: 1 });
    expect(await json(await state("GET", b))).toEqual({ medical_history: "b's", version: 1 });
    expect(await json(await as("GET", `/records/${a.body.user.id}`, a))).toEqual({
      medical_history: "a's",
      version: 1,
    });
  });

  it("a physician names the patient (?patient=, X-Patient-Id) or gets their only team's record", async () => {
    const { clinic, patient, physician } = await careTeam();
    await state("PUT", patient, { json: { medical_history: "mine" } });
    const expected = { medical_history: "mine", version: 1 };
    expect(
      await json(await call("GET", `/state?patient=${patient.body.user.id}`, { headers: physician.auth })),
    ).toEqual(expected);
    expect(
      await json(await state("GET", physician, { headers: { "X-Patient-Id": patient.body.user.id } })),
    ).toEqual(expected);
    expect(await json(await state("GET", physician))).toEqual(expected);
    const put = await state("PUT", physician, { json: { prescription: "rx" } });
    expect(await json(put)).toEqual({ ...expected, prescription: "rx", version: 2 });

    // A second team: the patient must be named.
    const other = await registerAs(clinic, "patients");
    await addToTeam(clinic, other, physician);
    const ambiguous = await state("GET", physician);
    expect(ambiguous.status).toBe(400);
    expect(await json(ambiguous)).toEqual({
      error: "You are on several care teams: name the patient with ?patient=<id> or the X-Patient-Id header",
    });
    // No team at all.
    const lonely = await registerAs(clinic, "insurers");
    const none = await state("GET", lonely);
    expect(none.status).toBe(404);
    expect(await json(none)).toEqual({
      error:
        "You are on no patient's care team: name the patient with ?patient=<id> or the X-Patient-Id header",
    });
    const bad = await call("GET", "/state?patient=abc", { headers: physician.auth });
    expect(bad.status).toBe(400);
    expect(await json(bad)).toEqual({
      error: "patient: must be a patient's user id",
      errors: [{ param: "patient", message: "must be a patient's user id" }],
    });
  });

  it("switching a shared clinic to per_patient keeps the shared record readable by clinic admins", async () => {
    const clinic = await sharedClinic();
    const patient = await registerAs(clinic, "patients");
    await state("PUT", patient, { json: { medical_history: "shared days" } });
    const patch = await call("PATCH", `/admin/clinics/${clinic.code}`, {
      headers: ADMIN_AUTH,
      json: { settings: { careRecordMode: "per_patient" } },
    });
    expect(patch.status).toBe(200);
    // The patient now has a record of their own …
    expect(await json(await state("GET", patient))).toEqual({ version: 0 });
    // … and the shared one is still there for clinic admins.
    const admin = await otherUser(clinic, 100);
    expect(await json(await state("GET", admin.auth))).toEqual({
      medical_history: "shared days",
      version: 1,
    });
  });
});

describe("GET /records", () => {
  it("lists a patient's own, a physician's teams, an admin's every patient, page by page", async () => {
    const { clinic, patient, physician } = await careTeam();
    const second = await registerAs(clinic, "patients", { firstName: "Zoë", lastName: "Second" });
    await addToTeam(clinic, second, physician);
    await registerAs(clinic, "patients"); // on no team of the physician
    await as("PUT", `/records/${second.body.user.id}`, second, { json: { medical_history: "x" } });

    const mine = await json<{ records: { patient_id: string }[]; next_cursor: null }>(
      await as("GET", "/records", patient),
    );
    expect(mine).toEqual({
      records: [
        {
          patient_id: patient.body.user.id,
          name: { formatted: "Test Patient", familyName: "Patient", givenName: "Test" },
          version: 0,
        },
      ],
      next_cursor: null,
    });

    const page1 = await json<{ records: { patient_id: string; version: number }[]; next_cursor: string }>(
      await as("GET", "/records?limit=1", physician),
    );
    expect(page1.records.map((r) => r.patient_id)).toEqual([patient.body.user.id]);
    expect(page1.next_cursor).toBe(patient.body.user.id);
    const page2 = await json<{ records: { patient_id: string; version: number }[]; next_cursor: null }>(
      await as("GET", `/records?limit=1&cursor=${page1.next_cursor}`, physician),
    );
    expect(page2.records).toEqual([
      {
        patient_id: second.body.user.id,
        name: { formatted: "Zoë Second", familyName: "Second", givenName: "Zoë" },
        version: 1,
      },
    ]);
    expect(page2.next_cursor).toBeNull();

    const admin = await otherUser(clinic, 150);
    const all = await json<{ records: unknown[] }>(await as("GET", "/records", admin.auth));
    expect(all.records).toHaveLength(3);
    expect(idOf(patient)).toBeLessThan(idOf(second));
    expect(await clinicIdOf(clinic.code)).toBeGreaterThan(0);
  });

  it("refuses a bad limit or cursor with 400", async () => {
    const { patient } = await careTeam();
    const res = await as("GET", "/records?limit=0&cursor=x", patient);
    expect(res.status).toBe(400);
    const body = await json<{ errors: { param: string }[] }>(res);
    expect(body.errors.map((e) => e.param).sort()).toEqual(["cursor", "limit"]);
  });
});

describe("browsers", () => {
  it("may send X-Patient-Id cross-origin from a clinic's listed origin (preflight)", async () => {
    const origin = `https://records${Date.now().toString(36)}.example.test`;
    await createClinic({ settings: { corsOrigins: [origin] } });
    const res = await call("OPTIONS", "/state", {
      headers: {
        origin,
        "access-control-request-method": "GET",
        "access-control-request-headers": "authorization, x-patient-id",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-headers")).toBe("authorization, x-patient-id");
  });
});
