/** GET/PUT/DELETE /state and GET /state/history: the shared care record of a clinic. */
import { afterEach, describe, expect, it } from "vitest";
import { call, clock, env, json, type TestClinic } from "../helpers";
import { otherUser, type Registered, registerAs, sharedClinic, state } from "./support";

afterEach(() => clock.reset());

interface Team {
  clinic: TestClinic;
  patient: Registered;
  physician: Registered;
  insurer: Registered;
}

async function team(): Promise<Team> {
  const clinic = await sharedClinic();
  const [patient, physician, insurer] = await Promise.all([
    registerAs(clinic, "patients"),
    registerAs(clinic, "physicians"),
    registerAs(clinic, "insurers"),
  ]);
  return { clinic, patient, physician, insurer };
}

describe("GET /state", () => {
  it("starts empty at version 0, with an ETag", async () => {
    const { patient } = await team();
    const res = await state("GET", patient);
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe('"0"');
    expect(await json(res)).toEqual({ version: 0 });
  });

  it("requires a bearer token of the clinic", async () => {
    const { clinic } = await team();
    const none = await call("GET", "/state", { headers: { "X-AccountCode": clinic.code } });
    expect(none.status).toBe(401);
    expect(await json(none)).toEqual({ error: "A bearer token is required" });
    const bogus = await call("GET", "/state", {
      headers: { "X-AccountCode": clinic.code, authorization: `Bearer ${"0".repeat(32)}` },
    });
    expect(bogus.status).toBe(401);
    expect(await json(bogus)).toEqual({ error: "Invalid or expired token" });
  });

  it("refuses an expired token", async () => {
    clock.freeze();
    const { patient } = await team();
    clock.advance(24 * 3600);
    expect((await state("GET", patient)).status).toBe(401);
  });
});

describe("PUT /state", () => {
  it("lets each group write its own fields and everybody read the whole record", async () => {
    const { patient, physician, insurer } = await team();
    const p = await state("PUT", patient, { json: { medical_history: "asthma since 2010" } });
    expect(p.status).toBe(200);
    expect(p.headers.get("etag")).toBe('"1"');
    expect(await json(p)).toEqual({ medical_history: "asthma since 2010", version: 1 });

    const d = await state("PUT", physician, {
      json: { office_visit_notes: "wheezing", prescription: "salbutamol" },
    });
    expect(await json(d)).toEqual({
      medical_history: "asthma since 2010",
      office_visit_notes: "wheezing",
      prescription: "salbutamol",
      version: 2,
    });

    // Urlencoded, like the demo client's forms.
    const i = await state("PUT", insurer, { form: { insurer_reply: "approved" } });
    expect(i.status).toBe(200);

    const whole = {
      medical_history: "asthma since 2010",
      office_visit_notes: "wheezing",
      prescription: "salbutamol",
      insurer_reply: "approved",
      version: 3,
    };
    for (const who of [patient, physician, insurer]) {
      const res = await state("GET", who);
      expect(await json(res)).toEqual(whole);
      expect(res.headers.get("etag")).toBe('"3"');
    }
  });

  it("keeps empty strings as values", async () => {
    const { patient } = await team();
    await state("PUT", patient, { json: { medical_history: "x" } });
    const res = await state("PUT", patient, { json: { medical_history: "" } });
    expect(await json(res)).toEqual({ medical_history: "", version: 2 });
  });

  it.each([
    ["patients", "office_visit_notes", "Patients may write only medical_history (not office_visit_notes)"],
    ["patients", "insurer_reply", "Patients may write only medical_history (not insurer_reply)"],
    [
      "physicians",
      "medical_history",
      "Physicians may write only office_visit_notes and prescription (not medical_history)",
    ],
    [
      "physicians",
      "insurer_reply",
      "Physicians may write only office_visit_notes and prescription (not insurer_reply)",
    ],
    ["insurers", "prescription", "Insurers may write only insurer_reply (not prescription)"],
    ["insurers", "medical_history", "Insurers may write only insurer_reply (not medical_history)"],
  ] as const)("refuses %s writing %s with 403, writing nothing", async (group, field, message) => {
    const t = await team();
    const who = group === "patients" ? t.patient : group === "physicians" ? t.physician : t.insurer;
    const own =
      group === "patients" ? "medical_history" : group === "physicians" ? "prescription" : "insurer_reply";
    // Even together with an allowed field, nothing is written.
    const res = await state("PUT", who, { json: { [own]: "mine", [field]: "not mine" } });
    expect(res.status).toBe(403);
    expect(await json(res)).toEqual({ error: message });
    expect(await json(await state("GET", who))).toEqual({ version: 0 });
  });

  it("refuses users outside the three groups", async () => {
    const { clinic } = await team();
    const member = await otherUser(clinic, 200);
    const read = await state("GET", member.auth);
    expect(read.status).toBe(403);
    expect(await json(read)).toEqual({
      error: "Only patients, physicians and insurers can use the care record",
    });
    expect((await state("PUT", member.auth, { json: { medical_history: "x" } })).status).toBe(403);
  });

  it("requires at least one field", async () => {
    const { patient } = await team();
    const res = await state("PUT", patient, { json: {} });
    expect(res.status).toBe(400);
    expect(await json(res)).toEqual({
      error: "Invalid request body",
      errors: [
        {
          param: "body",
          message:
            "at least one of medical_history, office_visit_notes, prescription, insurer_reply is required",
        },
      ],
    });
  });

  it("refuses unknown fields and non-strings", async () => {
    const { patient } = await team();
    const res = await state("PUT", patient, { json: { medical_history: "x", version: 9, notes: "y" } });
    expect(res.status).toBe(400);
    const body = await json<{ errors: unknown[] }>(res);
    expect(body.errors).toEqual(
      expect.arrayContaining([
        { param: "version", message: "is not an allowed field" },
        { param: "notes", message: "is not an allowed field" },
      ]),
    );
    const nonString = await state("PUT", patient, { json: { medical_history: 42 } });
    expect(await json(nonString)).toEqual({
      error: "Invalid request body",
      errors: [{ param: "medical_history", message: "must be a string" }],
    });
    const nul = await state("PUT", patient, { json: { medical_history: null } });
    expect(nul.status).toBe(400);
    expect(await json(await state("GET", patient))).toEqual({ version: 0 });
  });

  it("caps each field at 32768 characters and the body at MAX_BODY_BYTES", async () => {
    const { patient } = await team();
    const max = await state("PUT", patient, { json: { medical_history: "a".repeat(32768) } });
    expect(max.status).toBe(200);
    const over = await state("PUT", patient, { json: { medical_history: "a".repeat(32769) } });
    expect(over.status).toBe(400);
    expect(await json(over)).toEqual({
      error: "Invalid request body",
      errors: [{ param: "medical_history", message: "must be at most 32768 characters" }],
    });
    const huge = await state("PUT", patient, {
      json: { medical_history: "a".repeat(Number(env.MAX_BODY_BYTES)) },
    });
    expect(huge.status).toBe(413);
    expect(await json(huge)).toEqual({ error: "Request body too large" });
    expect((await json<{ version: number }>(await state("GET", patient))).version).toBe(1);
  });
});

