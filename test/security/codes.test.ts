/**
 * Single-use codes under attack (issue 16, findings 9, 10 and 11), through the worker entry:
 * - the codes-per-hour cap holds against 20 parallel requests on every code-sending route (the check
 *   is part of the statements that write the code, and a message is written only with its code);
 * - the code routes do the same D1 work for an unknown identity as for a known one (counted by
 *   wrapping the D1 binding the worker is given, instead of timing);
 * - a refresh token of one family is refused by the other before it is spent, and keeps working at home.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { DEFAULT_CODES_PER_HOUR } from "../../src/services/codes";
import type { Bindings } from "../../src/types";
import {
  account,
  act,
  codeFrom,
  email,
  expectFeathersError,
  mobile,
  signup,
  tenant,
} from "../accounts/support";
import {
  buildRequest,
  type CallOptions,
  call,
  callAndSettle,
  createClinic,
  env,
  json,
  uniq,
} from "../helpers";
import { sso } from "../vsee/support";

const CAP = DEFAULT_CODES_PER_HOUR;
const PARALLEL = 20;

async function countOutbox(recipient: string, template: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM outbox WHERE recipient = ? AND template = ?")
    .bind(recipient, template)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

async function countCodes(userId: string | number, purpose: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM codes WHERE user_id = ? AND purpose = ?")
    .bind(Number(userId), purpose)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** `n` copies of a request at once, each from its own client (the per-client binding is not what is tested). */
function parallel(n: number, send: (i: number) => Promise<Response>): Promise<Response[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => send(i)));
}

describe("codes per hour: one atomic check, 20 parallel requests (finding 9)", () => {
  it("accounts sendPasswordResetEmail: at most the cap of codes and mails", {
    timeout: 120_000,
  }, async () => {
    const t = await tenant();
    const a = await signup(t);
    const res = await parallel(PARALLEL, () =>
      act(t, { action: "sendPasswordResetEmail", email: a.email }, {}, true),
    );
    expect(res.map((r) => r.status)).toEqual(Array(PARALLEL).fill(201));
    expect(await countOutbox(a.email as string, "password_reset")).toBe(CAP);
    expect(await countCodes(a.uid, "password_reset")).toBe(CAP);
  });

  it("accounts sendVerificationEmail and sendVerificationSms without a token", {
    timeout: 120_000,
  }, async () => {
    const t = await tenant();
    const number = mobile();
    const a = await signup(t, { mobileNo: number });
    // The signup sent one code of each kind; the cap allows CAP - 1 more of each.
    await parallel(PARALLEL, () => act(t, { action: "sendVerificationEmail", email: a.email }, {}, true));
    await parallel(PARALLEL, () => act(t, { action: "sendVerificationSms", mobileNo: number }, {}, true));
    expect(await countOutbox(a.email as string, "email_verification")).toBe(CAP);
    expect(await countCodes(a.uid, "email_verify")).toBe(CAP);
    expect(await countOutbox(number, "sms_verification")).toBe(CAP);
    expect(await countCodes(a.uid, "sms_verify")).toBe(CAP);
  });

  it("signed-in callers: sendVerificationEmail, changePassword, changeIdentity answer 429 past the cap", {
    timeout: 120_000,
  }, async () => {
    const t = await tenant();
    const a = await account(t);
    const statuses = async (res: Response[]) => {
      const by = res.map((r) => r.status).sort();
      for (const r of res.filter((x) => x.status === 429)) {
        await expectFeathersError(r, 429, "Too many codes sent, try again later");
        expect(r.headers.get("retry-after")).toBe("3600");
      }
      return by;
    };
    const verify = await parallel(PARALLEL, () => act(t, { action: "sendVerificationEmail" }, a.auth));
    // One was sent at signup.
    expect(await statuses(verify)).toEqual([
      ...Array(CAP - 1).fill(201),
      ...Array(PARALLEL - CAP + 1).fill(429),
    ]);
    expect(await countOutbox(a.email as string, "email_verification")).toBe(CAP);

    const change = await parallel(PARALLEL, () =>
      act(t, { action: "changePassword", password: "another long password" }, a.auth),
    );
    expect(await statuses(change)).toEqual([...Array(CAP).fill(201), ...Array(PARALLEL - CAP).fill(429)]);
    expect(await countOutbox(a.email as string, "password_change")).toBe(CAP);
    expect(await countCodes(a.uid, "password_change")).toBe(CAP);

    const addresses = Array.from({ length: PARALLEL }, () => email());
    const identity = await parallel(PARALLEL, (i) =>
      act(t, { action: "changeIdentity", identityKey: "email", identity: addresses[i] }, a.auth),
    );
    expect(await statuses(identity)).toEqual([...Array(CAP).fill(201), ...Array(PARALLEL - CAP).fill(429)]);
    let mails = 0;
    for (const address of addresses) mails += await countOutbox(address, "identity_change");
    expect(mails).toBe(CAP);
    expect(await countCodes(a.uid, "identity_change")).toBe(CAP);
  });

  it("a refused request over the cap leaves the live code working", { timeout: 60_000 }, async () => {
    const t = await tenant({ settings: { codesPerHour: 1 } });
    const a = await account(t);
    const code = await codeFrom(t, a.email as string, "email_verification");
    await expectFeathersError(await act(t, { action: "sendVerificationEmail" }, a.auth), 429);
    expect((await act(t, { action: "applyActionCode", code }, a.auth)).status).toBe(201);
  });

  it("/api_v3 reset_password and activate: at most the cap of email tokens", {
    timeout: 120_000,
  }, async () => {
    const clinic = await createClinic();
    const h = { "X-AccountCode": clinic.code };
    const resetEmail = `${uniq("reset")}@example.test`;
    const user = await sso(clinic, { email: resetEmail });
    const reset = await parallel(PARALLEL, () =>
      callAndSettle("POST", "/api_v3/users/reset_password", { headers: h, form: { email: resetEmail } }),
    );
    expect(reset.map((r) => r.status)).toEqual(Array(PARALLEL).fill(200));
    expect(await countOutbox(resetEmail, "vsee_password_reset")).toBe(CAP);
    expect(await countCodes(user.id, "vsee_reset")).toBe(CAP);

    const pending = `${uniq("act")}@example.test`;
    const body = { email: pending, first_name: "Pen", last_name: "Ding" };
    // The first call creates the pending user (and sends one token); then 20 at once.
    await callAndSettle("POST", "/api_v3/users/activate", { headers: h, form: body });
    await parallel(PARALLEL, () =>
      callAndSettle("POST", "/api_v3/users/activate", { headers: h, form: body }),
    );
    expect(await countOutbox(pending, "activation")).toBe(CAP);
  });
});

