/**
 * POST /accounts (seed 002 "Creating an account", "Doctor Accounts", "Onboarding"): the account, its
 * personal details and the onboarding messages in one batch; the password policy; strict input.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { call, json } from "../helpers";
import {
  type Account,
  codeFrom,
  email,
  env,
  expectFeathersError,
  messagesTo,
  mobile,
  PASSWORD,
  signup,
  tenant,
} from "./support";

afterEach(() => vi.restoreAllMocks());

describe("POST /accounts: happy paths", () => {
  it("creates an account with the seed's payload: Welcome and an Email Verification code", async () => {
    const t = await tenant();
    const address = email();
    const res = await call("POST", "/accounts", {
      headers: t.headers,
      json: { email: address, password: "supersecretpass" },
    });
    expect(res.status).toBe(201);
    const account = await json<Account & Record<string, unknown>>(res);
    expect(account).toEqual({
      uid: expect.stringMatching(/^\d+$/),
      email: address,
      mobileNo: null,
      isEmailVerified: false,
      isMobileNoVerified: false,
      isDoctor: false,
      isDisabled: false,
      isFirstLogin: true,
      mfaEnabled: false,
      createdAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      updatedAt: expect.any(String),
    });
    expect(JSON.stringify(account)).not.toContain("supersecretpass");
    const templates = (await messagesTo(t, address)).map((m) => m.template);
    expect(templates).toEqual(["welcome", "email_verification"]);
    expect(await codeFrom(t, address, "email_verification")).toMatch(/^\d{6}$/);
    // The password is stored as an argon2id hash.
    const row = await env.DB.prepare("SELECT password_hash, type, status FROM users WHERE id = ?")
      .bind(Number(account.uid))
      .first<{ password_hash: string; type: number; status: number }>();
    expect(row?.password_hash).toMatch(/^\$argon2id\$/);
    expect(row).toMatchObject({ type: 200, status: 20 });
  });

  it("a doctor (truthy doc_PRCLicenseNo): Welcome and Human Verification, no email code", async () => {
    const t = await tenant();
    const address = email();
    // The seed's minimal doctor payload (its password "password" is too common: see the policy test).
    const account = await signup(t, {
      email: address,
      password: "correct horse battery",
      personalDetails: { doc_PRCLicenseNo: 1234 },
    });
    expect(account.isDoctor).toBe(true);
    const templates = (await messagesTo(t, address)).map((m) => m.template);
    expect(templates).toEqual(["welcome", "human_verification"]);
  });

  it("doc_PRCLicenseNo 0, null or empty is not a doctor", async () => {
    const t = await tenant();
    for (const value of [0, null, "", "0"]) {
      const account = await signup(t, { personalDetails: { doc_PRCLicenseNo: value } });
      expect(account.isDoctor, String(value)).toBe(false);
    }
  });

  it("a Philippine mobile number gets an SMS code; both spellings are one number", async () => {
    const t = await tenant();
    const local = mobile();
    const account = await signup(t, { email: undefined, mobileNo: `+63${local.slice(1)}` });
    expect(account).toMatchObject({ email: null, mobileNo: local });
    const sms = await messagesTo(t, local);
    expect(sms.map((m) => [m.channel, m.template])).toEqual([["sms", "sms_verification"]]);
    expect(sms[0]?.body_html).toBeNull();
    expect(await codeFrom(t, local, "sms_verification")).toMatch(/^\d{6}$/);

    const again = await call("POST", "/accounts", {
      headers: t.headers,
      json: { mobileNo: local, password: PASSWORD },
    });
    const body = await expectFeathersError(again, 409);
    expect(body.errors).toEqual({ mobileNo: "is already in use" });
  });

  it("a non-Philippine mobile number is kept but gets no SMS", async () => {
    const t = await tenant();
    const address = email();
    const account = await signup(t, { email: address, mobileNo: "+14155550123" });
    expect(account.mobileNo).toBe("+14155550123");
    expect(await messagesTo(t, "+14155550123")).toEqual([]);
  });

  it("stores the personal details given at signup, and identity images queue the receipt", async () => {
    const t = await tenant();
    const address = email();
    const account = await signup(t, {
      email: address,
      personalDetails: {
        name: { firstName: "First", lastName: "Last" },
        maritalStatus: "single",
        identityImages: ["https://files.example.test/id-front.jpg"],
      },
    });
    const row = await env.DB.prepare("SELECT first_name, last_name, details, extra FROM users WHERE id = ?")
      .bind(Number(account.uid))
      .first<{ first_name: string; last_name: string; details: string; extra: string }>();
    expect(row).toMatchObject({ first_name: "First", last_name: "Last" });
    expect(JSON.parse(row?.details ?? "{}")).toEqual({
      maritalStatus: "single",
      identityImages: ["https://files.example.test/id-front.jpg"],
    });
    expect(JSON.parse(row?.extra ?? "{}")).toEqual({ marital_status: "single" });
    const templates = (await messagesTo(t, address)).map((m) => m.template);
    expect(templates).toEqual(["welcome", "email_verification", "identity_validation_receipt"]);
    const welcome = (await messagesTo(t, address))[0];
    // The address is not verified yet: the message does not repeat the name the signup wrote (templates.ts).
    expect(welcome?.body_text).toContain("Hello,");
    expect(welcome?.body_text).not.toContain("First");
    expect(welcome?.subject).toContain(`Clinic ${t.code}`);
    expect(welcome?.body_html).toContain("<p>");
  });

  it("accepts urlencoded and multipart bodies alike", async () => {
    const t = await tenant();
    const form = await call("POST", "/accounts", {
      headers: t.headers,
      form: { email: email(), password: PASSWORD, "personalDetails[name][firstName]": "Form" },
    });
    expect(form.status).toBe(201);
    const multipart = await call("POST", "/accounts", {
      headers: t.headers,
      multipart: { email: email(), password: PASSWORD, "personalDetails[doc_PRCLicenseNo]": "778899" },
    });
    expect(multipart.status).toBe(201);
    expect((await json<Account>(multipart)).isDoctor).toBe(true);
  });

  it("uses the default clinic when no X-AccountCode is sent", async () => {
    const seeded = await call("GET", `/admin/clinics/${env.DEFAULT_ACCOUNT_CODE}`, {
      headers: { authorization: `Bearer ${env.ADMIN_API_KEY}` },
    });
    if (seeded.status === 404) {
      await call("POST", "/admin/clinics", {
        headers: { authorization: `Bearer ${env.ADMIN_API_KEY}` },
        json: { code: env.DEFAULT_ACCOUNT_CODE, name: "Default", domain: "default.example.test" },
      });
    }
    const address = email();
    const res = await call("POST", "/accounts", { json: { email: address, password: PASSWORD } });
    expect(res.status).toBe(201);
    const row = await env.DB.prepare(
      "SELECT c.code FROM users u JOIN clinics c ON c.id = u.clinic_id WHERE u.email = ?",
    )
      .bind(address)
      .first<{ code: string }>();
    expect(row?.code).toBe(env.DEFAULT_ACCOUNT_CODE);
  });
});

describe("POST /accounts: refusals", () => {
  it("enforces the password policy: 8..128 characters, not a common password", async () => {
    const t = await tenant();
    const cases: [string, string][] = [
      ["short12", "must be at least 8 characters"],
      ["x".repeat(129), "must be at most 128 characters"],
      ["password", "is too common: choose a password that is harder to guess"],
      ["Password1", "is too common: choose a password that is harder to guess"],
      ["iloveyou", "is too common: choose a password that is harder to guess"],
    ];
    for (const [password, message] of cases) {
      const res = await call("POST", "/accounts", { headers: t.headers, json: { email: email(), password } });
      const body = await expectFeathersError(res, 400);
      expect(body).toMatchObject({ name: "BadRequest", className: "bad-request" });
      expect(body.errors).toEqual({ password: message });
    }
  });

  it("refuses unknown fields, bad identities and a missing identity, field by field", async () => {
    const t = await tenant();
    const res = await call("POST", "/accounts", {
      headers: t.headers,
      json: {
        email: "not-an-email",
        mobileNo: "12ab",
        password: PASSWORD,
        isDoctor: true,
        personalDetails: { name: { nickname: "x" }, sex: "other", dateOfBirth: "2001-02-30" },
      },
    });
    const body = await expectFeathersError(res, 400);
    expect(body.errors).toEqual({
      email: "must be a valid email address",
      mobileNo: "must be a mobile number, e.g. 09171234567 or +639171234567",
      isDoctor: "is not an allowed field",
      "personalDetails.name.nickname": "is not an allowed field",
      "personalDetails.sex": "must be male or female",
      "personalDetails.dateOfBirth": "must be a valid date",
    });
    const none = await call("POST", "/accounts", { headers: t.headers, json: { password: PASSWORD } });
    expect((await expectFeathersError(none, 400)).errors).toEqual({ email: "email or mobileNo is required" });
  });

  it("refuses an email already in use (any case) and writes nothing, messages included", async () => {
    const t = await tenant();
    const address = email();
    await signup(t, { email: address });
    const before = await env.DB.prepare("SELECT count(*) AS n FROM outbox").first<{ n: number }>();
    const res = await call("POST", "/accounts", {
      headers: t.headers,
      json: { email: address.toUpperCase(), password: PASSWORD, mobileNo: mobile() },
    });
    expect((await expectFeathersError(res, 409)).errors).toEqual({ email: "is already in use" });
    const after = await env.DB.prepare("SELECT count(*) AS n FROM outbox").first<{ n: number }>();
    expect(after?.n).toBe(before?.n);
  });

  it("answers 404 for an unknown clinic and 403 for a disabled one", async () => {
    const unknown = await call("POST", "/accounts", {
      headers: { "X-AccountCode": "no-such-clinic" },
      json: { email: email(), password: PASSWORD },
    });
    await expectFeathersError(unknown, 404, "Unknown account");
    const t = await tenant();
    await call("PATCH", `/admin/clinics/${t.code}`, {
      headers: { authorization: `Bearer ${env.ADMIN_API_KEY}` },
      json: { disabled: true },
    });
    const disabled = await call("POST", "/accounts", {
      headers: t.headers,
      json: { email: email(), password: PASSWORD },
    });
    await expectFeathersError(disabled, 403);
  });

  it("a failure inside the batch leaves no account and no message", async () => {
    const t = await tenant();
    const address = email();
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const batch = env.DB.batch.bind(env.DB);
    vi.spyOn(env.DB, "batch").mockImplementation(async (statements) => {
      // The last statement (a message) fails: D1 rolls the whole batch back.
      const broken = [...statements.slice(0, -1), env.DB.prepare("INSERT INTO no_such_table VALUES (1)")];
      return batch(broken);
    });
    const res = await call("POST", "/accounts", {
      headers: t.headers,
      json: { email: address, password: PASSWORD },
    });
    await expectFeathersError(res, 500, "Internal server error");
    expect(errors).toHaveBeenCalledTimes(1);
    vi.restoreAllMocks();
    const user = await env.DB.prepare("SELECT id FROM users WHERE email = ?").bind(address).first();
    expect(user).toBeNull();
    expect(await messagesTo(t, address)).toEqual([]);
  });
});
