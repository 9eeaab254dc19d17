/**
 * What clients need from POST /authentication's answers (issue 17: the MYCURE SDK's `loadUser` requires
 * `uid`, `accessToken` and `user.uid`, and stores `refreshToken` unchecked; Feathers apps read
 * `authResult.user`): every successful strategy answers with the caller's own account, and the jwt
 * strategy rotates the session's refresh token.
 */
import { afterEach, describe, expect, it } from "vitest";
import { call, clock, json } from "../helpers";
import {
  type Account,
  account,
  act,
  bearer,
  expectFeathersError,
  PASSWORD,
  type Tenant,
  type Tokens,
  tenant,
  totp,
} from "./support";

afterEach(() => clock.reset());

async function ownAccount(t: Tenant, uid: string, token: string): Promise<Account> {
  const res = await call("GET", `/accounts/${uid}`, { headers: { ...t.headers, ...bearer(token) } });
  expect(res.status).toBe(200);
  return json<Account>(res);
}

const SECRET_FIELDS = ["password", "passwordHash", "mfaSecret", "mfa_secret", "password_hash", "details"];

describe("user in every successful POST /authentication", () => {
  it("local, jwt and refreshAccessToken answer the caller's own account, as GET /accounts/:uid, without secrets", async () => {
    const t = await tenant();
    const a = await account(t);
    const expected = await ownAccount(t, a.uid, a.tokens.accessToken);
    expect(a.tokens.user).toEqual(expected);

    const jwt = await act(t, { strategy: "jwt", accessToken: a.tokens.accessToken });
    expect(jwt.status).toBe(201);
    const reauth = await json<Tokens>(jwt);
    expect(reauth.user).toEqual(expected);

    const refreshed = await json<Tokens>(
      await act(t, { action: "refreshAccessToken", refreshToken: reauth.refreshToken }),
    );
    expect(refreshed.user).toEqual(expected);
    for (const answer of [a.tokens, reauth, refreshed]) {
      for (const field of SECRET_FIELDS) expect(answer.user).not.toHaveProperty(field);
    }
  });

  it("the 206 Missing MFA token answer has no user; the same request with totpToken has it", async () => {
    const t = await tenant();
    const a = await account(t);
    const setup = await json<{ secret: string }>(await act(t, { action: "setupMFA", enable: true }, a.auth));
    await act(t, { action: "verifyMFASecret", totpToken: await totp(setup.secret) }, a.auth);
    const signIn = { strategy: "local", email: a.email, password: PASSWORD };
    const missing = await act(t, signIn);
    expect(missing.status).toBe(206);
    expect(await json(missing)).toEqual({ code: 206, message: "Missing MFA token" });
    clock.freeze();
    clock.advance(30);
    const done = await act(t, { ...signIn, totpToken: await totp(setup.secret) });
    expect(done.status).toBe(201);
    const tokens = await json<Tokens>(done);
    expect(tokens.user).toMatchObject({ uid: a.uid, mfaEnabled: true });
  });
});

describe("strategy jwt rotates the session's refresh token", () => {
  it("answers a usable refreshToken, different from the one held before", async () => {
    const t = await tenant();
    const a = await account(t);
    const reauth = await json<Tokens>(await act(t, { strategy: "jwt", accessToken: a.tokens.accessToken }));
    expect(reauth.refreshToken).toMatch(/^[0-9a-f]{32}$/);
    expect(reauth.refreshToken).not.toBe(a.tokens.refreshToken);
    const next = await act(t, { action: "refreshAccessToken", refreshToken: reauth.refreshToken });
    expect(next.status).toBe(201);
    expect((await json<Tokens>(next)).uid).toBe(a.uid);
  });

  it("the refresh token held before is spent: presenting it again ends the session", async () => {
    const t = await tenant();
    const a = await account(t);
    const reauth = await json<Tokens>(await act(t, { strategy: "jwt", accessToken: a.tokens.accessToken }));
    const replay = await act(t, { action: "refreshAccessToken", refreshToken: a.tokens.refreshToken });
    await expectFeathersError(replay, 401, "Invalid or expired refresh token");
    // The whole session ended: the rotated refresh token and every access token of the session.
    await expectFeathersError(
      await act(t, { action: "refreshAccessToken", refreshToken: reauth.refreshToken }),
      401,
    );
    for (const token of [a.tokens.accessToken, reauth.accessToken]) {
      await expectFeathersError(
        await call("GET", `/accounts/${a.uid}`, { headers: { ...t.headers, ...bearer(token) } }),
        401,
      );
    }
  });

  it("rotates within the session only: another session's refresh token is untouched", async () => {
    const t = await tenant();
    const a = await account(t);
    const other = await json<Tokens>(await act(t, { strategy: "local", email: a.email, password: PASSWORD }));
    await act(t, { strategy: "jwt", accessToken: a.tokens.accessToken });
    const res = await act(t, { action: "refreshAccessToken", refreshToken: other.refreshToken });
    expect(res.status).toBe(201);
  });

  it("a session whose refresh token was already rotated away by a refresh still re-authenticates once per token", async () => {
    const t = await tenant();
    const a = await account(t);
    const refreshed = await json<Tokens>(
      await act(t, { action: "refreshAccessToken", refreshToken: a.tokens.refreshToken }),
    );
    // The access token of the refresh re-authenticates and rotates the refreshed token in turn.
    const reauth = await json<Tokens>(await act(t, { strategy: "jwt", accessToken: refreshed.accessToken }));
    expect(reauth.refreshToken).not.toBe(refreshed.refreshToken);
    await expectFeathersError(
      await act(t, { action: "refreshAccessToken", refreshToken: refreshed.refreshToken }),
      401,
    );
  });

  it("an ended session cannot re-authenticate (and gets no refresh token)", async () => {
    const t = await tenant();
    const a = await account(t);
    const out = await call("DELETE", "/authentication", { headers: { ...t.headers, ...a.auth } });
    expect(out.status).toBe(200);
    await expectFeathersError(await act(t, { strategy: "jwt", accessToken: a.tokens.accessToken }), 401);
  });
});

describe("an access token presented again (the isolate keeps the JWTs it verified)", () => {
  it("is refused once it expires, though the same isolate verified it before", async () => {
    const t = await tenant();
    const a = await account(t);
    clock.freeze();
    await ownAccount(t, a.uid, a.tokens.accessToken);
    await ownAccount(t, a.uid, a.tokens.accessToken);
    clock.advance(15 * 60 + 1);
    await expectFeathersError(
      await call("GET", `/accounts/${a.uid}`, { headers: { ...t.headers, ...bearer(a.tokens.accessToken) } }),
      401,
    );
  });
});
