/**
 * POST /authentication strategies, refresh, sign-out and the JWT rules (seed 002 "Login/Authenticated
 * Requests"; DESIGN.md "Tokens and sessions"): happy paths, enumeration safety, lockout, token forgery,
 * revocation, refresh-token reuse and tenant isolation.
 */
import { afterEach, describe, expect, it } from "vitest";
import { base64url } from "../../src/lib/crypto";
import { signHs256 } from "../../src/lib/jwt";
import { call, clock, createClinic, json } from "../helpers";
import {
  type Account,
  account,
  act,
  bearer,
  email,
  env,
  expectFeathersError,
  login,
  mobile,
  PASSWORD,
  signup,
  type Tokens,
  tenant,
} from "./support";

afterEach(() => clock.reset());

const b64 = (v: unknown) => base64url(new TextEncoder().encode(JSON.stringify(v)));
const claims = (token: string) =>
  JSON.parse(atob((token.split(".")[1] as string).replace(/-/g, "+").replace(/_/g, "/"))) as Record<
    string,
    unknown
  >;

describe("strategy local", () => {
  it("signs in with the seed's email + password: uid, a JWT, a refresh token, expiresAt, user", async () => {
    const t = await tenant();
    const created = await signup(t, { email: `seed-${email()}` });
    const res = await call("POST", "/authentication", {
      headers: t.headers,
      json: { strategy: "local", email: created.email, password: "supersecretpass" },
    });
    expect(res.status).toBe(201);
    const tokens = await json<Tokens>(res);
    expect(tokens).toEqual({
      uid: created.uid,
      accessToken: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
      refreshToken: expect.stringMatching(/^[0-9a-f]{32}$/),
      expiresAt: expect.any(String),
      // The caller's own account, as GET /accounts/:uid answers it (Feathers clients and the MYCURE SDK read it).
      user: created,
    });
    const header = JSON.parse(atob(tokens.accessToken.split(".")[0] as string));
    expect(header.alg).toBe("HS256");
    const payload = claims(tokens.accessToken);
    expect(payload).toMatchObject({
      sub: created.uid,
      aud: t.code,
      sid: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect((payload.exp as number) - (payload.iat as number)).toBe(900);
    expect(new Date(tokens.expiresAt).getTime()).toBe((payload.exp as number) * 1000);
    // The seed's own login example sends no strategy: it is the local one.
    const seed = await call("POST", "/authentication", {
      headers: t.headers,
      json: { email: created.email, password: "supersecretpass" },
    });
    expect(seed.status).toBe(201);
    expect((await json<Tokens>(seed)).uid).toBe(created.uid);
    // The token works for the account's own resources.
    const me = await call("GET", `/accounts/${created.uid}`, {
      headers: { ...t.headers, ...bearer(tokens.accessToken) },
    });
    expect(me.status).toBe(200);
    expect((await json<Account>(me)).email).toBe(created.email);
    // Sessions keep only hashes.
    const row = await env.DB.prepare("SELECT access_hash FROM sessions WHERE id = ?")
      .bind(payload.sid)
      .first();
    expect(row).toEqual({ access_hash: null });
  });

  it("signs in with a mobile number, in either spelling, and with the email in any case", async () => {
    const t = await tenant();
    const number = mobile();
    const created = await signup(t, { email: email(), mobileNo: number });
    expect((await login(t, { mobileNo: `+63${number.slice(1)}` })).uid).toBe(created.uid);
    expect((await login(t, { email: created.email?.toUpperCase() })).uid).toBe(created.uid);
  });

  it("answers unknown email, wrong password and a disabled account alike", async () => {
    const t = await tenant();
    const created = await signup(t);
    const wrong = await act(t, { strategy: "local", email: created.email, password: "not-the-password" });
    const unknown = await act(t, { strategy: "local", email: email(), password: PASSWORD });
    await env.DB.prepare("UPDATE users SET disabled = 1 WHERE id = ?").bind(Number(created.uid)).run();
    const disabled = await act(t, { strategy: "local", email: created.email, password: PASSWORD });
    const bodies = await Promise.all([wrong, unknown, disabled].map((r) => json(r)));
    expect([wrong.status, unknown.status, disabled.status]).toEqual([401, 401, 401]);
    expect(bodies[0]).toEqual({
      name: "NotAuthenticated",
      message: "Invalid login",
      code: 401,
      className: "not-authenticated",
    });
    expect(bodies[1]).toEqual(bodies[0]);
    expect(bodies[2]).toEqual(bodies[0]);
  });

  it("locks an identity after 5 failures (429 with Retry-After, even with the right password)", async () => {
    const t = await tenant();
    const created = await signup(t);
    for (let i = 0; i < 4; i++) {
      expect(
        (await act(t, { strategy: "local", email: created.email, password: "wrong-password" })).status,
      ).toBe(401);
    }
    const fifth = await act(t, { strategy: "local", email: created.email, password: "wrong-password" });
    await expectFeathersError(fifth, 429);
    expect(Number(fifth.headers.get("retry-after"))).toBeGreaterThan(0);
    const right = await act(t, { strategy: "local", email: created.email, password: PASSWORD });
    const body = await expectFeathersError(right, 429, "Too many failed attempts, try again later");
    expect(body.name).toBe("TooManyRequests");
    // The lock ends (injected clock), and a success clears the count.
    clock.freeze();
    clock.advance(61);
    expect((await act(t, { strategy: "local", email: created.email, password: PASSWORD })).status).toBe(201);
  });

  it("validates the body field by field", async () => {
    const t = await tenant();
    const missing = await act(t, { strategy: "local", password: PASSWORD });
    expect((await expectFeathersError(missing, 400)).errors).toEqual({
      email: "email or mobileNo is required",
    });
    const extra = await act(t, { strategy: "local", email: email(), password: PASSWORD, remember: true });
    expect((await expectFeathersError(extra, 400)).errors).toEqual({ remember: "is not an allowed field" });
    const strategy = await act(t, { strategy: "oauth", email: email() });
    expect((await expectFeathersError(strategy, 400)).errors).toEqual({ strategy: "must be local or jwt" });
    const nothing = await act(t, {});
    expect((await expectFeathersError(nothing, 400)).errors).toEqual({ password: "is required" });
    const action = await act(t, { action: "deleteEverything" });
    expect((await expectFeathersError(action, 400)).errors?.action).toMatch(
      /^must be one of refreshAccessToken/,
    );
  });
});

describe("strategy jwt and the access token", () => {
  it("re-authenticates with a valid access token: a fresh token of the same session", async () => {
    const t = await tenant();
    const a = await account(t);
    clock.freeze();
    clock.advance(60);
    const res = await act(t, { strategy: "jwt", accessToken: a.tokens.accessToken });
    expect(res.status).toBe(201);
    const fresh = await json<{ uid: string; accessToken: string; expiresAt: string }>(res);
    expect(fresh.uid).toBe(a.uid);
    expect(claims(fresh.accessToken).sid).toBe(claims(a.tokens.accessToken).sid);
    expect(claims(fresh.accessToken).exp).toBeGreaterThan(claims(a.tokens.accessToken).exp as number);
  });

  it("refuses alg none, tampered, foreign-secret and expired tokens", async () => {
    const t = await tenant();
    const a = await account(t);
    const [h, p, s] = a.tokens.accessToken.split(".") as [string, string, string];
    const other = await account(t);
    const forged = [
      `${b64({ alg: "none", typ: "JWT" })}.${p}.`,
      `${b64({ alg: "HS512", typ: "JWT" })}.${p}.${s}`,
      `${h}.${b64({ ...claims(a.tokens.accessToken), sub: other.uid })}.${s}`,
      await signHs256({ ...claims(a.tokens.accessToken) }, "some-other-secret-0123456789abcdef0123"),
      "not-a-jwt",
    ];
    for (const token of forged) {
      const res = await call("GET", `/accounts/${a.uid}`, { headers: { ...t.headers, ...bearer(token) } });
      await expectFeathersError(res, 401, "Invalid or expired token");
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
      expect((await act(t, { strategy: "jwt", accessToken: token })).status).toBe(401);
    }
    clock.freeze();
    clock.advance(901);
    const expired = await call("GET", `/accounts/${a.uid}`, { headers: { ...t.headers, ...a.auth } });
    await expectFeathersError(expired, 401);
  });

  it("a JWT signed with the previous secret still works during a rotation", async () => {
    const t = await tenant();
    const a = await account(t);
    const saved = {
      current: env.JWT_SECRET,
      previous: (env as { JWT_SECRET_PREVIOUS?: string }).JWT_SECRET_PREVIOUS,
    };
    Object.assign(env, {
      JWT_SECRET: "rotated-secret-0123456789abcdef0123456789",
      JWT_SECRET_PREVIOUS: saved.current,
    });
    try {
      expect((await call("GET", `/accounts/${a.uid}`, { headers: { ...t.headers, ...a.auth } })).status).toBe(
        200,
      );
    } finally {
      Object.assign(env, { JWT_SECRET: saved.current, JWT_SECRET_PREVIOUS: saved.previous });
    }
  });

  it("a token is for its clinic only: clinic A's token cannot read clinic B's account", async () => {
    const a = await tenant();
    const b = await tenant();
    const alice = await account(a);
    const bob = await account(b);
    // A's token presented for clinic B (even for A's own uid): refused.
    await expectFeathersError(
      await call("GET", `/accounts/${alice.uid}`, { headers: { ...b.headers, ...alice.auth } }),
      401,
    );
    await expectFeathersError(
      await call("GET", `/accounts/${bob.uid}`, { headers: { ...b.headers, ...alice.auth } }),
      401,
    );
    // A's token for clinic A, asking for B's account: not found.
    await expectFeathersError(
      await call("GET", `/accounts/${bob.uid}`, { headers: { ...a.headers, ...alice.auth } }),
      404,
      "Account not found",
    );
    await expectFeathersError(
      await call("GET", `/personal-details/${bob.uid}`, { headers: { ...a.headers, ...alice.auth } }),
      404,
    );
    // Sign-in is per clinic too.
    expect((await act(b, { strategy: "local", email: alice.email, password: PASSWORD })).status).toBe(401);
  });
});

describe("refreshAccessToken", () => {
  it("rotates: new tokens, and the old refresh token is spent", async () => {
    const t = await tenant();
    const a = await account(t);
    const res = await act(t, { action: "refreshAccessToken", refreshToken: a.tokens.refreshToken });
    expect(res.status).toBe(201);
    const next = await json<Tokens>(res);
    expect(next.uid).toBe(a.uid);
    expect(next.refreshToken).not.toBe(a.tokens.refreshToken);
    expect(claims(next.accessToken).sid).toBe(claims(a.tokens.accessToken).sid);
    expect(
      (await call("GET", `/accounts/${a.uid}`, { headers: { ...t.headers, ...bearer(next.accessToken) } }))
        .status,
    ).toBe(200);
  });

  it("reuse of a spent refresh token ends the whole session", async () => {
    const t = await tenant();
    const a = await account(t);
    const next = await json<Tokens>(
      await act(t, { action: "refreshAccessToken", refreshToken: a.tokens.refreshToken }),
    );
    const reuse = await act(t, { action: "refreshAccessToken", refreshToken: a.tokens.refreshToken });
    await expectFeathersError(reuse, 401, "Invalid or expired refresh token");
    // The successor is dead too, and so are the session's access tokens.
    await expectFeathersError(
      await act(t, { action: "refreshAccessToken", refreshToken: next.refreshToken }),
      401,
    );
    await expectFeathersError(
      await call("GET", `/accounts/${a.uid}`, { headers: { ...t.headers, ...bearer(next.accessToken) } }),
      401,
    );
  });

  it("refuses unknown tokens, other clinics' tokens and other families' tokens", async () => {
    const t = await tenant();
    const a = await account(t);
    await expectFeathersError(
      await act(t, { action: "refreshAccessToken", refreshToken: "0".repeat(32) }),
      401,
    );
    const other = await tenant();
    await expectFeathersError(
      await act(other, { action: "refreshAccessToken", refreshToken: a.tokens.refreshToken }),
      401,
    );
    // Still valid in its own clinic.
    expect((await act(t, { action: "refreshAccessToken", refreshToken: a.tokens.refreshToken })).status).toBe(
      201,
    );

    // A /api_v3 refresh token is not an accounts-family one: refused before it is spent, so its session lives on.
    const clinic = await createClinic();
    const sso = await call("POST", "/api_v3/users/sso", {
      headers: clinic.server,
      json: { first_name: "V", last_name: "See", code: "patient-1", type: 200 },
    });
    const vsee = (await json<{ data: { token: { token: string; refresh_token: { token: string } } } }>(sso))
      .data.token;
    const v = { code: clinic.code, headers: { "X-AccountCode": clinic.code } };
    await expectFeathersError(
      await act(v, { action: "refreshAccessToken", refreshToken: vsee.refresh_token.token }),
      401,
    );
    expect((await call("GET", "/api_v3/me", { headers: { "X-ApiToken": vsee.token } })).status).toBe(200);
  });
});

describe("sign-out", () => {
  it("DELETE /authentication ends the session: its JWTs and refresh token stop working", async () => {
    const t = await tenant();
    const a = await account(t);
    const second = await login(t, { email: a.email });
    const res = await call("DELETE", "/authentication", { headers: { ...t.headers, ...a.auth } });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ uid: a.uid, accessToken: a.tokens.accessToken });
    await expectFeathersError(
      await call("GET", `/accounts/${a.uid}`, { headers: { ...t.headers, ...a.auth } }),
      401,
    );
    await expectFeathersError(await act(t, { strategy: "jwt", accessToken: a.tokens.accessToken }), 401);
    await expectFeathersError(
      await act(t, { action: "refreshAccessToken", refreshToken: a.tokens.refreshToken }),
      401,
    );
    // Another session of the same account is untouched.
    expect(
      (await call("GET", `/accounts/${a.uid}`, { headers: { ...t.headers, ...bearer(second.accessToken) } }))
        .status,
    ).toBe(200);
  });

  it("DELETE /authentication/:accessToken ends that token's session", async () => {
    const t = await tenant();
    const a = await account(t);
    const res = await call("DELETE", `/authentication/${a.tokens.accessToken}`, { headers: t.headers });
    expect(res.status).toBe(200);
    await expectFeathersError(
      await call("GET", `/accounts/${a.uid}`, { headers: { ...t.headers, ...a.auth } }),
      401,
    );
    await expectFeathersError(
      await call("DELETE", `/authentication/${a.tokens.accessToken}`, { headers: t.headers }),
      401,
    );
    await expectFeathersError(
      await call("DELETE", "/authentication", { headers: t.headers }),
      401,
      "An access token is required",
    );
  });
});
