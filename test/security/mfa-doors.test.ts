/**
 * Two-factor at every door that turns a password or an emailed token into a session (issue 16, finding 1;
 * SECURITY.md "Doors and two-factor"). An accounts-family user with TOTP on must not get a session from
 * the password alone at POST /api_v3/users/login or the portal's POST /login; wrong TOTP codes count under
 * their own per-account lock, whichever door they come through, and only a right code clears it (a
 * password-only sign-in between rounds of guesses used to reset the count).
 */
import { afterEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/lib/crypto";
import { account, act, PASSWORD, type Tenant, tenant, totp } from "../accounts/support";
import { type CallOptions, call, callAndSettle, clock, env, json } from "../helpers";
import { loginForm, ORIGIN, setCookieValue } from "../portal/support";

afterEach(() => clock.reset());

interface Enrolled {
  uid: string;
  email: string;
  secret: string;
  auth: Record<string, string>;
}

/** An accounts-family user (signed up through POST /accounts) with TOTP enrolled and confirmed. */
async function enrolled(t: Tenant): Promise<Enrolled> {
  const a = await account(t);
  const setup = await json<{ secret: string }>(await act(t, { action: "setupMFA", enable: true }, a.auth));
  const verified = await act(t, { action: "verifyMFASecret", totpToken: await totp(setup.secret) }, a.auth);
  expect(verified.status).toBe(201);
  return { uid: a.uid, email: a.email as string, secret: setup.secret, auth: a.auth };
}

type Encoding = "json" | "form" | "multipart";

function vseeLogin(t: Tenant, body: Record<string, string>, encoding: Encoding = "json") {
  const opts: CallOptions = { headers: t.headers };
  if (encoding === "json") opts.json = body;
  else if (encoding === "form") opts.form = body;
  else opts.multipart = body;
  return call("POST", "/api_v3/users/login", opts);
}

/** The refusal of a sign-in that lacks the second factor (or has a wrong one): 401, no token. */
async function expectCodeRequired(res: Response) {
  expect(res.status).toBe(401);
  const body = await json<Record<string, unknown>>(res);
  expect(body).toEqual({ code: 401, message: expect.stringMatching(/^Two-factor code required/) });
  return body;
}

/** Sessions of a user other than the accounts session its sign-up started (kind, by kind). */
async function sessionKinds(uid: string): Promise<string[]> {
  const { results } = await env.DB.prepare(
    "SELECT kind FROM sessions WHERE user_id = ? AND kind != 'accounts' ORDER BY created_at",
  )
    .bind(Number(uid))
    .all<{ kind: string }>();
  return results.map((r) => r.kind);
}

/** The portal's first step as a fresh browser: the form, then username + password. */
async function portalPassword(t: Tenant, user: Enrolled, next?: string) {
  const form = await loginForm();
  const res = await call("POST", "/login", {
    headers: { cookie: `__Host-ce_login=${form.nonce}`, origin: ORIGIN },
    form: {
      csrf: form.csrf,
      clinic: t.code,
      username: user.email,
      password: PASSWORD,
      ...(next ? { next } : {}),
    },
  });
  return { res, form, html: await res.clone().text() };
}

function hidden(html: string, name: string): string {
  const m = new RegExp(`<input type="hidden" name="${name}" value="([^"]*)"/>`).exec(html);
  if (!m?.[1]) throw new Error(`no hidden ${name} in: ${html.slice(0, 400)}`);
  return m[1];
}

/** Submits the code page as the browser `form` belongs to. */
function submitCode(
  form: { nonce: string; csrf: string },
  fields: Record<string, string>,
  headers: Record<string, string> = {},
) {
  return call("POST", "/login/code", {
    headers: { cookie: `__Host-ce_login=${form.nonce}`, origin: ORIGIN, ...headers },
    form: { csrf: form.csrf, ...fields },
  });
}

const noSessionCookie = (res: Response) =>
  expect(res.headers.getSetCookie().some((l) => l.startsWith("ce_session="))).toBe(false);

describe("the attack: password only, with TOTP on", () => {
  it("POST /api_v3/users/login gives no token, so /api_v3/me, POST /register and /state stay out of reach", async () => {
    clock.freeze();
    const t = await tenant();
    const user = await enrolled(t);
    // The attacker's transcript: email + password, then the token it would have had.
    const login = await vseeLogin(t, { username: user.email, password: PASSWORD });
    const body = await expectCodeRequired(login);
    expect(body).not.toHaveProperty("data");
    const token = String((body as { data?: { token?: string } }).data?.token ?? "none");
    const me = await call("GET", "/api_v3/me", { headers: { ...t.headers, "X-ApiToken": token } });
    expect(me.status).toBe(401);
    const register = await call("POST", "/register", {
      headers: { ...t.headers, authorization: `Bearer ${token}` },
      json: { email: user.email, groupName: "patients", firstName: "A", lastName: "B" },
    });
    expect(register.status).toBe(401);
    const state = await call("GET", "/state", {
      headers: { ...t.headers, authorization: `Bearer ${token}` },
    });
    expect(state.status).toBe(401);
    // Nothing was started for the user behind the refusals.
    expect(await sessionKinds(user.uid)).toEqual([]);
  });

  it("the portal's POST /login answers the code page, with no session", async () => {
    clock.freeze();
    const t = await tenant();
    const user = await enrolled(t);
    const { res, html } = await portalPassword(t, user, "/u/clinic");
    expect(res.status).toBe(200);
    noSessionCookie(res);
    expect(html).toMatch(/<h1>Enter your two-factor code<\/h1>/);
    expect(html).toContain('<form method="post" action="/login/code" class="stack">');
    expect(html).toMatch(/<label>6-digit code<input name="code" required="" inputmode="numeric"/);
    expect(html).toContain('autocomplete="one-time-code"');
    expect(html).toContain('aria-describedby="code-hint"');
    expect(html).toContain('<input type="hidden" name="next" value="/u/clinic"/>');
    hidden(html, "state");
    // The portal's CSP allows no inline code: the page has none.
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)/);
    expect(html).not.toMatch(/\sstyle=|<style/);
    expect(html).not.toContain(PASSWORD);
    expect(await sessionKinds(user.uid)).toEqual([]);
  });

  it("a wrong password is still the plain 401, at both doors (no hint that TOTP is on)", async () => {
    const t = await tenant();
    const user = await enrolled(t);
    const api = await vseeLogin(t, { username: user.email, password: "not-the-password" });
    expect(await json(api)).toEqual({ code: 401, message: "Invalid username or password" });
    const form = await loginForm();
    const portal = await call("POST", "/login", {
      headers: { cookie: `__Host-ce_login=${form.nonce}`, origin: ORIGIN },
      form: { csrf: form.csrf, clinic: t.code, username: user.email, password: "not-the-password" },
    });
    expect(portal.status).toBe(401);
    expect(await portal.text()).not.toContain("two-factor");
  });
});

