/**
 * Passwords with lone surrogates (issue 16, finding 12). A lone surrogate has no UTF-8 form: hashing the
 * password's UTF-8 bytes turned U+D800, U+DFFF and U+FFFD alike into EF BF BD, so "…\uD800×5" also
 * accepted "…\uDFFF×5" and "…\uFFFD×5". Every family's password field now refuses text that is not
 * well-formed UTF-16, with a validation error in the family's shape. (The register and admin families
 * take no password.) JSON is the only body that can carry a lone surrogate: urlencoded and multipart
 * bodies are UTF-8 and decode one to U+FFFD before any schema sees it.
 */
import { describe, expect, it } from "vitest";
import { email as newEmail, signup, tenant } from "../accounts/support";
import { call, createClinic, json } from "../helpers";
import { loginForm, ORIGIN } from "../portal/support";
import { setPassword, sso } from "../vsee/support";

const MESSAGE = "must be valid Unicode text (no unpaired surrogate characters)";
const HIGH = `correct horse ${"\uD800".repeat(5)}`;
const LOW = `correct horse ${"\uDFFF".repeat(5)}`;
const REPLACEMENT = `correct horse ${"\uFFFD".repeat(5)}`;
const ILL_FORMED = [HIGH, LOW, `${"\uDBFF".repeat(8)}`, `pass\uDC00word-x`, `pass\uD83Dword-x`];

const vseeError = (param: string) => ({
  code: 400,
  message: `${param}: ${MESSAGE}`,
  errors: [{ param, message: MESSAGE }],
});

describe("VSee family (/api_v3)", () => {
  it("refuses a new password that is not well-formed (POST /me), and keeps the old one", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    for (const password of ILL_FORMED) {
      const res = await call("POST", "/api_v3/me", { headers: user.auth, json: { password } });
      expect(res.status, JSON.stringify(password)).toBe(400);
      expect(await json(res)).toEqual(vseeError("password"));
    }
    // Nothing was set: the user is still pending a first password, which a well-formed one sets.
    const first = await setPassword(user, REPLACEMENT);
    const login = (password: string) =>
      call("POST", "/api_v3/users/login", {
        headers: { "X-AccountCode": clinic.code },
        json: { username: user.username, password },
      });
    expect((await login(first)).status).toBe(200);
    // The attack: a lone-surrogate password that collided with U+FFFD×5 is refused, not signed in.
    for (const password of [HIGH, LOW]) {
      const res = await login(password);
      expect(res.status).toBe(400);
      expect(await json(res)).toEqual(vseeError("password"));
    }
    const change = await call("POST", "/api_v3/me", {
      headers: user.auth,
      json: { old_password: HIGH, password: "a new good password" },
    });
    expect(change.status).toBe(400);
    expect(await json(change)).toEqual(vseeError("old_password"));
  });

  it("accepts well-formed passwords outside the BMP (emoji are surrogate pairs)", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    const password = await setPassword(user, "🔒🔒 horse 🐴 battery");
    const ok = await call("POST", "/api_v3/users/login", {
      headers: { "X-AccountCode": clinic.code },
      json: { username: user.username, password },
    });
    expect(ok.status).toBe(200);
    const other = await call("POST", "/api_v3/users/login", {
      headers: { "X-AccountCode": clinic.code },
      json: { username: user.username, password: "🔒🔓 horse 🐴 battery" },
    });
    expect(other.status).toBe(401);
  });
});

describe("accounts family", () => {
  it("refuses a lone-surrogate password at sign-up and sign-in (Feathers BadRequest)", async () => {
    const t = await tenant();
    const expected = {
      name: "BadRequest",
      message: expect.any(String),
      code: 400,
      className: "bad-request",
      errors: { password: MESSAGE },
    };
    for (const password of [HIGH, LOW]) {
      const up = await call("POST", "/accounts", {
        headers: t.headers,
        json: { email: newEmail(), password },
      });
      expect(up.status).toBe(400);
      expect(await json(up)).toEqual(expected);
    }
    const acct = await signup(t, { password: REPLACEMENT });
    for (const password of [HIGH, LOW]) {
      const res = await call("POST", "/authentication", {
        headers: t.headers,
        json: { strategy: "local", email: acct.email, password },
      });
      expect(res.status).toBe(400);
      expect(await json(res)).toEqual(expected);
    }
    const right = await call("POST", "/authentication", {
      headers: t.headers,
      json: { strategy: "local", email: acct.email, password: REPLACEMENT },
    });
    expect(right.status).toBe(201);
  });
});

describe("portal /login form", () => {
  it("answers a lone-surrogate password with a 400 page naming the field, and sets no session", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    await setPassword(user, REPLACEMENT);
    const form = await loginForm();
    const res = await call("POST", "/login", {
      headers: { cookie: `__Host-ce_login=${form.nonce}`, origin: ORIGIN },
      json: { csrf: form.csrf, clinic: clinic.code, username: user.username, password: HIGH },
    });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(await res.text()).toContain(`password: ${MESSAGE}`);
    expect(res.headers.getSetCookie().some((l) => l.startsWith("ce_session="))).toBe(false);
  });
});

describe("lib/password (defence in depth behind the schemas)", () => {
  it("never verifies a lone-surrogate password against the hash of its U+FFFD twin, and refuses to hash one", async () => {
    const { hashPassword, verifyPassword } = await import("../../src/lib/password");
    const stored = await hashPassword(REPLACEMENT);
    expect(await verifyPassword(REPLACEMENT, stored)).toBe(true);
    expect(await verifyPassword(HIGH, stored)).toBe(false);
    expect(await verifyPassword(LOW, stored)).toBe(false);
    await expect(hashPassword(HIGH)).rejects.toThrow();
  });
});
