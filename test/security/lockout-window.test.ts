/**
 * The lockout's window (services/lockout.ts, SECURITY.md "Rate limits and lockout"): failures none more
 * than 15 minutes apart lock the identity; a failure further from the previous one than that starts the
 * count again. Moved on the injectable clock, at the window's edge, for a password and for TOTP codes.
 */
import { afterEach, describe, expect, it } from "vitest";
import { LOCKOUT_WINDOW_SECONDS } from "../../src/services/lockout";
import { account, act, PASSWORD, tenant, totp } from "../accounts/support";
import { call, clock, createClinic, json } from "../helpers";
import { setPassword, sso } from "../vsee/support";

afterEach(() => clock.reset());

const WINDOW = 15 * 60;

async function passwordUser() {
  const clinic = await createClinic();
  const user = await sso(clinic);
  await setPassword(user, "correct horse battery");
  const wrong = () =>
    call("POST", "/api_v3/users/login", {
      headers: { "X-AccountCode": clinic.code },
      json: { username: user.username, password: "not-the-password" },
    });
  return { wrong };
}

/** The statuses of five wrong passwords, `gap` seconds apart (the default threshold is 5). */
async function fiveFailures(gap: number): Promise<number[]> {
  clock.freeze();
  const { wrong } = await passwordUser();
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) {
    if (i > 0) clock.advance(gap);
    statuses.push((await wrong()).status);
  }
  return statuses;
}

describe("the lockout window", () => {
  it("is 15 minutes", () => {
    expect(LOCKOUT_WINDOW_SECONDS).toBe(WINDOW);
  });

  it("failures a few minutes apart still lock the identity", { timeout: 30_000 }, async () => {
    expect(await fiveFailures(3 * 60)).toEqual([401, 401, 401, 401, 429]);
  });

  it("failures just inside the window (15 minutes apart) still lock it", { timeout: 30_000 }, async () => {
    expect(await fiveFailures(WINDOW)).toEqual([401, 401, 401, 401, 429]);
  });

  it("failures further apart than the window start the count again", { timeout: 30_000 }, async () => {
    expect(await fiveFailures(WINDOW + 1)).toEqual([401, 401, 401, 401, 401]);
  });

  it("a long gap restarts the count: four failures, a pause, then four more do not lock", {
    timeout: 30_000,
  }, async () => {
    clock.freeze();
    const { wrong } = await passwordUser();
    for (let i = 0; i < 4; i++) expect((await wrong()).status).toBe(401);
    clock.advance(WINDOW + 60);
    for (let i = 0; i < 4; i++) expect((await wrong()).status).toBe(401);
    // …and the fifth of the new run locks.
    const locked = await wrong();
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await json(locked)).toEqual({ code: 429, message: "Too many failed attempts, try again later" });
  });

  it("wrong TOTP codes keep the same window", { timeout: 30_000 }, async () => {
    clock.freeze();
    const t = await tenant();
    const a = await account(t);
    const setup = await json<{ secret: string }>(await act(t, { action: "setupMFA", enable: true }, a.auth));
    await act(t, { action: "verifyMFASecret", totpToken: await totp(setup.secret) }, a.auth);
    const wrong = async () =>
      (
        await act(t, {
          strategy: "local",
          email: a.email,
          password: PASSWORD,
          totpToken: await totp(setup.secret, 13),
        })
      ).status;
    const apart: number[] = [];
    for (let i = 0; i < 5; i++) {
      if (i > 0) clock.advance(WINDOW + 1);
      apart.push(await wrong());
    }
    expect(apart).toEqual([401, 401, 401, 401, 401]);
    const close: number[] = [];
    for (let i = 0; i < 4; i++) {
      clock.advance(4 * 60);
      close.push(await wrong());
    }
    // The last far-apart failure began a run: four more a few minutes apart make five.
    expect(close).toEqual([401, 401, 401, 429]);
  });
});