describe("POST /api_v3/users/login with totp", () => {
  for (const encoding of ["json", "form", "multipart"] as const) {
    it(`the right code signs in, a wrong or missing one gets the same refusal (${encoding})`, async () => {
      clock.freeze();
      const t = await tenant();
      const user = await enrolled(t);
      clock.advance(30); // enrolment used the current step
      const creds = { username: user.email, password: PASSWORD };
      const missing = await expectCodeRequired(await vseeLogin(t, creds, encoding));
      const wrong = await expectCodeRequired(
        await vseeLogin(t, { ...creds, totp: await totp(user.secret, 9) }, encoding),
      );
      expect(wrong).toEqual(missing);
      const ok = await vseeLogin(t, { ...creds, totp: await totp(user.secret) }, encoding);
      expect(ok.status).toBe(200);
      const { data } = await json<{ data: { token: string; user_id: string } }>(ok);
      expect(data.user_id).toBe(user.uid);
      const me = await call("GET", "/api_v3/me", { headers: { ...t.headers, "X-ApiToken": data.token } });
      expect(me.status).toBe(200);
      // The same code again (its step is spent): refused.
      await expectCodeRequired(await vseeLogin(t, { ...creds, totp: await totp(user.secret) }, encoding));
      expect(await sessionKinds(user.uid)).toEqual(["vsee"]);
    });
  }

  it("a malformed code is a 400 naming the field; users without TOTP need none", async () => {
    const t = await tenant();
    const user = await enrolled(t);
    const bad = await vseeLogin(t, { username: user.email, password: PASSWORD, totp: "12345" });
    expect(bad.status).toBe(400);
    expect(await json(bad)).toMatchObject({
      errors: [{ param: "totp", message: "must be the 6-digit code from your authenticator app" }],
    });
    const plain = await account(t);
    const ok = await vseeLogin(t, { username: plain.email as string, password: PASSWORD });
    expect(ok.status).toBe(200);
  });

  it("the email_token door needs the code too (the token is spent by a request without it)", async () => {
    clock.freeze();
    const t = await tenant();
    const user = await enrolled(t);
    clock.advance(30);
    const emailToken = async () => {
      const sent = await callAndSettle("POST", "/api_v3/users/reset_password", {
        headers: t.headers,
        form: { email: user.email },
      });
      expect(sent.status).toBe(200);
      const row = await env.DB.prepare(
        "SELECT body_text FROM outbox WHERE recipient = ? ORDER BY id DESC LIMIT 1",
      )
        .bind(user.email)
        .first<{ body_text: string }>();
      const token = /token is ([a-z0-9]{8})/.exec(row?.body_text ?? "")?.[1];
      if (!token) throw new Error("no email token");
      return token;
    };
    const first = await emailToken();
    await expectCodeRequired(await vseeLogin(t, { email: user.email, email_token: first }, "form"));
    await expectCodeRequired(
      await vseeLogin(t, {
        email: user.email,
        email_token: await emailToken(),
        totp: await totp(user.secret, 9),
      }),
    );
    expect(await sessionKinds(user.uid)).toEqual([]);
    const ok = await vseeLogin(t, {
      email: user.email,
      email_token: await emailToken(),
      totp: await totp(user.secret),
    });
    expect(ok.status).toBe(200);
  });
});

