/** POST /register: every validation message, group rules and the security decisions (README). */
import { describe, expect, it } from "vitest";
import { call, env, json } from "../helpers";
import { ensureDefaultClinic, person, registerAs, sharedClinic } from "./support";

async function users(email: string) {
  return env.DB.prepare("SELECT count(*) AS n FROM users WHERE lower(email) = lower(?)")
    .bind(email)
    .first<number>("n");
}

async function invalid(body: unknown, form = false) {
  const clinic = await sharedClinic();
  const res = await call("POST", "/register", {
    headers: { "X-AccountCode": clinic.code },
    ...(form ? { form: body as Record<string, string> } : { json: body }),
  });
  expect(res.status).toBe(400);
  const out = await json<{ error: string; errors: { param: string; message: string }[] }>(res);
  expect(out.error).toBe("Invalid request body");
  return out.errors;
}

describe("POST /register validation", () => {
  it("requires every field", async () => {
    expect(await invalid({})).toEqual([
      { param: "email", message: "is required" },
      { param: "groupName", message: "is required" },
      { param: "firstName", message: "is required" },
      { param: "lastName", message: "is required" },
    ]);
    expect(await invalid(person("patients", { firstName: "  ", lastName: "" }))).toEqual([
      { param: "firstName", message: "is required" },
      { param: "lastName", message: "is required" },
    ]);
  });

  it("requires an email", async () => {
    expect(await invalid(person("patients", { email: "not-an-email" }))).toEqual([
      { param: "email", message: "must be a valid email address" },
    ]);
    const long = `${"a".repeat(250)}@example.test`;
    expect(await invalid(person("patients", { email: long }))).toContainEqual({
      param: "email",
      message: "must be at most 254 characters",
    });
    expect(await invalid({ ...person("patients"), email: 42 })).toEqual([
      { param: "email", message: "must be a string" },
    ]);
  });

  it("requires one of the three groups", async () => {
    for (const groupName of ["admins", "Patients", ""]) {
      expect(await invalid(person("patients", { groupName }))).toEqual([
        { param: "groupName", message: "must be one of patients, physicians, insurers" },
      ]);
    }
  });

  it("requires alphabetic names of at most 256 characters", async () => {
    expect(await invalid(person("patients", { firstName: "R2-D2", lastName: "<script>" }))).toEqual([
      { param: "firstName", message: "must contain only letters, spaces, hyphens and apostrophes" },
      { param: "lastName", message: "must contain only letters, spaces, hyphens and apostrophes" },
    ]);
    expect(await invalid(person("patients", { firstName: "a".repeat(257) }))).toEqual([
      { param: "firstName", message: "must be at most 256 characters" },
    ]);
    expect(await invalid(person("patients", { lastName: "- '" }))).toEqual([
      { param: "lastName", message: "must contain a letter" },
    ]);
    expect(await invalid({ ...person("patients"), firstName: 7 })).toEqual([
      { param: "firstName", message: "must be a string" },
    ]);
    // 256 letters are fine.
    const clinic = await sharedClinic();
    const ok = await call("POST", "/register", {
      headers: { "X-AccountCode": clinic.code },
      json: person("patients", { firstName: "é".repeat(256) }),
    });
    expect(ok.status).toBe(200);
  });

  it("refuses unknown fields, in form bodies too", async () => {
    expect(await invalid({ ...person("patients"), role: "clinic_admin" })).toEqual([
      { param: "role", message: "is not an allowed field" },
    ]);
    expect(await invalid({ ...person("patients"), "type[]": "100" }, true)).toEqual([
      { param: "type", message: "is not an allowed field" },
    ]);
  });
});

