/**
 * Findings of the fuzzer (test/security/fuzz.*), each pinned by a test.
 */
import { describe, expect, it } from "vitest";
import { call, createClinic, env, json } from "../helpers";
import { adminPatchUser, sso } from "../vsee/support";

async function row(code: string, userCode: string) {
  return env.DB.prepare(
    "SELECT u.first_name, u.last_name, u.city, u.updated_at FROM users u JOIN clinics c ON c.id = u.clinic_id WHERE c.code = ? AND u.code = ?",
  )
    .bind(code, userCode)
    .first();
}

describe("fuzz findings", () => {
  it("SSO refused for a code of another type writes nothing (it used to overwrite that user's names first)", async () => {
    const clinic = await createClinic();
    const provider = await sso(clinic, { type: "400", first_name: "Paula", last_name: "Provider" });
    const before = await row(clinic.code, provider.code);
    const res = await call("POST", "/api_v3/users/sso", {
      headers: clinic.server,
      json: { first_name: "Mallory", last_name: "Member", type: 200, code: provider.code, city: "Elsewhere" },
    });
    expect(res.status).toBe(400);
    expect(await json(res)).toMatchObject({
      errors: [{ param: "code", message: "belongs to a user of another type" }],
    });
    expect(await row(clinic.code, provider.code)).toEqual(before);
  });

  it("SSO refused for a disabled user writes nothing either", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic, { first_name: "Dora", last_name: "Disabled" });
    await adminPatchUser(clinic, user.id, { disabled: true });
    const before = await row(clinic.code, user.code);
    const res = await call("POST", "/api_v3/users/sso", {
      headers: clinic.server,
      json: { first_name: "Changed", last_name: "Name", type: 200, code: user.code },
    });
    expect(res.status).toBe(403);
    expect(await json(res)).toEqual({ code: 403, message: "This user is disabled" });
    expect(await row(clinic.code, user.code)).toEqual(before);
  });

  it("a NUL in a user search is a 400, not a database error (FTS5 cannot take it)", async () => {
    const clinic = await createClinic();
    for (const q of ["q=%00%00%00", "full_name=ab%00c", "email=%00abc"]) {
      const res = await call("GET", `/api_v3/users?${q}`, { headers: clinic.server });
      expect(res.status, q).toBe(400);
      const body = await json<{ errors: { message: string }[] }>(res);
      expect(body.errors[0]?.message).toBe("must not contain control characters");
    }
  });
});