describe("the TOTP lock", () => {
  /** One wrong code at each door in turn: POST /authentication, /api_v3/users/login, the portal's code page. */
  async function wrongCodeAt(door: number, t: Tenant, user: Enrolled): Promise<Response> {
    const code = await totp(user.secret, 11);
    if (door % 3 === 0) {
      return act(t, { strategy: "local", email: user.email, password: PASSWORD, totpToken: code });
    }
    if (door % 3 === 1) return vseeLogin(t, { username: user.email, password: PASSWORD, totp: code });
    const { form, html } = await portalPassword(t, user);
    return submitCode(form, { state: hidden(html, "state"), code, clinic: t.code });
  }

  // Many argon2 hashes: more time than the default on a loaded machine.
  it("24 wrong codes in rounds of 4 with password-only sign-ins between: locked (429, Retry-After)", {
    timeout: 60_000,
  }, async () => {
    clock.freeze();
    const t = await tenant();
    const user = await enrolled(t);
    const statuses: number[] = [];
    let locked: Response | undefined;
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 4; i++) {
        const res = await act(t, {
          strategy: "local",
          email: user.email,
          password: PASSWORD,
          totpToken: await totp(user.secret, 11),
        });
        statuses.push(res.status);
        if (res.status === 429) locked ??= res;
      }
      // The password alone, at the other doors: it must not reset the count of wrong codes.
      await vseeLogin(t, { username: user.email, password: PASSWORD });
      await portalPassword(t, user);
    }
    expect(statuses.slice(0, 4)).toEqual([401, 401, 401, 401]);
    expect(statuses[4]).toBe(429); // the fifth wrong code (lockoutThreshold 5)
    expect(statuses.slice(5).every((s) => s === 429)).toBe(true);
    expect(Number(locked?.headers.get("retry-after"))).toBeGreaterThan(0);
    // While locked, even the right code is refused, at every door.
    clock.advance(30);
    const right = await totp(user.secret);
    expect(
      (await act(t, { strategy: "local", email: user.email, password: PASSWORD, totpToken: right })).status,
    ).toBe(429);
    const api = await vseeLogin(t, { username: user.email, password: PASSWORD, totp: right });
    expect(api.status).toBe(429);
    expect(Number(api.headers.get("retry-after"))).toBeGreaterThan(0);
    const { res: portal, html } = await portalPassword(t, user);
    expect(portal.status).toBe(429);
    expect(html).toContain("Too many failed attempts");
    expect(await sessionKinds(user.uid)).toEqual([]);
  });

  it("is one lock for every door, and only a right code clears it", { timeout: 60_000 }, async () => {
    clock.freeze();
    const t = await tenant({ settings: { lockoutThreshold: 5, lockoutBaseSeconds: 60 } });
    const user = await enrolled(t);
    // Four wrong codes, one door after another: the fifth, at yet another door, locks.
    for (let door = 0; door < 4; door++) expect((await wrongCodeAt(door, t, user)).status).toBe(401);
    const fifth = await wrongCodeAt(4, t, user);
    expect(fifth.status).toBe(429);
    expect(Number(fifth.headers.get("retry-after"))).toBeGreaterThan(0);
    // After the lock, a right code signs in and clears the count: four wrong codes are 401 again.
    clock.advance(61);
    const ok = await vseeLogin(t, {
      username: user.email,
      password: PASSWORD,
      totp: await totp(user.secret),
    });
    expect(ok.status).toBe(200);
    for (let door = 0; door < 4; door++) expect((await wrongCodeAt(door, t, user)).status).toBe(401);
    // A right password at POST /authentication (206, no code) does not: the next wrong code locks again.
    expect((await act(t, { strategy: "local", email: user.email, password: PASSWORD })).status).toBe(206);
    expect((await wrongCodeAt(0, t, user)).status).toBe(429);
  });
});

