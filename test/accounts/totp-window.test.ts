/**
 * The TOTP drift window is exactly ±1 step (issue 16, "tests that a planted bug slips past": widening it to
 * ±2 passed every test). Checked on verifyTotp itself and through sign-in, with the injectable clock: codes
 * one step before or after now are accepted once, two steps away are refused, a used step is refused again.
 */
import { afterEach, describe, expect, it } from "vitest";
import { hotp, newTotpSecret, TOTP_STEP, totpStep, verifyTotp } from "../../src/lib/totp";
import { clock, json } from "../helpers";
import { account, act, expectFeathersError, PASSWORD, type Tenant, tenant, totp } from "./support";

afterEach(() => clock.reset());

describe("TOTP window", () => {
  it("verifyTotp accepts the current step and one either side, and nothing further", () => {
    const secret = newTotpSecret();
    const t = 1_800_000_000 + 7; // inside a step, not on its edge
    const step = totpStep(t);
    for (const offset of [-1, 0, 1])
      expect(verifyTotp(secret, hotp(secret, step + offset), t)).toBe(step + offset);
    for (const offset of [-3, -2, 2, 3])
      expect(verifyTotp(secret, hotp(secret, step + offset), t), `${offset}`).toBeNull();
    // At a step's first and last second the window moves with the step, never wider.
    const first = step * TOTP_STEP;
    expect(verifyTotp(secret, hotp(secret, step - 2), first)).toBeNull();
    expect(verifyTotp(secret, hotp(secret, step + 2), first + TOTP_STEP - 1)).toBeNull();
  });

  it("sign-in: ±2 steps refused, -1 and +1 accepted once each, a used step refused on replay", async () => {
    clock.freeze();
    const t: Tenant = await tenant();
    const a = await account(t);
    const setup = await json<{ secret: string }>(await act(t, { action: "setupMFA", enable: true }, a.auth));
    const enrolled = await act(t, { action: "verifyMFASecret", totpToken: totp(setup.secret) }, a.auth);
    expect(await json(enrolled)).toEqual({ verified: true });
    // Well past the step the enrolment used, so that only the window decides below.
    clock.advance(10 * TOTP_STEP);
    const signIn = (offset: number) =>
      act(t, {
        strategy: "local",
        email: a.email,
        password: PASSWORD,
        totpToken: totp(setup.secret, offset),
      });

    for (const offset of [-2, 2]) await expectFeathersError(await signIn(offset), 401, "Invalid MFA token");
    expect((await signIn(-1)).status).toBe(201);
    await expectFeathersError(await signIn(-1), 401, "Invalid MFA token");
    expect((await signIn(1)).status).toBe(201);
    await expectFeathersError(await signIn(1), 401, "Invalid MFA token");
    // The current step is older than the one just used: refused too.
    await expectFeathersError(await signIn(0), 401, "Invalid MFA token");
  }, 30_000); // nine password hashes: slow on a loaded machine
});
