/**
 * Account actions with codes (seed 002 "Verifying an account's login credentials", "Change login
 * identity", "Change password"): codes are single-use, expire after 10 minutes (injected clock), are
 * bound to their account and limited in attempts; the password reset is enumeration-safe.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { call, clock, json } from "../helpers";
import {
  type Account,
  account,
  act,
  bearer,
  codeFrom,
  email,
  env,
  expectFeathersError,
  login,
  messagesTo,
  mobile,
  PASSWORD,
  signup,
  type Tenant,
  tenant,
} from "./support";

afterEach(() => {
  clock.reset();
  vi.restoreAllMocks();
});

const NEW_PASSWORD = "a much better passphrase";

async function accountOf(t: Tenant, auth: Record<string, string>, uid: string): Promise<Account> {
  return json<Account>(await call("GET", `/accounts/${uid}`, { headers: { ...t.headers, ...auth } }));
}

describe("applyActionCode: email and SMS verification", () => {
  it("verifies the email with the signup code (authenticated caller)", async () => {
    const t = await tenant();
    const a = await account(t);
    const code = await codeFrom(t, a.email as string, "email_verification");
    const res = await act(t, { action: "applyActionCode", code }, a.auth);
    expect(res.status).toBe(201);
    expect(await json(res)).toMatchObject({ uid: a.uid, isEmailVerified: true });
    expect((await accountOf(t, a.auth, a.uid)).isEmailVerified).toBe(true);
  });

  it("verifies without a token when the account is named by email or mobileNo", async () => {
    const t = await tenant();
    const number = mobile();
    const created = await signup(t, { email: email(), mobileNo: number });
    const emailCode = await codeFrom(t, created.email as string, "email_verification");
    const smsCode = await codeFrom(t, number, "sms_verification");
    const byEmail = await act(t, { action: "applyActionCode", code: emailCode, email: created.email });
    expect(await json(byEmail)).toMatchObject({ isEmailVerified: true, isMobileNoVerified: false });
    const bySms = await act(t, {
      action: "applyActionCode",
      code: smsCode,
      mobileNo: `+63${number.slice(1)}`,
    });
    expect(await json(bySms)).toMatchObject({ isEmailVerified: true, isMobileNoVerified: true });
    const neither = await act(t, { action: "applyActionCode", code: smsCode });
    expect((await expectFeathersError(neither, 400)).errors).toEqual({
      email: "email or mobileNo is required without an access token",
    });
  });

  it("a code works once", async () => {
    const t = await tenant();
    const a = await account(t);
    const code = await codeFrom(t, a.email as string, "email_verification");
    expect((await act(t, { action: "applyActionCode", code }, a.auth)).status).toBe(201);
    await expectFeathersError(
      await act(t, { action: "applyActionCode", code }, a.auth),
      401,
      "Invalid or expired code",
    );
  });

  it("a code expires after 10 minutes", async () => {
    const t = await tenant();
    clock.freeze();
    const created = await signup(t);
    const code = await codeFrom(t, created.email as string, "email_verification");
    clock.advance(10 * 60 + 1);
    const res = await act(t, { action: "applyActionCode", code, email: created.email });
    await expectFeathersError(res, 401, "Invalid or expired code");
  });

  it("a code is bound to its account", async () => {
    const t = await tenant();
    const alice = await account(t);
    const bob = await account(t);
    const aliceCode = await codeFrom(t, alice.email as string, "email_verification");
    await expectFeathersError(await act(t, { action: "applyActionCode", code: aliceCode }, bob.auth), 401);
    await expectFeathersError(
      await act(t, { action: "applyActionCode", code: aliceCode, email: bob.email }),
      401,
    );
    // Still good for its own account.
    expect((await act(t, { action: "applyActionCode", code: aliceCode }, alice.auth)).status).toBe(201);
  });

  it("attempts are limited: 5 wrong guesses kill the code", async () => {
    const t = await tenant();
    const a = await account(t);
    const code = await codeFrom(t, a.email as string, "email_verification");
    const wrong = code === "000000" ? "111111" : "000000";
    for (let i = 0; i < 5; i++) {
      await expectFeathersError(await act(t, { action: "applyActionCode", code: wrong }, a.auth), 401);
    }
    await expectFeathersError(await act(t, { action: "applyActionCode", code }, a.auth), 401);
  });

  it("unknown identities answer like wrong codes, and guessing locks the identity", async () => {
    const t = await tenant();
    const created = await signup(t);
    const unknown = await act(t, { action: "applyActionCode", code: "123456", email: email() });
    const wrong = await act(t, { action: "applyActionCode", code: "123456", email: created.email });
    expect(unknown.status).toBe(wrong.status);
    expect(await json(unknown)).toEqual(await json(wrong));
    for (let i = 0; i < 4; i++)
      await act(t, { action: "applyActionCode", code: "123456", email: created.email });
    await expectFeathersError(
      await act(t, { action: "applyActionCode", code: "123456", email: created.email }),
      429,
    );
  });

  it("sendVerificationEmail / sendVerificationSms send new codes; the old one stops working", async () => {
    const t = await tenant();
    const number = mobile();
    const a = await account(t, { mobileNo: number });
    const first = await codeFrom(t, a.email as string, "email_verification");
    const sent = await act(t, { action: "sendVerificationEmail" }, a.auth, true);
    expect(sent.status).toBe(201);
    expect(await json(sent)).toEqual({ sent: true });
    const second = await codeFrom(t, a.email as string, "email_verification");
    expect(
      (await messagesTo(t, a.email as string)).filter((m) => m.template === "email_verification"),
    ).toHaveLength(2);
    if (second !== first)
      await expectFeathersError(await act(t, { action: "applyActionCode", code: first }, a.auth), 401);
    expect((await act(t, { action: "applyActionCode", code: second }, a.auth)).status).toBe(201);
    // Nothing left to verify: a clear error.
    await expectFeathersError(
      await act(t, { action: "sendVerificationEmail" }, a.auth),
      400,
      "The account has no unverified email",
    );
    expect((await act(t, { action: "sendVerificationSms" }, a.auth, true)).status).toBe(201);
    expect((await messagesTo(t, number)).filter((m) => m.template === "sms_verification")).toHaveLength(2);
  });

  it("sendVerificationEmail without a token answers the same for known and unknown emails", async () => {
    const t = await tenant();
    const created = await signup(t);
    const known = await act(t, { action: "sendVerificationEmail", email: created.email }, {}, true);
    const unknownEmail = email();
    const unknown = await act(t, { action: "sendVerificationEmail", email: unknownEmail }, {}, true);
    expect([known.status, unknown.status]).toEqual([201, 201]);
    expect(await json(known)).toEqual(await json(unknown));
    expect(
      (await messagesTo(t, created.email as string)).filter((m) => m.template === "email_verification"),
    ).toHaveLength(2);
    expect(await messagesTo(t, unknownEmail)).toEqual([]);
  });

  it("caps codes per account per hour", async () => {
    const t = await tenant();
    const a = await account(t);
    // One was sent at signup; four more are allowed within the hour.
    for (let i = 0; i < 4; i++)
      expect((await act(t, { action: "sendVerificationEmail" }, a.auth)).status).toBe(201);
    await expectFeathersError(
      await act(t, { action: "sendVerificationEmail" }, a.auth),
      429,
      "Too many codes sent",
    );
  });
});

describe("changeIdentity and changePassword", () => {
  it("changes the email after the code sent to the new address is applied", async () => {
    const t = await tenant();
    const a = await account(t);
    const next = email();
    const res = await act(
      t,
      { action: "changeIdentity", identityKey: "email", identity: next },
      a.auth,
      true,
    );
    expect(res.status).toBe(201);
    expect(await json(res)).toEqual({ sent: true });
    expect((await accountOf(t, a.auth, a.uid)).email).toBe(a.email);
    const code = await codeFrom(t, next, "identity_change");
    const applied = await act(t, { action: "applyActionCode", code }, a.auth);
    expect(await json(applied)).toMatchObject({ email: next, isEmailVerified: true });
    expect((await login(t, { email: next })).uid).toBe(a.uid);
    await expectFeathersError(await act(t, { strategy: "local", email: a.email, password: PASSWORD }), 401);
  });

  it("changes the mobile number through an SMS code", async () => {
    const t = await tenant();
    const a = await account(t);
    const number = mobile();
    expect(
      (await act(t, { action: "changeIdentity", identityKey: "mobileNo", identity: number }, a.auth, true))
        .status,
    ).toBe(201);
    const sms = (await messagesTo(t, number)).at(-1);
    expect(sms).toMatchObject({ channel: "sms", template: "identity_change" });
    const code = await codeFrom(t, number, "identity_change");
    const applied = await json(await act(t, { action: "applyActionCode", code }, a.auth));
    expect(applied).toMatchObject({ mobileNo: number, isMobileNoVerified: true });
  });

  it("refuses identities in use, unchanged, malformed or unreachable", async () => {
    const t = await tenant();
    const a = await account(t);
    const b = await signup(t);
    const cases: [Record<string, string>, string][] = [
      [{ identityKey: "email", identity: b.email as string }, "is already in use"],
      [
        { identityKey: "email", identity: (a.email as string).toUpperCase() },
        "is already the account's email",
      ],
      [{ identityKey: "email", identity: "nope" }, "must be a valid email address"],
      [
        { identityKey: "mobileNo", identity: "+14155550123" },
        "must be a Philippine mobile number (the confirmation code is sent by SMS)",
      ],
    ];
    for (const [body, message] of cases) {
      const res = await act(t, { action: "changeIdentity", ...body }, a.auth);
      expect((await expectFeathersError(res, 400)).errors).toEqual({ identity: message });
    }
    const key = await act(t, { action: "changeIdentity", identityKey: "username", identity: "x" }, a.auth);
    expect((await expectFeathersError(key, 400)).errors).toEqual({
      identityKey: "must be email or mobileNo",
    });
    await expectFeathersError(
      await act(t, { action: "changeIdentity", identityKey: "email", identity: email() }),
      401,
      "An access token is required for this action",
    );
  });

  it("changePassword takes effect when its code is applied, and ends the other sessions", async () => {
    const t = await tenant();
    const a = await account(t);
    const other = await login(t, { email: a.email });
    const weak = await act(t, { action: "changePassword", password: "12345678" }, a.auth);
    expect((await expectFeathersError(weak, 400)).errors?.password).toMatch(/too common/);
    expect((await act(t, { action: "changePassword", password: NEW_PASSWORD }, a.auth, true)).status).toBe(
      201,
    );
    // Not yet: the old password still works.
    expect((await act(t, { strategy: "local", email: a.email, password: PASSWORD })).status).toBe(201);
    const code = await codeFrom(t, a.email as string, "password_change");
    expect((await act(t, { action: "applyActionCode", code }, a.auth)).status).toBe(201);
    await expectFeathersError(await act(t, { strategy: "local", email: a.email, password: PASSWORD }), 401);
    expect((await act(t, { strategy: "local", email: a.email, password: NEW_PASSWORD })).status).toBe(201);
    // The caller's session goes on; the other one ended.
    expect((await call("GET", `/accounts/${a.uid}`, { headers: { ...t.headers, ...a.auth } })).status).toBe(
      200,
    );
    await expectFeathersError(
      await call("GET", `/accounts/${a.uid}`, { headers: { ...t.headers, ...bearer(other.accessToken) } }),
      401,
    );
    // The code is not readable in the codes table, and the new password is stored hashed only.
    const rows = await env.DB.prepare(
      "SELECT code_hash, payload FROM codes WHERE user_id = ? AND purpose = 'password_change'",
    )
      .bind(Number(a.uid))
      .all<{ code_hash: string; payload: string }>();
    expect(JSON.stringify(rows.results)).not.toContain(code);
    expect(JSON.stringify(rows.results)).not.toContain(NEW_PASSWORD);
  });

  it("checkUniqueIdentity tells whether an email or mobile number is free", async () => {
    const t = await tenant();
    const number = mobile();
    const a = await signup(t, { mobileNo: number });
    const check = async (identityKey: string, identity: string) =>
      json(await act(t, { action: "checkUniqueIdentity", identityKey, identity }));
    expect(await check("email", a.email as string)).toEqual({ unique: false });
    expect(await check("email", email())).toEqual({ unique: true });
    expect(await check("mobileNo", `+63${number.slice(1)}`)).toEqual({ unique: false });
    expect(await check("mobileNo", mobile())).toEqual({ unique: true });
    const bad = await act(t, { action: "checkUniqueIdentity", identityKey: "mobileNo", identity: "abc" });
    expect((await expectFeathersError(bad, 400)).errors).toEqual({
      identity: "must be a mobile number, e.g. 09171234567 or +639171234567",
    });
  });
});

describe("password reset", () => {
  it("sendPasswordResetEmail answers the same for known and unknown emails; resetPassword completes it", async () => {
    const t = await tenant();
    const a = await account(t);
    const known = await act(t, { action: "sendPasswordResetEmail", email: a.email }, {}, true);
    const unknown = await act(t, { action: "sendPasswordResetEmail", email: email() }, {}, true);
    expect([known.status, unknown.status]).toEqual([201, 201]);
    expect(await json(known)).toEqual({ sent: true });
    expect(await json(unknown)).toEqual({ sent: true });
    const code = await codeFrom(t, a.email as string, "password_reset");

    const wrong = await act(t, {
      action: "resetPassword",
      email: a.email,
      code: "000000",
      password: NEW_PASSWORD,
    });
    const nobody = await act(t, { action: "resetPassword", email: email(), code, password: NEW_PASSWORD });
    expect(wrong.status).toBe(401);
    expect(await json(nobody)).toEqual(await json(wrong));

    const res = await act(t, { action: "resetPassword", email: a.email, code, password: NEW_PASSWORD });
    expect(res.status).toBe(201);
    expect(await json(res)).toEqual({ uid: a.uid });
    expect((await act(t, { strategy: "local", email: a.email, password: NEW_PASSWORD })).status).toBe(201);
    // Every earlier session ended; the code is spent.
    await expectFeathersError(
      await call("GET", `/accounts/${a.uid}`, { headers: { ...t.headers, ...a.auth } }),
      401,
    );
    await expectFeathersError(
      await act(t, { action: "resetPassword", email: a.email, code, password: "yet another passphrase" }),
      401,
    );
  });

  it("a reset code expires after 10 minutes", async () => {
    const t = await tenant();
    const a = await signup(t);
    clock.freeze();
    await act(t, { action: "sendPasswordResetEmail", email: a.email }, {}, true);
    const code = await codeFrom(t, a.email as string, "password_reset");
    clock.advance(601);
    await expectFeathersError(
      await act(t, { action: "resetPassword", email: a.email, code, password: NEW_PASSWORD }),
      401,
      "Invalid or expired code",
    );
  });
});
