/**
 * Abuse resistance: the per-client Rate Limiting binding on every credential, code-sending and signup
 * route (429 + Retry-After in each family's shape), and the per-identity lockout in D1 (login, TOTP,
 * codes) with a doubling period, configurable per clinic, that refuses even the right secret while it
 * lasts. Time moves with the injectable clock, never with sleeps.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  account,
  act,
  bearer,
  codeFrom,
  expectFeathersError,
  mobile,
  PASSWORD,
  type Tenant,
  tenant,
  totp,
} from "../accounts/support";
import { ADMIN_AUTH, type CallOptions, call, clock, createClinic, json, randomIp, uniq } from "../helpers";
import { ensureDefaultClinic } from "../register/support";
import { setPassword, sso } from "../vsee/support";

// These tests send up to ~100 requests each, many of them a password hash (argon2id, ~20-50 ms of CPU):
// more than the default 5 s per test on two shared cores. A test timeout, not a timing assertion.
vi.setConfig({ testTimeout: 60_000 });

afterEach(() => clock.reset());

const RATE_LIMITED = "Too many requests, try again later";
const LOCKED = "Too many failed attempts, try again later";

/**
 * Sends the same request from one client until the binding refuses it: at most `limit` pass, then 429
 * with Retry-After. The binding's windows are whole minutes of the wall clock: when one turns over
 * during the loop, the count starts again.
 */
async function hammer(
  method: string,
  path: string,
  request: CallOptions | ((i: number) => CallOptions),
  limit: number,
): Promise<Response> {
  const ip = randomIp();
  const minute = () => Math.floor(Date.now() / 60_000);
  let window = minute();
  let passed = 0;
  for (let i = 0; i < 2 * limit + 2; i++) {
    if (minute() !== window) {
      window = minute();
      passed = 0;
    }
    const opts = typeof request === "function" ? request(i) : request;
    const res = await call(method, path, { ...opts, headers: { ...opts.headers, "cf-connecting-ip": ip } });
    if (res.status === 429) {
      expect(passed, `${method} ${path}: 429 after ${passed}`).toBeGreaterThan(0);
      expect(passed, `${method} ${path}: ${passed} passed`).toBeLessThanOrEqual(limit);
      expect(res.headers.get("retry-after"), path).toBe("60");
      return res;
    }
    passed++;
  }
  throw new Error(`${method} ${path}: never rate-limited after ${passed} requests`);
}

describe("the Rate Limiting binding, per client, on every credential, code-sending and signup route", () => {
  it("/api_v3: 429 {code, message}", async () => {
    // A high lockout threshold: the binding, not the lockout of POST /me's one identity, answers 429 here.
    const clinic = await createClinic({ settings: { lockoutThreshold: 100 } });
    const user = await sso(clinic);
    await setPassword(user);
    const h = { "X-AccountCode": clinic.code };
    // Another identity each time: the binding, not the per-identity lockout, is what answers 429 here.
    const routes: [string, string, CallOptions | ((i: number) => CallOptions), number][] = [
      [
        "POST",
        "/api_v3/users/login",
        (i) => ({ headers: h, form: { username: `nobody${i}`, password: "whatever pass" } }),
        30,
      ],
      ["POST", "/api_v3/tokens/refresh", { headers: h, form: { refresh_token: "0".repeat(32) } }, 30],
      ["POST", "/api_v3/users/reset_password", { headers: h, form: { email: "nobody@example.test" } }, 10],
      [
        "POST",
        "/api_v3/users/activate",
        { headers: h, form: { email: "nobody@example.test", first_name: "A", last_name: "B" } },
        10,
      ],
      // Guessing the old password while signed in.
      [
        "POST",
        "/api_v3/me",
        { headers: user.auth, form: { password: "new password 1", old_password: "guess guess" } },
        30,
      ],
      // Guessing an API key (wrong keys only count).
      ["GET", "/api_v3/rooms", { headers: { "X-AccountCode": clinic.code, "X-ApiKey": "ce_wrong" } }, 30],
    ];
    for (const [method, path, opts, limit] of routes) {
      const res = await hammer(method, path, opts, limit);
      expect(await json(res), path).toEqual({ code: 429, message: RATE_LIMITED });
    }
  });

  it("accounts family: 429 in the Feathers shape", async () => {
    const t = await tenant();
    const routes: [string, string, CallOptions | ((i: number) => CallOptions), number][] = [
      [
        "POST",
        "/authentication",
        (i) => ({
          headers: t.headers,
          json: { strategy: "local", email: `x${i}@example.test`, password: "wrong" },
        }),
        30,
      ],
      ["POST", "/accounts", { headers: t.headers, json: {} }, 10],
      ["POST", "/account-waitlist", { headers: t.headers, json: {} }, 10],
      ["GET", "/account-waitlist/ABCDEFGHJKMNPQRSTUVWXYZ234", { headers: t.headers }, 30],
    ];
    for (const [method, path, opts, limit] of routes) {
      const res = await hammer(method, path, opts, limit);
      const body = await expectFeathersError(res, 429, RATE_LIMITED);
      expect(body).toMatchObject({ name: "TooManyRequests", className: "too-many-requests" });
    }
    // Code-sending actions count against MESSAGES_LIMITER too (their own group).
    const a = await account(t);
    const verify = await hammer(
      "POST",
      "/authentication",
      { headers: t.headers, json: { action: "sendVerificationEmail", email: a.email } },
      10,
    );
    await expectFeathersError(verify, 429, RATE_LIMITED);
  });

  it("register family: 429 {error}", async () => {
    await ensureDefaultClinic();
    const clinic = await createClinic();
    const h = { "X-AccountCode": clinic.code };
    for (const [path, body] of [
      ["/register", {}],
      ["/register/enroll", { stoken: "0".repeat(64) }],
    ] as const) {
      const res = await hammer("POST", path, { headers: h, json: body }, 30);
      expect(await json(res), path).toEqual({ error: RATE_LIMITED });
    }
  });

  it("admin API: 429 {code, error, message}; the web sign-in page: a 429 page with Retry-After", async () => {
    const admin = await hammer(
      "GET",
      "/admin/clinics",
      { headers: { authorization: "Bearer not-the-key" } },
      30,
    );
    expect(await json(admin)).toEqual({ code: 429, error: "rate_limited", message: RATE_LIMITED });
    const web = await hammer("GET", "/auth?sso_token=0123456789abcdef0123456789abcdef", {}, 30);
    expect(web.status).toBe(429);
    expect(web.headers.get("retry-after")).toBeTruthy();
    expect(web.headers.get("content-type")).toContain("text/html");
    expect(await web.text()).not.toContain("0123456789abcdef0123456789abcdef");
    // The right admin key is never limited by the failures of others.
    expect((await call("GET", "/admin/clinics", { headers: ADMIN_AUTH })).status).toBe(200);
  });
});