// ---------- equal work for unknown identities ----------

/** A D1 binding that records the SQL of every statement it runs (single or in a batch), then runs it. */
function recordingD1(db: D1Database, log: string[]): D1Database {
  // Each wrapped statement's original (what D1's batch needs) and its SQL.
  const known = new WeakMap<object, { stmt: D1PreparedStatement; sql: string }>();
  const wrap = (stmt: D1PreparedStatement, sql: string): D1PreparedStatement => {
    const proxy = new Proxy(stmt, {
      get(target, prop) {
        if (prop === "bind") return (...values: unknown[]) => wrap(target.bind(...values), sql);
        if (prop === "first" || prop === "all" || prop === "run" || prop === "raw") {
          return (...args: unknown[]) => {
            log.push(sql);
            return (target[prop] as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    known.set(proxy, { stmt, sql });
    return proxy;
  };
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare")
        return (sql: string) => wrap(target.prepare(sql), sql.replace(/\s+/g, " ").trim());
      if (prop === "batch")
        return (stmts: D1PreparedStatement[]) => {
          for (const s of stmts) log.push(`batch: ${known.get(s)?.sql ?? "?"}`);
          return target.batch(stmts.map((s) => known.get(s)?.stmt ?? s));
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** One request through the worker with a recording D1 binding; returns the response and the SQL it ran. */
async function recorded(method: string, path: string, opts: CallOptions) {
  const log: string[] = [];
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    buildRequest(method, path, opts) as Request<unknown, IncomingRequestCfProperties>,
    { ...(env as unknown as Bindings), DB: recordingD1(env.DB, log) },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return { res, statements: log.sort() };
}

describe("code routes do the same D1 work for known and unknown identities (finding 10)", () => {
  it("POST /api_v3/users/login with email + email_token", { timeout: 60_000 }, async () => {
    const clinic = await createClinic();
    const h = { "X-AccountCode": clinic.code };
    const known = `${uniq("known")}@example.test`;
    await sso(clinic, { email: known });
    // The known user holds a live email token; the guess is wrong.
    await callAndSettle("POST", "/api_v3/users/reset_password", { headers: h, form: { email: known } });
    const guess = { email_token: "zzzzzzzz" };
    const a = await recorded("POST", "/api_v3/users/login", { headers: h, form: { email: known, ...guess } });
    const b = await recorded("POST", "/api_v3/users/login", {
      headers: h,
      form: { email: `${uniq("nobody")}@example.test`, ...guess },
    });
    expect([a.res.status, b.res.status]).toEqual([401, 401]);
    expect(await json(a.res)).toEqual(await json(b.res));
    expect(a.statements.some((s) => s.startsWith("UPDATE codes SET used_at"))).toBe(true);
    expect(b.statements).toEqual(a.statements);
  });

  it("applyActionCode without a token, and resetPassword", { timeout: 60_000 }, async () => {
    const t = await tenant();
    const a = await signup(t);
    await act(t, { action: "sendPasswordResetEmail", email: a.email }, {}, true);
    const unknown = email();
    for (const body of [
      { action: "applyActionCode", code: "000000" },
      { action: "resetPassword", code: "000000", password: "a brand new password" },
    ]) {
      const known = await recorded("POST", "/authentication", {
        headers: t.headers,
        json: { ...body, email: a.email },
      });
      const nobody = await recorded("POST", "/authentication", {
        headers: t.headers,
        json: { ...body, email: unknown },
      });
      expect([known.res.status, nobody.res.status], body.action).toEqual([401, 401]);
      expect(await json(known.res)).toEqual(await json(nobody.res));
      expect(known.statements.some((s) => s.startsWith("UPDATE codes SET used_at"))).toBe(true);
      expect(nobody.statements, body.action).toEqual(known.statements);
    }
  });
});

// ---------- refresh tokens stay in their family ----------

describe("refresh tokens are refused by the other family before they are spent (finding 11)", () => {
  it("POST /api_v3/tokens/refresh refuses an accounts-family refresh token, which then still works", {
    timeout: 60_000,
  }, async () => {
    const t = await tenant();
    const a = await account(t);
    const refused = await call("POST", "/api_v3/tokens/refresh", {
      headers: t.headers,
      form: { refresh_token: a.tokens.refreshToken },
    });
    expect(refused.status).toBe(401);
    expect(await json(refused)).toEqual({ code: 401, message: "Invalid or expired refresh token" });
    // Not spent: the accounts family rotates it, and its session's JWT still works.
    const home = await act(t, { action: "refreshAccessToken", refreshToken: a.tokens.refreshToken });
    expect(home.status).toBe(201);
    const rotated = await json<{ accessToken: string; refreshToken: string }>(home);
    expect(rotated.refreshToken).not.toBe(a.tokens.refreshToken);
    expect((await call("GET", `/accounts/${a.uid}`, { headers: { ...t.headers, ...a.auth } })).status).toBe(
      200,
    );
  });

  it("accounts refreshAccessToken refuses a /api_v3 refresh token, which then still works", {
    timeout: 60_000,
  }, async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    const v = { code: clinic.code, headers: { "X-AccountCode": clinic.code } };
    await expectFeathersError(
      await act(v, { action: "refreshAccessToken", refreshToken: user.refresh }),
      401,
      "Invalid or expired refresh token",
    );
    // Not spent, and its session not ended: the access token works, and /api_v3 rotates the refresh token.
    expect((await call("GET", "/api_v3/me", { headers: user.auth })).status).toBe(200);
    const home = await call("POST", "/api_v3/tokens/refresh", {
      headers: v.headers,
      form: { refresh_token: user.refresh },
    });
    expect(home.status).toBe(200);
    const { data } = await json<{ data: { token: string } }>(home);
    expect(
      (await call("GET", "/api_v3/me", { headers: { ...user.auth, "X-ApiToken": data.token } })).status,
    ).toBe(200);
  });
});
