/**
 * Two-factor sign-in (seed 002 "2FA Login"): setupMFA → verifyMFASecret → sign-in with 206 "Missing MFA
 * token", wrong codes, replays of a used code, and turning MFA off. Codes are computed here from the
 * secret the API returned; the TOTP implementation itself is checked against RFC 4226/6238 vectors.
 */

import { Secret } from "otpauth";
import { afterEach, describe, expect, it } from "vitest";
import { hotp, otpauthUri, verifyTotp } from "../../src/lib/totp";
import { call, clock, json } from "../helpers";
import {
  account,
  act,
  env,
  expectFeathersError,
  login,
  PASSWORD,
  type Tenant,
  tenant,
  totp,
} from "./support";

afterEach(() => clock.reset());

interface Setup {
  uid: string;
  enabled: boolean;
  dataURL: string;
  secret: string;
}

async function enrolled(t: Tenant) {
  const a = await account(t);
  const setup = await json<Setup>(await act(t, { action: "setupMFA", enable: true }, a.auth));
  const verified = await act(t, { action: "verifyMFASecret", totpToken: await totp(setup.secret) }, a.auth);
  expect(await json(verified)).toEqual({ verified: true });
  return { ...a, secret: setup.secret };
}

describe("TOTP", () => {
  it("matches the RFC 4226 HOTP test values and RFC 6238 at T=59", async () => {
    const secret = Secret.fromUTF8("12345678901234567890").base32;
    expect(secret).toBe("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    expect(new TextDecoder().decode(Secret.fromBase32(secret).bytes)).toBe("12345678901234567890");
    const expected = [
      "755224",
      "287082",
      "359152",
      "969429",
      "338314",
      "254676",
      "287922",
      "162583",
      "399871",
      "520489",
    ];
    for (const [counter, value] of expected.entries()) expect(await hotp(secret, counter)).toBe(value);
    // RFC 6238 Appendix B, SHA-1, T = 59 s: 94287082 (8 digits) → 287082 in 6.
    expect(await verifyTotp(secret, "287082", 59)).toBe(1);
    expect(await verifyTotp(secret, "287082", 59 + 90)).toBeNull();
    expect(otpauthUri(secret, "My Clinic", "a@b.test")).toBe(
      "otpauth://totp/My%20Clinic:a%40b.test?issuer=My%20Clinic&secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=6&period=30",
    );
  });
});

describe("setupMFA / verifyMFASecret / sign-in", () => {
  it("enrols: a secret and a QR code, in force only after verifyMFASecret", async () => {
    clock.freeze();
    const t = await tenant();
    const a = await account(t);
    const res = await act(t, { action: "setupMFA", enable: true }, a.auth);
    expect(res.status).toBe(201);
    const setup = await json<Setup>(res);
    expect(setup).toEqual({
      uid: a.uid,
      enabled: false,
      dataURL: expect.stringMatching(/^data:image\/svg\+xml;base64,/),
      secret: expect.stringMatching(/^[A-Z2-7]{32}$/),
    });
    expect(atob(setup.dataURL.split(",")[1] as string)).toContain("<svg");
    // Stored encrypted, never in clear.
    const row = await env.DB.prepare("SELECT mfa_secret, mfa_enabled FROM users WHERE id = ?")
      .bind(Number(a.uid))
      .first<{ mfa_secret: string; mfa_enabled: number }>();
    expect(row?.mfa_secret).toMatch(/^v2\./);
    expect(row?.mfa_secret).not.toContain(setup.secret);
    expect(row?.mfa_enabled).toBe(0);
    // Not yet in force: sign-in needs no code.
    expect((await act(t, { strategy: "local", email: a.email, password: PASSWORD })).status).toBe(201);

    const wrong = await act(t, { action: "verifyMFASecret", totpToken: await totp(setup.secret, 5) }, a.auth);
    await expectFeathersError(wrong, 401, "Invalid MFA token");
    const ok = await act(t, { action: "verifyMFASecret", totpToken: await totp(setup.secret) }, a.auth);
    expect(await json(ok)).toEqual({ verified: true });
    const me = await json<{ mfaEnabled: boolean }>(
      await call("GET", `/accounts/${a.uid}`, { headers: { ...t.headers, ...a.auth } }),
    );
    expect(me.mfaEnabled).toBe(true);
  });

  it("sign-in: 206 Missing MFA token, 401 for a wrong code, 201 with the right one, replay refused", async () => {
    clock.freeze();
    const t = await tenant();
    const a = await enrolled(t);
    const missing = await act(t, { strategy: "local", email: a.email, password: PASSWORD });
    expect(missing.status).toBe(206);
    expect(await json(missing)).toEqual({ code: 206, message: "Missing MFA token" });
    // A wrong password still answers the plain 401 (no hint that MFA is on).
    await expectFeathersError(
      await act(t, { strategy: "local", email: a.email, password: "wrong-password" }),
      401,
      "Invalid login",
    );

    clock.advance(30);
    const wrong = await act(t, {
      strategy: "local",
      email: a.email,
      password: PASSWORD,
      totpToken: await totp(a.secret, 3),
    });
    await expectFeathersError(wrong, 401, "Invalid MFA token");
    const code = await totp(a.secret);
    const ok = await act(t, { strategy: "local", email: a.email, password: PASSWORD, totpToken: code });
    expect(ok.status).toBe(201);
    // The same code again, within its step: refused.
    const replay = await act(t, { strategy: "local", email: a.email, password: PASSWORD, totpToken: code });
    await expectFeathersError(replay, 401, "Invalid MFA token");
    // The previous step's code (still inside the drift window) is older than the one used: refused too.
    const older = await act(t, {
      strategy: "local",
      email: a.email,
      password: PASSWORD,
      totpToken: await totp(a.secret, -1),
    });
    expect(older.status).toBe(401);
    // The next step works.
    clock.advance(30);
    expect((await login(t, { email: a.email, totpToken: await totp(a.secret) })).uid).toBe(a.uid);
  });

  it("turning MFA off needs a current code; enabling twice is refused", async () => {
    clock.freeze();
    const t = await tenant();
    const a = await enrolled(t);
    await expectFeathersError(
      await act(t, { action: "setupMFA", enable: true }, a.auth),
      400,
      "MFA is already enabled: disable it first",
    );
    const noCode = await act(t, { action: "setupMFA", enable: false }, a.auth);
    expect((await expectFeathersError(noCode, 400)).errors).toEqual({
      totpToken: "is required to disable MFA",
    });
    clock.advance(30);
    const wrong = await act(
      t,
      { action: "setupMFA", enable: false, totpToken: await totp(a.secret, 4) },
      a.auth,
    );
    await expectFeathersError(wrong, 401, "Invalid MFA token");
    const off = await act(
      t,
      { action: "setupMFA", enable: "false", totpToken: await totp(a.secret) },
      a.auth,
    );
    expect(await json(off)).toEqual({ uid: a.uid, enabled: false });
    expect((await act(t, { strategy: "local", email: a.email, password: PASSWORD })).status).toBe(201);
    const row = await env.DB.prepare("SELECT mfa_secret FROM users WHERE id = ?").bind(Number(a.uid)).first();
    expect(row).toEqual({ mfa_secret: null });
  });

  it("MFA actions need the caller's token, and verifyMFASecret needs an enrolment", async () => {
    const t = await tenant();
    await expectFeathersError(await act(t, { action: "setupMFA", enable: true }), 401);
    const a = await account(t);
    await expectFeathersError(
      await act(t, { action: "verifyMFASecret", totpToken: "123456" }, a.auth),
      400,
      /No MFA enrolment/,
    );
    const bad = await act(t, { action: "verifyMFASecret", totpToken: "12345" }, a.auth);
    expect((await expectFeathersError(bad, 400)).errors).toEqual({
      totpToken: "must be the 6-digit code from your authenticator app",
    });
  });

  it("wrong codes at sign-in count towards the lockout", async () => {
    clock.freeze();
    const t = await tenant();
    const a = await enrolled(t);
    for (let i = 0; i < 4; i++) {
      const res = await act(t, {
        strategy: "local",
        email: a.email,
        password: PASSWORD,
        totpToken: await totp(a.secret, 7),
      });
      expect(res.status).toBe(401);
    }
    const locked = await act(t, {
      strategy: "local",
      email: a.email,
      password: PASSWORD,
      totpToken: await totp(a.secret, 7),
    });
    await expectFeathersError(locked, 429);
  });
});
