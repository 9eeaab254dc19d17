import { afterEach, describe, expect, it } from "vitest";
import { call, clock, createClinic, env, json, randomIp, uniq } from "../helpers";
import { adminPatchUser, setPassword, sso } from "./support";

afterEach(() => clock.reset());

type Login = {
  data: {
    user_id: string;
    token: string;
    expiry: number;
    created: number;
    user_type: string;
    refresh_token: { user_id: string; token: string; expiry: number; created: number };
    user: Record<string, unknown>;
  };
};

async function userWithPassword(lockout?: Record<string, number>) {
  const clinic = await createClinic(lockout ? { settings: lockout } : {});
  const username = uniq("member-");
  const user = await sso(clinic, {
    username,
    first_name: "Lemuel",
    last_name: "Eveline",
    email: `${username}@example.test`,
  });
  const password = await setPassword(user);
  return { clinic, user, username, password };
}

describe("POST /api_v3/users/login", () => {
  it("signs an active user in by username + password (urlencoded, seed shape)", async () => {
    const { clinic, user, username, password } = await userWithPassword();
    const res = await call("POST", "/api_v3/users/login.json", {
      headers: { "X-AccountCode": clinic.code },
      raw: {
        body: `username=${username}&password=${encodeURIComponent(password)}`,
        type: "application/x-www-form-urlencoded",
      },
    });
    expect(res.status).toBe(200);
    const { data } = await json<Login>(res);
    expect(data).toMatchObject({
      user_id: user.id,
      user_type: "200",
      token: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(data.expiry - data.created).toBe(86400);
    expect(data.refresh_token).toMatchObject({ user_id: user.id, created: data.created });
    expect(data.user).toMatchObject({
      id: user.id,
      username,
      first_name: "Lemuel",
      active: true,
      pcp_name: "",
      pcp_phone: "",
    });
    expect((await call("GET", "/api_v3/me", { headers: { "X-ApiToken": data.token } })).status).toBe(200);
  });

  it("also accepts the email as the username, and JSON bodies", async () => {
    const { clinic, username, password } = await userWithPassword();
    const res = await call("POST", "/api_v3/users/login", {
      headers: { "X-AccountCode": clinic.code },
      json: { username: `${username.toUpperCase()}@EXAMPLE.TEST`, password },
    });
    expect(res.status).toBe(200);
  });

  it("answers the same 401 for an unknown user, a wrong password and a disabled user", async () => {
    const { clinic, user, username, password } = await userWithPassword();
    const headers = { "X-AccountCode": clinic.code };
    const unknown = await call("POST", "/api_v3/users/login", {
      headers,
      form: { username: "nobody-here", password },
    });
    const wrong = await call("POST", "/api_v3/users/login", {
      headers,
      form: { username, password: "wrong password!" },
    });
    await adminPatchUser(clinic, user.id, { disabled: true });
    const disabled = await call("POST", "/api_v3/users/login", { headers, form: { username, password } });
    const bodies = await Promise.all([unknown, wrong, disabled].map((r) => r.text()));
    expect([unknown.status, wrong.status, disabled.status]).toEqual([401, 401, 401]);
    expect(new Set(bodies).size).toBe(1);
    expect(JSON.parse(bodies[0] as string)).toEqual({ code: 401, message: "Invalid username or password" });
  });

  it("validates: username + password, or email + email_token", async () => {
    const clinic = await createClinic();
    const headers = { "X-AccountCode": clinic.code };
    const none = await json<{ errors: { param: string }[] }>(
      await call("POST", "/api_v3/users/login", { headers, form: {} }),
    );
    expect(none.errors.map((e) => e.param).sort()).toEqual(["password", "username"]);
    const half = await json<{ errors: { param: string }[] }>(
      await call("POST", "/api_v3/users/login", { headers, form: { email: "a@b.test" } }),
    );
    expect(half.errors.map((e) => e.param)).toEqual(["email_token"]);
    const mixed = await call("POST", "/api_v3/users/login", {
      headers,
      form: { username: "a", password: "b", email_token: "c" },
    });
    expect(mixed.status).toBe(400);
  });

  it("locks an identity after repeated failures (429 with Retry-After), even for the right password, until it expires", async () => {
    const { clinic, username, password } = await userWithPassword({
      lockoutThreshold: 3,
      lockoutBaseSeconds: 60,
    });
    clock.freeze();
    const headers = { "X-AccountCode": clinic.code };
    for (let i = 0; i < 2; i++) {
      expect(
        (
          await call("POST", "/api_v3/users/login", {
            headers,
            form: { username, password: "wrong password!" },
          })
        ).status,
      ).toBe(401);
    }
    const third = await call("POST", "/api_v3/users/login", {
      headers,
      form: { username, password: "wrong password!" },
    });
    expect(third.status).toBe(429);
    expect(third.headers.get("retry-after")).toBe("60");
    expect(await json(third)).toEqual({ code: 429, message: "Too many failed attempts, try again later" });
    // Locked: the right password is refused too, from any client.
    const right = await call("POST", "/api_v3/users/login", {
      headers: { ...headers, "cf-connecting-ip": randomIp() },
      form: { username, password },
    });
    expect(right.status).toBe(429);
    clock.advance(61);
    expect(
      (await call("POST", "/api_v3/users/login", { headers, form: { username, password } })).status,
    ).toBe(200);
  });

  it("rate-limits a client that hammers the endpoint (429)", async () => {
    const clinic = await createClinic();
    const ip = randomIp();
    // The binding's windows are whole minutes of the wall clock: the count starts again when one turns over.
    const minute = () => Math.floor(Date.now() / 60_000);
    let window = minute();
    let refused = 0;
    let limited = false;
    for (let i = 0; i < 70 && !limited; i++) {
      if (minute() !== window) [window, refused] = [minute(), 0];
      const res = await call("POST", "/api_v3/users/login", {
        headers: { "X-AccountCode": clinic.code, "cf-connecting-ip": ip },
        form: { username: `nobody${i}`, password: "whatever-password" },
      });
      if (res.status === 429) limited = true;
      else refused++;
    }
    expect(limited).toBe(true);
    expect(refused).toBeGreaterThan(0);
    expect(refused).toBeLessThanOrEqual(30);
  }, 60_000); // ~30 password hashes: more than the default 5 s per test on two shared cores

  it("never signs in a user of another clinic", async () => {
    const { username, password } = await userWithPassword();
    const other = await createClinic();
    const res = await call("POST", "/api_v3/users/login", {
      headers: { "X-AccountCode": other.code },
      form: { username, password },
    });
    expect(res.status).toBe(401);
  });
});

describe("POST /api_v3/tokens/refresh", () => {
  it("rotates: a new access token and a new refresh token; the old access token stops working", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic, { first_name: "Kristopher", last_name: "Nieves", gender: "female" });
    const res = await call("POST", "/api_v3/tokens/refresh.json", { form: { refresh_token: user.refresh } });
    expect(res.status).toBe(200);
    const { data } = await json<{
      data: {
        token: string;
        user_id: string;
        user_type: string;
        refresh_token: { token: string };
        user: Record<string, unknown>;
      };
    }>(res);
    expect(data).toMatchObject({ user_id: user.id, user_type: "200" });
    expect(data.user).toMatchObject({
      id: user.id,
      first_name: "Kristopher",
      gender: "Female",
      name: "Kristopher Nieves",
      photo: null,
    });
    expect(data.token).not.toBe(user.token);
    expect(data.refresh_token.token).not.toBe(user.refresh);
    expect((await call("GET", "/api_v3/me", { headers: { "X-ApiToken": data.token } })).status).toBe(200);
    expect((await call("GET", "/api_v3/me", { headers: { "X-ApiToken": user.token } })).status).toBe(401);
  });

  it("reuse of a spent refresh token answers 401 and ends the whole family", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    const first = await json<{ data: { token: string; refresh_token: { token: string } } }>(
      await call("POST", "/api_v3/tokens/refresh", { json: { refresh_token: user.refresh } }),
    );
    const reuse = await call("POST", "/api_v3/tokens/refresh", { json: { refresh_token: user.refresh } });
    expect(reuse.status).toBe(401);
    expect(await json(reuse)).toEqual({ code: 401, message: "Invalid or expired refresh token" });
    // The thief's reuse killed the legitimate successor too.
    expect((await call("GET", "/api_v3/me", { headers: { "X-ApiToken": first.data.token } })).status).toBe(
      401,
    );
    const next = await call("POST", "/api_v3/tokens/refresh", {
      json: { refresh_token: first.data.refresh_token.token },
    });
    expect(next.status).toBe(401);
  });

  it("lets exactly one of two racing refreshes win", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    const results = await Promise.all(
      [1, 2].map(() => call("POST", "/api_v3/tokens/refresh", { json: { refresh_token: user.refresh } })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
  });

  it("refuses expired, unknown and other clinics' refresh tokens", async () => {
    const clinic = await createClinic();
    const other = await createClinic();
    const user = await sso(clinic);
    expect(
      (
        await call("POST", "/api_v3/tokens/refresh", {
          headers: { "X-AccountCode": other.code },
          json: { refresh_token: user.refresh },
        })
      ).status,
    ).toBe(401);
    expect(
      (await call("POST", "/api_v3/tokens/refresh", { json: { refresh_token: "0".repeat(32) } })).status,
    ).toBe(401);
    expect(
      (await call("POST", "/api_v3/tokens/refresh", { json: { refresh_token: "not-a-token" } })).status,
    ).toBe(401);
    clock.set(Date.now() + 31 * 86400 * 1000);
    expect(
      (await call("POST", "/api_v3/tokens/refresh", { json: { refresh_token: user.refresh } })).status,
    ).toBe(401);
  });
});

