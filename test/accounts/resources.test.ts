/**
 * GET/PATCH /accounts/:uid and /personal-details/:id (seed 002 "Update personal details", "Doctor
 * Accounts"): owner only, strict input, merge semantics, and the shared identity store (/api_v3 sees the
 * same names and marital status).
 */
import { describe, expect, it } from "vitest";
import { call, createClinic, json } from "../helpers";
import {
  type Account,
  account,
  email,
  env,
  expectFeathersError,
  messagesTo,
  signup,
  type Tenant,
  tenant,
} from "./support";

const patch = (t: Tenant, auth: Record<string, string>, path: string, body: unknown) =>
  call("PATCH", path, { headers: { ...t.headers, ...auth }, json: body });
const get = (t: Tenant, auth: Record<string, string>, path: string) =>
  call("GET", path, { headers: { ...t.headers, ...auth } });

describe("/accounts/:uid", () => {
  it("the owner reads the account and clears isFirstLogin; nothing else changes here", async () => {
    const t = await tenant();
    const a = await account(t);
    const read = await json<Account>(await get(t, a.auth, `/accounts/${a.uid}`));
    expect(read).toMatchObject({ uid: a.uid, email: a.email, isFirstLogin: true });
    const res = await patch(t, a.auth, `/accounts/${a.uid}`, { isFirstLogin: false });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ uid: a.uid, isFirstLogin: false });
    expect((await json<Account>(await get(t, a.auth, `/accounts/${a.uid}`))).isFirstLogin).toBe(false);

    const refused = await patch(t, a.auth, `/accounts/${a.uid}`, {
      email: email(),
      isEmailVerified: true,
      isDoctor: true,
      isDisabled: false,
      password: "another passphrase",
    });
    expect((await expectFeathersError(refused, 400)).errors).toEqual({
      email: "is not an allowed field",
      isEmailVerified: "is not an allowed field",
      isDoctor: "is not an allowed field",
      isDisabled: "is not an allowed field",
      password: "is not an allowed field",
    });
  });

  it("other accounts and unknown uids are 404; no token is 401", async () => {
    const t = await tenant();
    const a = await account(t);
    const b = await signup(t);
    for (const uid of [b.uid, "999999999", "abc"]) {
      await expectFeathersError(await get(t, a.auth, `/accounts/${uid}`), 404, "Account not found");
      await expectFeathersError(await patch(t, a.auth, `/accounts/${uid}`, { isFirstLogin: false }), 404);
    }
    await expectFeathersError(await get(t, {}, `/accounts/${a.uid}`), 401, "An access token is required");
  });
});