describe("If-Match", () => {
  it("writes when the version matches and answers 412 with the current ETag when it moved on", async () => {
    const { patient, physician } = await team();
    const read = await state("GET", physician);
    const tag = read.headers.get("etag") as string;
    await state("PUT", patient, { json: { medical_history: "changed meanwhile" } });

    const stale = await state("PUT", physician, {
      headers: { "If-Match": tag },
      json: { prescription: "based on an old read" },
    });
    expect(stale.status).toBe(412);
    expect(stale.headers.get("etag")).toBe('"1"');
    expect(await json(stale)).toEqual({ error: "The record has changed since you read it" });

    const fresh = await state("PUT", physician, {
      headers: { "If-Match": '"1"' },
      json: { prescription: "based on the latest" },
    });
    expect(fresh.status).toBe(200);
    expect(await json(fresh)).toEqual({
      medical_history: "changed meanwhile",
      prescription: "based on the latest",
      version: 2,
    });
    // A weakened tag (compressing proxies) and * also match; a list matches any of its tags.
    for (const ifMatch of ['W/"2"', "*"]) {
      const res = await state("PUT", physician, {
        headers: { "If-Match": ifMatch },
        json: { prescription: ifMatch },
      });
      expect(res.status).toBe(200);
    }
    expect(
      (await state("PUT", physician, { headers: { "If-Match": '"1", "4"' }, json: { prescription: "l" } }))
        .status,
    ).toBe(200);
  });

  it("answers 400 for a malformed If-Match", async () => {
    const { patient } = await team();
    const res = await state("PUT", patient, {
      headers: { "If-Match": "yesterday" },
      json: { medical_history: "x" },
    });
    expect(res.status).toBe(400);
    expect(await json(res)).toEqual({
      error: "Invalid If-Match header",
      errors: [{ param: "If-Match", message: 'must be an ETag of GET /state (e.g. "12") or *' }],
    });
  });
});

