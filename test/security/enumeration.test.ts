/**
 * The routes that tell whether an email or mobile number has an account (issue 16, finding 17; SECURITY.md
 * "Who can learn that an identity exists"): the seeds need their answers, so they are documented and
 * limited per client by LOOKUP_LIMITER, one group shared by all of them (at most 10 such answers a
 * minute, whichever route asks), with 429 + Retry-After in each family's shape.
 */
import { describe, expect, it } from "vitest";
import { account, act, email, expectFeathersError, PASSWORD, signup, tenant } from "../accounts/support";
import { type CallOptions, call, createClinic, json, randomIp } from "../helpers";
import { ensureDefaultClinic, person, registerAs } from "../register/support";

const LOOKUP_LIMIT = 10;
const RATE_LIMITED = "Too many requests, try again later";

/**
 * Sends requests from one client until one is refused with 429; returns how many passed and the refusal.
 * The binding's windows are whole minutes of the wall clock: when one turns over, the count starts again.
 */
async function untilLimited(send: (i: number, ip: string) => Promise<Response>, max = 40) {
  const ip = randomIp();
  const minute = () => Math.floor(Date.now() / 60_000);
  let window = minute();
  let passed = 0;
  for (let i = 0; i < max; i++) {
    if (minute() !== window) {
      window = minute();
      passed = 0;
    }
    const res = await send(i, ip);
    if (res.status === 429) {
      expect(res.headers.get("retry-after")).toBe("60");
      return { passed, res, ip };
    }
    passed++;
  }
  throw new Error(`never rate-limited after ${passed} requests`);
}

const from = (ip: string, opts: CallOptions): CallOptions => ({
  ...opts,
  headers: { ...opts.headers, "cf-connecting-ip": ip },
});

describe("existence-revealing routes are limited per client (LOOKUP_LIMITER)", () => {
  it("accounts checkUniqueIdentity: at most 10 answers a minute, then 429 in the Feathers shape", {
    timeout: 60_000,
  }, async () => {
    const t = await tenant();
    const taken = await signup(t);
    const { passed, res } = await untilLimited((i, ip) =>
      call(
        "POST",
        "/authentication",
        from(ip, {
          headers: t.headers,
          json: {
            action: "checkUniqueIdentity",
            identityKey: "email",
            identity: i % 2 ? email() : taken.email,
          },
        }),
      ),
    );
    expect(passed).toBeGreaterThan(0);
    expect(passed).toBeLessThanOrEqual(LOOKUP_LIMIT);
    const body = await expectFeathersError(res, 429, RATE_LIMITED);
    expect(body).toMatchObject({ name: "TooManyRequests", className: "too-many-requests" });
  });

  it("one group across the routes: lookups, then signups and changeIdentity from that client are refused", {
    timeout: 60_000,
  }, async () => {
    const t = await tenant();
    const a = await account(t);
    const { passed, ip } = await untilLimited((_, ip) =>
      call(
        "POST",
        "/authentication",
        from(ip, {
          headers: t.headers,
          json: { action: "checkUniqueIdentity", identityKey: "email", identity: email() },
        }),
      ),
    );
    expect(passed).toBeLessThanOrEqual(LOOKUP_LIMIT);
    const signupRes = await call(
      "POST",
      "/accounts",
      from(ip, { headers: t.headers, json: { email: a.email, password: PASSWORD } }),
    );
    await expectFeathersError(signupRes, 429, RATE_LIMITED);
    expect(signupRes.headers.get("retry-after")).toBe("60");
    const change = await call(
      "POST",
      "/authentication",
      from(ip, {
        headers: { ...t.headers, ...a.auth },
        json: { action: "changeIdentity", identityKey: "email", identity: email() },
      }),
    );
    await expectFeathersError(change, 429, RATE_LIMITED);
    // Another client is not affected.
    const other = await act(t, { action: "checkUniqueIdentity", identityKey: "email", identity: a.email });
    expect(other.status).toBe(201);
    expect(await json(other)).toEqual({ unique: false });
  });

  it("POST /register without the clinic's key: at most 10 answers a minute, then 429 {error}; the key is not limited", {
    timeout: 120_000,
  }, async () => {
    await ensureDefaultClinic();
    const clinic = await createClinic();
    const existing = await registerAs(clinic, "patients");
    const probe = person("patients", { email: existing.email });
    const { passed, res, ip } = await untilLimited((_, ip) =>
      call("POST", "/register", from(ip, { headers: { "X-AccountCode": clinic.code }, json: probe })),
    );
    expect(passed).toBeGreaterThan(0);
    expect(passed).toBeLessThanOrEqual(LOOKUP_LIMIT);
    expect(await json(res)).toEqual({ error: RATE_LIMITED });
    // The clinic's servers, from that same address, with their key: not counted by this limit.
    for (let i = 0; i < LOOKUP_LIMIT + 2; i++) {
      const keyed = await call(
        "POST",
        "/register",
        from(ip, { headers: clinic.server, json: person("patients") }),
      );
      expect(keyed.status, await keyed.clone().text()).toBe(200);
    }
  });
});