describe("access tokens", () => {
  it("expire after 24 hours (injected clock)", async () => {
    const clinic = await createClinic();
    clock.freeze();
    const user = await sso(clinic);
    clock.advance(86400 - 5);
    expect((await call("GET", "/api_v3/me", { headers: user.auth })).status).toBe(200);
    clock.advance(10);
    expect((await call("GET", "/api_v3/me", { headers: user.auth })).status).toBe(401);
  });

  it("are accepted as X-ApiToken or Authorization: Bearer, and refused with another clinic's X-AccountCode", async () => {
    const clinic = await createClinic();
    const other = await createClinic();
    const user = await sso(clinic);
    expect(
      (await call("GET", "/api_v3/me", { headers: { authorization: `Bearer ${user.token}` } })).status,
    ).toBe(200);
    expect(
      (
        await call("GET", "/api_v3/me", {
          headers: { "X-ApiToken": user.token, "X-AccountCode": other.code },
        })
      ).status,
    ).toBe(401);
  });
});

describe("POST /api_v3/users/logout", () => {
  it("destroys the current token when none are listed", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    const res = await call("POST", "/api_v3/users/logout", { headers: user.auth });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ data: true });
    expect((await call("GET", "/api_v3/me", { headers: user.auth })).status).toBe(401);
    // Its refresh token died with it.
    expect(
      (await call("POST", "/api_v3/tokens/refresh", { json: { refresh_token: user.refresh } })).status,
    ).toBe(401);
  });

  it("destroys the listed tokens (array or comma string) of the caller only", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    const second = await sso(clinic, { code: user.code });
    const third = await sso(clinic, { code: user.code });
    const victim = await sso(clinic);
    const res = await call("POST", "/api_v3/users/logout", {
      headers: user.auth,
      form: { tokens: `${second.token},${victim.token}` },
    });
    expect(res.status).toBe(200);
    expect((await call("GET", "/api_v3/me", { headers: second.auth })).status).toBe(401);
    expect((await call("GET", "/api_v3/me", { headers: victim.auth })).status).toBe(200);
    expect((await call("GET", "/api_v3/me", { headers: user.auth })).status).toBe(200);
    const arr = await call("POST", "/api_v3/users/logout", {
      headers: user.auth,
      json: { tokens: [third.token] },
    });
    expect(arr.status).toBe(200);
    expect((await call("GET", "/api_v3/me", { headers: third.auth })).status).toBe(401);
  });

  it("needs a token", async () => {
    expect((await call("POST", "/api_v3/users/logout")).status).toBe(401);
  });
});