// ---------- lockout ----------

const lockedSettings = { settings: { lockoutThreshold: 2, lockoutBaseSeconds: 60, lockoutMaxSeconds: 150 } };

async function expectLocked(res: Response, retryAfter: number, shape: "vsee" | "accounts") {
  expect(res.status).toBe(429);
  expect(Number(res.headers.get("retry-after"))).toBe(retryAfter);
  if (shape === "vsee") expect(await json(res)).toEqual({ code: 429, message: LOCKED });
  else await expectFeathersError(res, 429, LOCKED);
}

describe("per-identity lockout", () => {
  it("sign-in (accounts): locks after the clinic's threshold, refuses the right password, doubles, caps, expires", async () => {
    clock.freeze();
    const t = await tenant(lockedSettings);
    const a = await account(t);
    const attempt = (password: string) =>
      call("POST", "/authentication", {
        headers: t.headers,
        json: { strategy: "local", email: a.email, password },
      });
    await expectFeathersError(await attempt("wrong one!"), 401);
    await expectLocked(await attempt("wrong two!"), 60, "accounts");
    // Locked: the right password is refused, from any client.
    await expectLocked(await attempt(PASSWORD), 60, "accounts");
    clock.advance(30);
    await expectLocked(await attempt(PASSWORD), 30, "accounts");
    clock.advance(31);
    // Expired; the next lock of the same identity lasts twice as long, then the cap (150 s).
    await expectFeathersError(await attempt("wrong three!"), 401);
    await expectLocked(await attempt("wrong four!"), 120, "accounts");
    clock.advance(121);
    await attempt("wrong five!");
    await expectLocked(await attempt("wrong six!"), 150, "accounts");
    clock.advance(151);
    expect((await attempt(PASSWORD)).status).toBe(201);
    // A success clears the count.
    await expectFeathersError(await attempt("wrong seven!"), 401);
    await expectFeathersError(
      await call("POST", "/authentication", {
        headers: t.headers,
        json: { strategy: "local", email: "someone-else@example.test", password: "x" },
      }),
      401,
    );
  });

  it("sign-in (/api_v3) and the old password of POST /me share the identity's lock", async () => {
    clock.freeze();
    const clinic = await createClinic(lockedSettings);
    const user = await sso(clinic);
    const password = await setPassword(user);
    const login = (p: string) =>
      call("POST", "/api_v3/users/login", {
        headers: { "X-AccountCode": clinic.code },
        form: { username: user.username, password: p },
      });
    const change = (old: string) =>
      call("POST", "/api_v3/me", {
        headers: user.auth,
        form: { password: "brand new pass 1", old_password: old },
      });
    expect((await change("not it at all")).status).toBe(400);
    await expectLocked(await change("not it either"), 60, "vsee");
    await expectLocked(await login(password), 60, "vsee");
    await expectLocked(await change(password), 60, "vsee");
    clock.advance(61);
    expect((await login(password)).status).toBe(200);
  });

  it("an account's password failures count together, whichever of its identities was tried (/api_v3)", async () => {
    clock.freeze();
    const clinic = await createClinic(lockedSettings);
    const email = `${uniq("u")}@example.test`;
    const user = await sso(clinic, { email });
    const password = await setPassword(user);
    const login = (username: string, p: string) =>
      call("POST", "/api_v3/users/login", {
        headers: { "X-AccountCode": clinic.code },
        form: { username, password: p },
      });
    expect((await login(user.username, "wrong one!")).status).toBe(401);
    // The second failure, through the email: the account is locked for both.
    await expectLocked(await login(email, "wrong two!"), 60, "vsee");
    await expectLocked(await login(user.username, password), 60, "vsee");
    clock.advance(61);
    expect((await login(email, password)).status).toBe(200);
    // Unknown identities lock alone, after the same number of failures (nothing tells them apart).
    const nobody = `${uniq("nobody")}@example.test`;
    expect((await login(nobody, "wrong one!")).status).toBe(401);
    await expectLocked(await login(nobody, "wrong two!"), 60, "vsee");
    expect((await login(user.username, password)).status).toBe(200);
  });

  it("an account's password failures count together across its email and mobile number (accounts)", async () => {
    clock.freeze();
    const t = await tenant(lockedSettings);
    const a = await account(t, { mobileNo: mobile() });
    const attempt = (who: Record<string, unknown>, password: string) =>
      call("POST", "/authentication", { headers: t.headers, json: { strategy: "local", ...who, password } });
    await expectFeathersError(await attempt({ email: a.email }, "wrong one!"), 401);
    await expectLocked(await attempt({ mobileNo: a.mobileNo }, "wrong two!"), 60, "accounts");
    await expectLocked(await attempt({ email: a.email }, PASSWORD), 60, "accounts");
    clock.advance(61);
    expect((await attempt({ mobileNo: a.mobileNo }, PASSWORD)).status).toBe(201);
  });

  it("TOTP codes: wrong codes lock the account's second factor; the right code waits for the lock to end", async () => {
    clock.freeze();
    const t = await tenant(lockedSettings);
    const a = await account(t);
    const setup = await json<{ secret: string }>(await act(t, { action: "setupMFA", enable: true }, a.auth));
    const wrong = await totp(setup.secret, 7);
    await expectFeathersError(await act(t, { action: "verifyMFASecret", totpToken: wrong }, a.auth), 401);
    await expectLocked(await act(t, { action: "verifyMFASecret", totpToken: wrong }, a.auth), 60, "accounts");
    await expectLocked(
      await act(t, { action: "verifyMFASecret", totpToken: await totp(setup.secret) }, a.auth),
      60,
      "accounts",
    );
    clock.advance(61);
    const ok = await act(t, { action: "verifyMFASecret", totpToken: await totp(setup.secret) }, a.auth);
    expect(await json(ok)).toEqual({ verified: true });
  });

  it("codes: wrong guesses for a named identity lock it; the right code is refused until the lock ends", async () => {
    clock.freeze();
    const t: Tenant = await tenant(lockedSettings);
    const a = await account(t);
    const code = await codeFrom(t, a.email as string, "email_verification");
    const apply = (c: string) => act(t, { action: "applyActionCode", code: c, email: a.email });
    const wrong = code === "000000" ? "111111" : "000000";
    await expectFeathersError(await apply(wrong), 401);
    await expectLocked(await apply(wrong), 60, "accounts");
    await expectLocked(await apply(code), 60, "accounts");
    clock.advance(61);
    expect((await apply(code)).status).toBe(201);
  });

  it("codes per hour are configurable per clinic (settings.codesPerHour)", async () => {
    const t = await tenant({ settings: { codesPerHour: 1 } });
    const a = await account(t, { mobileNo: undefined });
    // Signup sent the first verification code: the cap of one is reached.
    const again = await act(t, { action: "sendVerificationEmail" }, bearer(a.tokens.accessToken));
    const body = await expectFeathersError(again, 429, "Too many codes sent, try again later");
    expect(body.name).toBe("TooManyRequests");
    expect(again.headers.get("retry-after")).toBe("3600");
  });
});