describe("the portal's second step", () => {
  async function codePage(t: Tenant, user: Enrolled, next?: string) {
    const { res, form, html } = await portalPassword(t, user, next);
    expect(res.status).toBe(200);
    return { form, state: hidden(html, "state") };
  }

  it("the right code signs in: the session cookie and a 303 to next", async () => {
    clock.freeze();
    const t = await tenant();
    const user = await enrolled(t);
    clock.advance(30);
    const { form, state } = await codePage(t, user, "/u/clinic?from=code");
    const res = await submitCode(form, {
      state,
      code: await totp(user.secret),
      clinic: t.code,
      next: "/u/clinic?from=code",
    });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/u/clinic?from=code");
    const cookie = setCookieValue(res, "ce_session") ?? "";
    const session = await env.DB.prepare("SELECT kind, user_id FROM sessions WHERE access_hash = ?")
      .bind(await sha256Hex(cookie))
      .first<{ kind: string; user_id: number }>();
    expect(session).toEqual({ kind: "portal", user_id: Number(user.uid) });
    const audit = await env.DB.prepare(
      "SELECT details FROM audit_log WHERE subject_user_id = ? AND event = 'sign_in' AND outcome = 'success' ORDER BY id DESC LIMIT 1",
    )
      .bind(Number(user.uid))
      .first<{ details: string }>();
    expect(JSON.parse(audit?.details ?? "{}")).toMatchObject({ method: "password+totp", kind: "portal" });
  });

  it("a wrong or malformed code shows the code page again, with the same state and no session", async () => {
    clock.freeze();
    const t = await tenant();
    const user = await enrolled(t);
    clock.advance(30);
    const { form, state } = await codePage(t, user);
    const wrong = await submitCode(form, { state, code: await totp(user.secret, 9), clinic: t.code });
    expect(wrong.status).toBe(401);
    noSessionCookie(wrong);
    const html = await wrong.text();
    expect(html).toContain('<p class="error" role="alert" id="code-error">That code is not right');
    expect(html).toContain('aria-describedby="code-error code-hint"');
    expect(hidden(html, "state")).toBe(state);
    const malformed = await submitCode(form, { state, code: "12a456", clinic: t.code });
    expect(malformed.status).toBe(400);
    expect(await malformed.text()).toContain("Enter the 6-digit code from your authenticator app.");
    // The same state still works with the right code (spaces are ignored).
    const code = await totp(user.secret);
    const ok = await submitCode(form, {
      state,
      code: `${code.slice(0, 3)} ${code.slice(3)}`,
      clinic: t.code,
    });
    expect(ok.status).toBe(303);
  });

  it("the state expires after 5 minutes (the injected clock)", async () => {
    clock.freeze();
    const t = await tenant();
    const user = await enrolled(t);
    const { form, state } = await codePage(t, user);
    clock.advance(301);
    const res = await submitCode(form, { state, code: await totp(user.secret), clinic: t.code });
    expect(res.status).toBe(401);
    noSessionCookie(res);
    const html = await res.text();
    expect(html).toContain("This sign-in has expired or was already used: enter your password again.");
    expect(html).toContain('name="password"');
    expect(await sessionKinds(user.uid)).toEqual([]);
  });

  it("just inside 5 minutes the state still works", async () => {
    clock.freeze();
    const t = await tenant();
    const user = await enrolled(t);
    const { form, state } = await codePage(t, user);
    clock.advance(299);
    expect((await submitCode(form, { state, code: await totp(user.secret), clinic: t.code })).status).toBe(
      303,
    );
  });

  it("is CSRF-protected: no token, another browser's token or nonce, or a cross-site Origin are refused", async () => {
    clock.freeze();
    const t = await tenant();
    const user = await enrolled(t);
    clock.advance(30);
    const { form, state } = await codePage(t, user);
    const code = await totp(user.secret);
    const other = await loginForm();
    const refused = async (res: Response, status = 403) => {
      expect(res.status).toBe(status);
      noSessionCookie(res);
      return res.text();
    };
    expect(await refused(await submitCode({ ...form, csrf: "" }, { state, code }))).toContain(
      "This form has expired or did not come from this site",
    );
    await refused(await submitCode({ nonce: form.nonce, csrf: other.csrf }, { state, code }));
    await refused(await submitCode(form, { state, code }, { origin: "https://evil.example" }));
    await refused(await submitCode(form, { state, code }, { origin: "", "sec-fetch-site": "cross-site" }));
    await refused(
      await call("POST", "/login/code", {
        headers: { origin: ORIGIN },
        form: { csrf: form.csrf, state, code },
      }),
    );
    // Another browser's full, valid token pair: the state is bound to the first browser's nonce.
    expect(await refused(await submitCode(other, { state, code }), 401)).toContain(
      "enter your password again",
    );
    // The browser that passed the password step still signs in with this code.
    expect((await submitCode(form, { state, code })).status).toBe(303);
  });

  it("refuses a tampered state: another user's id, another expiry, a changed MAC, garbage", async () => {
    clock.freeze();
    const t = await tenant();
    const user = await enrolled(t);
    const victim = await enrolled(t);
    clock.advance(30);
    const { form, state } = await codePage(t, user);
    const [payload, mac] = state.split(".") as [string, string];
    const decoded = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as {
      u: number;
      c: number;
      e: number;
    };
    const encode = (v: unknown) =>
      btoa(JSON.stringify(v)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const flipped = mac.slice(0, -2) + (mac.at(-2) === "A" ? "B" : "A") + mac.slice(-1);
    const tampered = [
      `${encode({ ...decoded, u: Number(victim.uid) })}.${mac}`,
      `${encode({ ...decoded, e: decoded.e + 3600 })}.${mac}`,
      `${payload}.${flipped}`,
      `${payload}.`,
      "not-a-state",
      `${payload}.${mac}.${mac}`,
    ];
    for (const bad of tampered) {
      for (const who of [user, victim]) {
        const res = await submitCode(form, { state: bad, code: await totp(who.secret), clinic: t.code });
        expect(res.status, bad).toBe(401);
        noSessionCookie(res);
        expect(await res.text()).toContain("enter your password again");
      }
    }
    expect(await sessionKinds(victim.uid)).toEqual([]);
    expect(await sessionKinds(user.uid)).toEqual([]);
  });

  it("refuses a state replayed after it signed the user in, even with a later code", async () => {
    clock.freeze();
    const t = await tenant();
    const user = await enrolled(t);
    clock.advance(30);
    const { form, state } = await codePage(t, user);
    expect((await submitCode(form, { state, code: await totp(user.secret), clinic: t.code })).status).toBe(
      303,
    );
    clock.advance(30);
    const again = await submitCode(form, { state, code: await totp(user.secret), clinic: t.code });
    expect(again.status).toBe(401);
    noSessionCookie(again);
    expect(await again.text()).toContain("This sign-in has expired or was already used");
    expect(await sessionKinds(user.uid)).toEqual(["portal"]);
  });

  it("a password change between the steps ends the state", async () => {
    clock.freeze();
    const t = await tenant();
    const user = await enrolled(t);
    clock.advance(30);
    const { form, state } = await codePage(t, user);
    await env.DB.prepare("UPDATE users SET password_hash = 'changed' WHERE id = ?")
      .bind(Number(user.uid))
      .run();
    const res = await submitCode(form, { state, code: await totp(user.secret), clinic: t.code });
    expect(res.status).toBe(401);
    expect(await sessionKinds(user.uid)).toEqual([]);
  });
});