describe("/personal-details/:id", () => {
  it("the seed's PATCH (maritalStatus) with the seed's login, then reads it back", async () => {
    const t = await tenant();
    const a = await account(t, { personalDetails: { name: { firstName: "First", lastName: "Last" } } });
    const res = await patch(t, a.auth, `/personal-details/${a.uid}`, { maritalStatus: "single" });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      id: a.uid,
      name: { firstName: "First", lastName: "Last" },
      maritalStatus: "single",
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
  });

  it("merges: name and address field by field, null removes, arrays replace", async () => {
    const t = await tenant();
    const a = await account(t);
    const full = {
      name: { prefix: "Dr.", firstName: "Juan", middleName: "Santos", lastName: "Dela Cruz", suffix: "Jr." },
      dateOfBirth: "1990-05-17T00:00:00.000Z",
      sex: "Male",
      maritalStatus: "married",
      address: { street1: "1 Rizal St", city: "Makati", province: "Metro Manila", country: "PH" },
      doc_PRCLicenseNo: "0123456",
      identityImages: ["https://files.example.test/a.jpg", "https://files.example.test/b.jpg"],
    };
    const first = await json(await patch(t, a.auth, `/personal-details/${a.uid}`, full));
    expect(first).toMatchObject({ ...full, dateOfBirth: "1990-05-17", sex: "male" });
    const second = await json<Record<string, unknown>>(
      await patch(t, a.auth, `/personal-details/${a.uid}`, {
        name: { middleName: null, suffix: "III" },
        address: { city: "Taguig" },
        identityImages: ["https://files.example.test/c.jpg"],
        maritalStatus: null,
      }),
    );
    expect(second.name).toEqual({ prefix: "Dr.", firstName: "Juan", lastName: "Dela Cruz", suffix: "III" });
    expect(second.address).toEqual({
      street1: "1 Rizal St",
      city: "Taguig",
      province: "Metro Manila",
      country: "PH",
    });
    expect(second.identityImages).toEqual(["https://files.example.test/c.jpg"]);
    expect(second).not.toHaveProperty("maritalStatus");
    expect(await json(await get(t, a.auth, `/personal-details/${a.uid}`))).toEqual(second);
  });

  it("a truthy doc_PRCLicenseNo makes a doctor (Human Verification); identity images queue the receipt", async () => {
    const t = await tenant();
    const a = await account(t);
    await patch(t, a.auth, `/personal-details/${a.uid}`, { doc_PRCLicenseNo: 1234 });
    expect((await json<Account>(await get(t, a.auth, `/accounts/${a.uid}`))).isDoctor).toBe(true);
    await patch(t, a.auth, `/personal-details/${a.uid}`, {
      identityImages: ["https://files.example.test/id.jpg"],
    });
    const templates = (await messagesTo(t, a.email as string)).map((m) => m.template);
    expect(templates).toEqual([
      "welcome",
      "email_verification",
      "human_verification",
      "identity_validation_receipt",
    ]);
    await patch(t, a.auth, `/personal-details/${a.uid}`, { doc_PRCLicenseNo: null });
    expect((await json<Account>(await get(t, a.auth, `/accounts/${a.uid}`))).isDoctor).toBe(false);
  });

  it("is one identity store: /api_v3 sees the names, birth date, sex and marital status", async () => {
    const clinic = await createClinic();
    const t = { code: clinic.code, headers: { "X-AccountCode": clinic.code } };
    const a = await account(t);
    await patch(t, a.auth, `/personal-details/${a.uid}`, {
      name: { firstName: "Maria", lastName: "Clara" },
      dateOfBirth: "1985-01-02",
      sex: "female",
      maritalStatus: "widowed",
    });
    const res = await call("GET", `/api_v3/users/${a.uid}`, { headers: clinic.server });
    expect(res.status).toBe(200);
    const { data } = await json<{ data: Record<string, unknown> }>(res);
    expect(data).toMatchObject({ first_name: "Maria", last_name: "Clara", dob: "1985-01-02", gender: 2 });
    expect(data.extra).toEqual({ marital_status: "widowed" });
  });

  it("is strict, and owner only", async () => {
    const t = await tenant();
    const a = await account(t);
    const b = await signup(t);
    const bad = await patch(t, a.auth, `/personal-details/${a.uid}`, {
      name: { firstName: "x".repeat(101) },
      address: { street2: "no" },
      identityImages: "not-a-list",
      dateOfBirth: "2999-01-01",
      bloodType: "O+",
    });
    expect((await expectFeathersError(bad, 400)).errors).toEqual({
      "name.firstName": "must be at most 100 characters",
      "address.street2": "is not an allowed field",
      identityImages: "must be an array",
      dateOfBirth: "must not be in the future",
      bloodType: "is not an allowed field",
    });
    await expectFeathersError(await get(t, a.auth, `/personal-details/${b.uid}`), 404);
    await expectFeathersError(
      await patch(t, a.auth, `/personal-details/${b.uid}`, { maritalStatus: "single" }),
      404,
    );
    const row = await env.DB.prepare("SELECT details FROM users WHERE id = ?")
      .bind(Number(b.uid))
      .first<{ details: string }>();
    expect(row?.details).toBe("{}");
  });
});