describe("DELETE /state", () => {
  it("lets physicians and clinic admins reset; the version moves on", async () => {
    const { clinic, patient, physician } = await team();
    await state("PUT", patient, { json: { medical_history: "x" } });
    const reset = await state("DELETE", physician);
    expect(reset.status).toBe(200);
    expect(await json(reset)).toEqual({ version: 2 });
    expect(reset.headers.get("etag")).toBe('"2"');

    await state("PUT", patient, { json: { medical_history: "y" } });
    const admin = await otherUser(clinic, 100);
    const byAdmin = await state("DELETE", admin.auth);
    expect(byAdmin.status).toBe(200);
    expect(await json(byAdmin)).toEqual({ version: 4 });

    const roleAdmin = await otherUser(clinic, 400, "scheduler,clinic_admin");
    expect(await json(await state("DELETE", roleAdmin.auth))).toEqual({ version: 5 });

    const stale = await state("DELETE", physician, { headers: { "If-Match": '"3"' } });
    expect(stale.status).toBe(412);
  });

  it("refuses patients, insurers and other users", async () => {
    const { clinic, patient, insurer } = await team();
    await state("PUT", patient, { json: { medical_history: "keep me" } });
    const member = await otherUser(clinic, 200);
    for (const auth of [patient.auth, insurer.auth, member.auth]) {
      const res = await state("DELETE", auth);
      expect(res.status).toBe(403);
      expect(await json(res)).toEqual({
        error: "Only clinic admins and physicians can reset the care record",
      });
    }
    expect(await json(await state("GET", patient))).toEqual({ medical_history: "keep me", version: 1 });
  });
});

describe("GET /state/history", () => {
  it("lists who changed which fields when, newest first, in pages", async () => {
    clock.set(Date.UTC(2026, 0, 2, 3, 4, 5));
    const { clinic, patient, physician, insurer } = await team();
    await state("PUT", patient, { json: { medical_history: "h" } });
    clock.advance(60);
    await state("PUT", physician, { json: { office_visit_notes: "n", prescription: "p" } });
    clock.advance(60);
    await state("PUT", insurer, { json: { insurer_reply: "r" } });
    await state("DELETE", physician);

    const res = await call("GET", "/state/history?limit=3", { headers: insurer.auth });
    expect(res.status).toBe(200);
    const page = await json<{ entries: unknown[]; next_before: number | null }>(res);
    expect(page).toEqual({
      entries: [
        {
          version: 4,
          action: "reset",
          fields: ["medical_history", "office_visit_notes", "prescription", "insurer_reply"],
          user_id: physician.body.user.id,
          group: "physicians",
          at: "2026-01-02T03:06:05Z",
        },
        {
          version: 3,
          action: "update",
          fields: ["insurer_reply"],
          user_id: insurer.body.user.id,
          group: "insurers",
          at: "2026-01-02T03:06:05Z",
        },
        {
          version: 2,
          action: "update",
          fields: ["office_visit_notes", "prescription"],
          user_id: physician.body.user.id,
          group: "physicians",
          at: "2026-01-02T03:05:05Z",
        },
      ],
      next_before: 2,
    });
    // No values in the trail.
    expect(JSON.stringify(page)).not.toMatch(/"(h|n|p|r)"/);

    const next = await json<{ entries: { version: number; at: string }[]; next_before: number | null }>(
      await call("GET", "/state/history?limit=3&before=2", { headers: patient.auth }),
    );
    expect(next.entries.map((e) => e.version)).toEqual([1]);
    expect(next.entries[0]?.at).toBe("2026-01-02T03:04:05Z");
    expect(next.next_before).toBeNull();

    const admin = await otherUser(clinic, 150);
    expect((await call("GET", "/state/history", { headers: admin.auth })).status).toBe(200);
    const member = await otherUser(clinic, 200);
    expect((await call("GET", "/state/history", { headers: member.auth })).status).toBe(403);
  });

  it("validates paging", async () => {
    const { patient } = await team();
    const res = await call("GET", "/state/history?limit=0&before=x", { headers: patient.auth });
    expect(res.status).toBe(400);
    expect(await json(res)).toEqual({
      error: "Invalid request body",
      errors: [
        { param: "limit", message: "must be at least 1" },
        { param: "before", message: "must be an integer" },
      ],
    });
  });
});

describe("tenant isolation", () => {
  it("keeps each clinic's record apart and refuses a token of another clinic", async () => {
    const a = await team();
    const b = await team();
    await state("PUT", a.patient, { json: { medical_history: "clinic A only" } });
    expect(await json(await state("GET", b.patient))).toEqual({ version: 0 });

    // A's token presented to B (X-AccountCode B): 401, and B's record is untouched.
    const crossed = { ...a.patient.auth, "X-AccountCode": b.clinic.code };
    const read = await state("GET", crossed);
    expect(read.status).toBe(401);
    expect(JSON.stringify(await json(read))).not.toContain("clinic A only");
    expect((await state("PUT", crossed, { json: { medical_history: "intruder" } })).status).toBe(401);
    expect((await call("GET", "/state/history", { headers: crossed })).status).toBe(401);
    // Without X-AccountCode the default clinic is meant, which is not A either.
    const { "X-AccountCode": _, ...bare } = a.patient.auth;
    expect((await state("GET", bare)).status).toBe(401);
    expect(await json(await state("GET", b.patient))).toEqual({ version: 0 });
  });
});