describe("POST /register rules", () => {
  it("answers 400 for an existing user of another group (and changes nothing)", async () => {
    const clinic = await sharedClinic();
    const patient = await registerAs(clinic, "patients");
    for (const headers of [clinic.server, patient.auth]) {
      const res = await call("POST", "/register", {
        headers,
        json: person("physicians", { email: patient.email }),
      });
      expect(res.status).toBe(400);
      expect(await json(res)).toEqual({
        error: "A user with this email is already registered in another group",
      });
    }
    const row = await env.DB.prepare("SELECT type, group_name FROM users WHERE id = ?")
      .bind(Number(patient.body.user.id))
      .first();
    expect(row).toEqual({ type: 200, group_name: "patients" });
  });

  it("refuses anonymous re-registration of an existing email with 401, creating nothing", async () => {
    const clinic = await sharedClinic();
    const patient = await registerAs(clinic, "patients");
    const sessionsBefore = await env.DB.prepare("SELECT count(*) AS n FROM sessions WHERE user_id = ?")
      .bind(Number(patient.body.user.id))
      .first<number>("n");
    for (const group of ["patients", "physicians"] as const) {
      const res = await call("POST", "/register", {
        headers: { "X-AccountCode": clinic.code },
        json: person(group, { email: patient.email.toUpperCase() }),
      });
      // Same answer whatever the group: an anonymous caller learns nothing about the user.
      expect(res.status).toBe(401);
      const body = await json(res);
      expect(body).toEqual({
        error:
          "This email is already registered: send that user's bearer token or the clinic's API key to register it again",
      });
      expect(JSON.stringify(body)).not.toContain(patient.body.token);
    }
    expect(await users(patient.email)).toBe(1);
    const sessionsAfter = await env.DB.prepare("SELECT count(*) AS n FROM sessions WHERE user_id = ?")
      .bind(Number(patient.body.user.id))
      .first<number>("n");
    expect(sessionsAfter).toBe(sessionsBefore);
  });

  it("refuses another user's token for an existing email", async () => {
    const clinic = await sharedClinic();
    const a = await registerAs(clinic, "patients");
    const b = await registerAs(clinic, "patients");
    const res = await call("POST", "/register", {
      headers: b.auth,
      json: person("patients", { email: a.email }),
    });
    expect(res.status).toBe(401);
  });

  it("requires the clinic's API key for physicians and insurers", async () => {
    const clinic = await sharedClinic();
    for (const group of ["physicians", "insurers"] as const) {
      const input = person(group);
      const res = await call("POST", "/register", { headers: { "X-AccountCode": clinic.code }, json: input });
      expect(res.status).toBe(403);
      expect(await json(res)).toEqual({ error: "Registering in this group requires the clinic's API key" });
      expect(await users(input.email)).toBe(0);
    }
    // A patient's token is no licence either.
    const patient = await registerAs(clinic, "patients");
    const res = await call("POST", "/register", { headers: patient.auth, json: person("physicians") });
    expect(res.status).toBe(403);
  });

  it("takes no anonymous registration in an invite-only clinic", async () => {
    const clinic = await sharedClinic({ signup_mode: "invite_only" });
    const input = person("patients");
    const res = await call("POST", "/register", { headers: { "X-AccountCode": clinic.code }, json: input });
    expect(res.status).toBe(403);
    expect(await users(input.email)).toBe(0);
    expect((await call("POST", "/register", { headers: clinic.server, json: input })).status).toBe(200);
  });

  it("answers 401 for wrong credentials instead of ignoring them", async () => {
    const clinic = await sharedClinic();
    const other = await sharedClinic();
    const wrongKey = await call("POST", "/register", {
      headers: { "X-AccountCode": clinic.code, "X-ApiKey": other.apiKey },
      json: person("physicians"),
    });
    expect(wrongKey.status).toBe(401);
    expect(await json(wrongKey)).toEqual({ error: "Invalid account code or API key" });

    await ensureDefaultClinic();
    const keyWithoutCode = await call("POST", "/register", {
      headers: { "X-ApiKey": clinic.apiKey },
      json: person("physicians"),
    });
    expect(keyWithoutCode.status).toBe(401);
    expect(await json(keyWithoutCode)).toEqual({ error: "X-AccountCode and X-ApiKey are required" });

    const foreigner = await registerAs(other, "patients");
    const foreignToken = await call("POST", "/register", {
      headers: { "X-AccountCode": clinic.code, authorization: `Bearer ${foreigner.body.token}` },
      json: person("patients"),
    });
    expect(foreignToken.status).toBe(401);
    expect(await json(foreignToken)).toEqual({ error: "Invalid or expired token" });
  });

  it("answers 404 for an unknown clinic and 403 for a disabled user", async () => {
    const unknown = await call("POST", "/register", {
      headers: { "X-AccountCode": "no-such-clinic-anywhere" },
      json: person("patients"),
    });
    expect(unknown.status).toBe(404);
    expect(await json(unknown)).toEqual({ error: "Unknown account" });

    const clinic = await sharedClinic();
    const patient = await registerAs(clinic, "patients");
    await env.DB.prepare("UPDATE users SET disabled = 1 WHERE id = ?")
      .bind(Number(patient.body.user.id))
      .run();
    const res = await call("POST", "/register", {
      headers: clinic.server,
      json: person("patients", { email: patient.email }),
    });
    expect(res.status).toBe(403);
    expect(await json(res)).toEqual({ error: "This user is disabled" });
  });

  it("registers one user when the same email races in", async () => {
    const clinic = await sharedClinic();
    const input = person("patients");
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        call("POST", "/register", { headers: { "X-AccountCode": clinic.code }, json: input }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    // One creates the user; the others find an existing email without proof.
    expect(statuses).toEqual([200, 401, 401, 401, 401]);
    expect(await users(input.email)).toBe(1);
  });
});
