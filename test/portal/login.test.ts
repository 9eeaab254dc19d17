/** The /login form: same rules as POST /api_v3/users/login, CSRF before any session, safe `next`. */
import { afterEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/lib/crypto";
import { call, clock, createClinic, env, randomIp, type TestClinic } from "../helpers";
import { assign, createRoom, setPassword, sso } from "../vsee/support";
import { browserOf, loginForm, ORIGIN, setCookieLine, setCookieValue, submitLogin } from "./support";

afterEach(() => clock.reset());

const PASSWORD = "correct horse battery";

async function memberWithPassword(settings: Record<string, number> = {}, type = "200") {
  const clinic = await createClinic(Object.keys(settings).length ? { settings } : {});
  const user = await sso(clinic, { type });
  await setPassword(user, PASSWORD);
  return { clinic, user };
}

function fields(clinic: TestClinic, username: string, password: string, extra: Record<string, string> = {}) {
  return { clinic: clinic.code, username, password, ...extra };
}

describe("GET /login", () => {
  it("renders an accessible form with a CSRF token bound to a __Host- nonce cookie", async () => {
    const res = await call("GET", "/login?next=%2Fu%2Fclinic&clinic=myclinic");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const line = setCookieLine(res, "__Host-ce_login") ?? "";
    for (const attr of ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"]) expect(line).toContain(attr);
    expect(line).not.toContain("Domain");
    const html = await res.text();
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1"/>');
    expect(html).toMatch(/<main id="main">.*<h1>Sign in<\/h1>/s);
    expect(html).toMatch(/<label>Clinic code<input name="clinic" value="myclinic"/);
    expect(html).toMatch(/<label>Username or email<input name="username"/);
    expect(html).toMatch(/<label>Password<input type="password" name="password"/);
    expect(html).toContain('<input type="hidden" name="next" value="/u/clinic"/>');
    expect(html).toMatch(/<input type="hidden" name="csrf" value="[\w-]{43}"\/>/);
  });

  it("prefills the default clinic and drops an off-site next", async () => {
    for (const next of ["//evil.com", "https://evil.com/x", "/\\evil.com", "/%2F%2Fevil.com"]) {
      const { html } = await loginForm(`?next=${encodeURIComponent(next)}`);
      expect(html, next).not.toContain('name="next"');
      expect(html).toContain(`name="clinic" value="${env.DEFAULT_ACCOUNT_CODE}"`);
    }
  });

  it("keeps the nonce of a browser that already has one (two tabs both work)", async () => {
    const first = await loginForm();
    const again = await call("GET", "/login", { headers: { cookie: `__Host-ce_login=${first.nonce}` } });
    expect(setCookieValue(again, "__Host-ce_login")).toBe(first.nonce);
  });
});

describe("POST /login", () => {
  it("signs in with the right password: a portal session cookie and a 303 to next", async () => {
    const { clinic, user } = await memberWithPassword();
    clock.freeze(); // Max-Age is the token's remaining lifetime: no second may pass during the request
    const res = await submitLogin(fields(clinic, user.username, PASSWORD, { next: "/u/clinic?from=login" }));
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/u/clinic?from=login");
    const line = setCookieLine(res, "ce_session") ?? "";
    expect(line).toMatch(/^ce_session=[0-9a-f]{32};/);
    for (const attr of ["HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=86400"])
      expect(line).toContain(attr);
    expect(setCookieLine(res, "__Host-ce_login")).toContain("Max-Age=0"); // the nonce is spent
    const cookie = setCookieValue(res, "ce_session") ?? "";
    const session = await env.DB.prepare("SELECT kind, user_id FROM sessions WHERE access_hash = ?")
      .bind(await sha256Hex(cookie))
      .first<{ kind: string; user_id: number }>();
    expect(session).toEqual({ kind: "portal", user_id: Number(user.id) });
    expect((await browserOf(user, cookie).call("GET", "/u/clinic")).status).toBe(200);
  });

  it("without next, goes to the user's own page", async () => {
    const { clinic, user } = await memberWithPassword({}, "400");
    const res = await submitLogin(fields(clinic, user.username, PASSWORD));
    expect(res.headers.get("location")).toBe("/providers/dashboard");
  });

  for (const next of [
    "//evil.com",
    "https://evil.com",
    "/\\evil.com",
    "/%09/evil.com",
    "javascript:alert(1)",
  ]) {
    it(`never redirects off-site: next=${JSON.stringify(next)}`, async () => {
      const { clinic, user } = await memberWithPassword();
      const res = await submitLogin(fields(clinic, user.username, PASSWORD, { next }));
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toBe("/u/clinic");
    });
  }

  it("answers a wrong password and an unknown user alike: the form again, 401, no session", async () => {
    const { clinic, user } = await memberWithPassword();
    const wrong = await submitLogin(fields(clinic, user.username, "not the password"));
    const unknown = await submitLogin(fields(clinic, "nobody-here", "not the password"));
    const otherClinic = await submitLogin({
      ...fields(clinic, user.username, PASSWORD),
      clinic: "no-such-clinic",
    });
    for (const res of [wrong, unknown, otherClinic]) {
      expect(res.status).toBe(401);
      expect(res.headers.getSetCookie().some((l) => l.startsWith("ce_session="))).toBe(false);
      const html = await res.text();
      expect(html).toContain(
        '<p class="error" role="alert" id="login-error">Invalid username or password</p>',
      );
      expect(html).toContain('name="password"');
    }
    // The form keeps what was typed, except the password.
    expect(await (await submitLogin(fields(clinic, user.username, "x"))).text()).toContain(
      `name="username" value="${user.username}"`,
    );
  });

  it("asks for both fields (400) without counting a failure", async () => {
    const { clinic, user } = await memberWithPassword({ lockoutThreshold: 1 });
    const res = await submitLogin({ clinic: clinic.code, username: user.username, password: "" });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("Enter your username and your password.");
    expect((await submitLogin(fields(clinic, user.username, PASSWORD))).status).toBe(303);
  });

  it("locks the identity like the API does (429 with Retry-After, even for the right password), shared with /api_v3 login", async () => {
    const { clinic, user } = await memberWithPassword({ lockoutThreshold: 3, lockoutBaseSeconds: 60 });
    clock.freeze();
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await submitLogin(fields(clinic, user.username, "wrong"))).status);
    expect(statuses).toEqual([401, 401, 429]);
    const locked = await submitLogin(fields(clinic, user.username, PASSWORD));
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await locked.text()).toContain("Too many failed attempts, try again later");
    // The same identity is locked for the API too (one lockout per identity, whichever door).
    const api = await call("POST", "/api_v3/users/login", {
      headers: { "X-AccountCode": clinic.code },
      form: { username: user.username, password: PASSWORD },
    });
    expect(api.status).toBe(429);
    clock.advance(61);
    expect((await submitLogin(fields(clinic, user.username, PASSWORD))).status).toBe(303);
  });

  it("shares the per-client rate limit with POST /api_v3/users/login", async () => {
    const { clinic, user } = await memberWithPassword();
    // The binding's windows are whole minutes of the wall clock: a run that straddles one starts again.
    const minute = () => Math.floor(Date.now() / 60_000);
    let res: Response | undefined;
    for (let run = 0; run < 2 && !res; run++) {
      const started = minute();
      const ip = randomIp();
      for (let i = 0; i < 30; i++) {
        await call("POST", "/api_v3/users/login", {
          headers: { "X-AccountCode": clinic.code, "cf-connecting-ip": ip },
          form: { username: `nobody${i}`, password: "whatever-password" },
        });
      }
      const answer = await submitLogin(fields(clinic, user.username, PASSWORD), undefined, {
        "cf-connecting-ip": ip,
      });
      if (minute() === started) res = answer;
    }
    if (!res) throw new Error("two runs straddled a minute");
    expect(res.status).toBe(429);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(res.headers.get("retry-after")).toBe("60");
    expect(res.headers.getSetCookie().some((l) => l.startsWith("ce_session="))).toBe(false);
  }, 60_000); // ~30 password hashes: more than the default 5 s per test on two shared cores
});