describe("GET /auth (web sign-in with an SSO token)", () => {
  const origin = "https://clinic-edge.test";

  it("sets a session cookie and redirects to next", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic, { type: "400" });
    const res = await call("GET", `/auth?sso_token=${user.token}&next=/providers/dashboard`);
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/providers/dashboard");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    const cookie = res.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^ce_session=[0-9a-f]{32};/);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("Secure");
    expect(cookie).toContain("SameSite=Lax");
    // The cookie is a session of its own (revocable like any token), not the SSO token.
    expect(cookie).not.toContain(user.token);
  });

  for (const next of [
    "//evil.com",
    "/\\evil.com",
    "/%09/evil.com",
    "https://evil.com",
    "javascript:alert(1)",
    "/%2F%2Fevil.com",
    "\\\\evil.com",
    "/\t/evil.com",
  ]) {
    it(`never redirects off-site: next=${JSON.stringify(next)}`, async () => {
      const clinic = await createClinic();
      const user = await sso(clinic);
      const res = await call("GET", `/auth?sso_token=${user.token}&next=${encodeURIComponent(next)}`);
      expect(res.status).toBe(302);
      const location = res.headers.get("location") ?? "";
      expect(location).toBe("/");
      expect(new URL(location, origin).origin).toBe(origin);
    });
  }

  it("keeps a query string on an on-site next", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    const res = await call(
      "GET",
      `/auth?sso_token=${user.token}&next=${encodeURIComponent("/u/clinic?room=1#top")}`,
    );
    expect(res.headers.get("location")).toBe("/u/clinic?room=1#top");
  });

  it("one_time_token=1 burns the token: the second use neither signs in nor redirects", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    const first = await call("GET", `/auth?sso_token=${user.token}&next=/u/clinic&one_time_token=1`);
    expect(first.status).toBe(302);
    const second = await call("GET", `/auth?sso_token=${user.token}&next=/u/clinic`);
    expect(second.status).toBe(401);
    expect(second.headers.get("location")).toBeNull();
    expect(second.headers.get("set-cookie")).toBeNull();
    expect(second.headers.get("content-type")).toContain("text/html");
    // A burnt token is spent everywhere, not only at /auth: the API refuses it too.
    expect((await call("GET", "/api_v3/me", { headers: user.auth })).status).toBe(401);
  });

  it("refuses expired, unknown and logged-out tokens without a session or redirect", async () => {
    const clinic = await createClinic();
    clock.freeze();
    const expired = await sso(clinic);
    const loggedOut = await sso(clinic);
    await call("POST", "/api_v3/users/logout", { headers: loggedOut.auth });
    // Even where KV still had the token, D1 knows the session ended.
    const sessionsBefore = await env.DB.prepare(
      "SELECT count(*) AS n FROM sessions WHERE kind = 'portal'",
    ).first<{ n: number }>();
    for (const token of ["", "0".repeat(32), "../../etc", loggedOut.token]) {
      const res = await call("GET", `/auth?sso_token=${token}&next=/x`);
      expect(res.status, token).toBe(401);
      expect(res.headers.get("set-cookie")).toBeNull();
    }
    clock.advance(86401);
    const res = await call("GET", `/auth?sso_token=${expired.token}&next=/x`);
    expect(res.status).toBe(401);
    const sessionsAfter = await env.DB.prepare(
      "SELECT count(*) AS n FROM sessions WHERE kind = 'portal'",
    ).first<{ n: number }>();
    expect(sessionsAfter?.n).toBe(sessionsBefore?.n);
  });
});