describe("POST /login CSRF protection", () => {
  async function refused(res: Response) {
    expect(res.status).toBe(403);
    expect(res.headers.getSetCookie().some((l) => l.startsWith("ce_session="))).toBe(false);
    expect(await res.text()).toContain("This form has expired or did not come from this site");
  }

  it("refuses a form without its token, without the nonce cookie, or with another browser's token", async () => {
    const { clinic, user } = await memberWithPassword();
    const good = fields(clinic, user.username, PASSWORD);
    const mine = await loginForm();
    const theirs = await loginForm();
    await refused(await submitLogin({ ...good, csrf: "" }, mine));
    await refused(
      await call("POST", "/login", { headers: { origin: ORIGIN }, form: { ...good, csrf: mine.csrf } }),
    );
    await refused(await submitLogin(good, { nonce: mine.nonce, csrf: theirs.csrf }));
    await refused(await submitLogin(good, { nonce: "0".repeat(32), csrf: mine.csrf }));
    // The same form, properly submitted, works.
    expect((await submitLogin(good, mine)).status).toBe(303);
  });

  it("refuses a cross-site request even with a valid token pair", async () => {
    const { clinic, user } = await memberWithPassword();
    const good = fields(clinic, user.username, PASSWORD);
    await refused(await submitLogin(good, await loginForm(), { origin: "https://evil.example" }));
    await refused(await submitLogin(good, await loginForm(), { origin: "null" }));
    await refused(await submitLogin(good, await loginForm(), { origin: "", "sec-fetch-site": "cross-site" }));
  });

  it("needs no Origin header (older browsers): the token pair alone is enough", async () => {
    const { clinic, user } = await memberWithPassword();
    const form = await loginForm();
    const res = await call("POST", "/login", {
      headers: { cookie: `__Host-ce_login=${form.nonce}` },
      form: { csrf: form.csrf, ...fields(clinic, user.username, PASSWORD) },
    });
    expect(res.status).toBe(303);
  });
});

describe("sign-in by SSO and by the form lead to the same pages", () => {
  it("a member assigned to a room sees it after signing in with the form", async () => {
    const { clinic, user } = await memberWithPassword();
    const room = await createRoom(clinic);
    await assign(clinic, user.id, room.code);
    const res = await submitLogin(fields(clinic, user.username, PASSWORD));
    const page = await browserOf(user, setCookieValue(res, "ce_session") ?? "").call("GET", "/u/clinic");
    expect(await page.text()).toContain(`<strong id="room-name">Room ${room.slug}</strong>`);
  });
});
