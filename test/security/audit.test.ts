/**
 * The audit log: a row for every security event of every family (who, subject, clinic, when, client IP,
 * user agent, request id, outcome), none carrying a secret, a code, a token, a password or personal
 * data; readable by clinic admins (GET /api_v3/audit) and operators (GET /admin/audit); pruned by the
 * cron handler after each clinic's retention.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import worker from "../../src/index";
import type { AuditRow } from "../../src/services/audit";
import {
  account,
  act,
  bearer,
  codeFrom,
  email as newEmail,
  PASSWORD,
  type Tenant,
  tenant,
  totp,
} from "../accounts/support";
import {
  ADMIN_AUTH,
  type CallOptions,
  callAndSettle,
  clock,
  createClinic,
  env,
  json,
  type TestClinic,
} from "../helpers";
import { ensureDefaultClinic, registerAs } from "../register/support";
import { setPassword, sso } from "../vsee/support";

afterEach(() => clock.reset());

type Row = AuditRow;

const UA = "AuditTest/1.0 (security suite)";

/** A request that waits for its after-response work (where audit rows without a batch are written). */
function send(method: string, path: string, opts: CallOptions = {}, ip = "203.0.113.7") {
  return callAndSettle(method, path, {
    ...opts,
    headers: { "user-agent": UA, "cf-connecting-ip": ip, ...opts.headers },
  });
}

async function rowsOf(code: string): Promise<Row[]> {
  const { results } = await env.DB.prepare(
    "SELECT a.* FROM audit_log a JOIN clinics c ON c.id = a.clinic_id WHERE c.code = ? ORDER BY a.id",
  )
    .bind(code)
    .all<Row>();
  return results;
}

async function clinicId(code: string): Promise<number> {
  const row = await env.DB.prepare("SELECT id FROM clinics WHERE code = ?")
    .bind(code)
    .first<{ id: number }>();
  return row?.id as number;
}

function find(rows: Row[], event: string, outcome: string, details: Record<string, unknown> = {}) {
  return rows.filter(
    (r) =>
      r.event === event &&
      r.outcome === outcome &&
      Object.entries(details).every(([k, v]) => JSON.parse(r.details)[k] === v),
  );
}

/** The row of a request: its source, its request id. */
function expectSource(row: Row | undefined, res: Response) {
  expect(row).toBeDefined();
  expect(row?.ip).toBe("203.0.113.7");
  expect(row?.user_agent).toBe(UA);
  expect(row?.request_id).toBe(res.headers.get("x-request-id"));
  expect(row?.created_at).toBeGreaterThan(1_600_000_000);
}

/** No audit row may carry any of these (tokens, passwords, codes, emails, keys, names). */
async function expectNoSecrets(code: string, secrets: string[]) {
  const rows = await rowsOf(code);
  const text = JSON.stringify(rows);
  for (const secret of secrets.filter((s) => s.length >= 4)) expect(text).not.toContain(secret);
  expect(text).not.toMatch(/[^\s@"]+@[^\s@"]+\.[a-z]{2,}/i); // no email address at all
  expect(text).not.toMatch(/eyJ[\w-]{4,}\.[\w-]{4,}\./); // no JWT
  expect(text).not.toMatch(/\b[0-9a-f]{32,}\b/); // no token or hash
  expect(text).not.toMatch(/ce_[\w-]{20,}|\$argon2/); // no API key, no password hash
  for (const row of rows) {
    const details = JSON.parse(row.details) as Record<string, unknown>;
    expect(Object.keys(details).length).toBeLessThanOrEqual(9);
    for (const value of Object.values(details))
      expect(["string", "number", "boolean"]).toContain(typeof value);
  }
}

/** A clinic admin, made with settled requests (so that every audit row is written before the test reads). */
async function settledAdmin(clinic: TestClinic) {
  const user = await sso(clinic, { first_name: "Ada", last_name: "Admin" });
  const res = await send("PATCH", `/admin/clinics/${clinic.code}/users/${user.id}`, {
    headers: ADMIN_AUTH,
    json: { roles: ["clinic_admin"] },
  });
  expect(res.status).toBe(200);
  return sso(clinic, { code: user.code, first_name: "Ada", last_name: "Admin" });
}

// ---------- /api_v3 ----------

describe("audit: /api_v3", () => {
  async function withPassword(clinic: TestClinic) {
    const user = await sso(clinic, { first_name: "Auditee", last_name: "Person" });
    return { user, password: await setPassword(user, "audit correct horse") };
  }

  it("sign-in success and failure, SSO, refresh, reuse detection and sign-out", async () => {
    const clinic = await createClinic();
    const { user, password } = await withPassword(clinic);
    const headers = { "X-AccountCode": clinic.code };

    const wrong = await send("POST", "/api_v3/users/login", {
      headers,
      form: { username: user.username, password: "wrong password!" },
    });
    expect(wrong.status).toBe(401);
    const ok = await send("POST", "/api_v3/users/login", {
      headers,
      form: { username: user.username, password },
    });
    expect(ok.status).toBe(200);
    const tokens = (await json<{ data: { token: string; refresh_token: { token: string } } }>(ok)).data;

    const refreshed = await send("POST", "/api_v3/tokens/refresh", {
      headers,
      form: { refresh_token: tokens.refresh_token.token },
    });
    expect(refreshed.status).toBe(200);
    const reused = await send("POST", "/api_v3/tokens/refresh", {
      headers,
      form: { refresh_token: tokens.refresh_token.token },
    });
    expect(reused.status).toBe(401);

    const second = await send("POST", "/api_v3/users/login", {
      headers,
      form: { username: user.username, password },
    });
    const token = (await json<{ data: { token: string } }>(second)).data.token;
    const out = await send("POST", "/api_v3/users/logout", { headers: { "X-ApiToken": token } });
    expect(out.status).toBe(200);

    const rows = await rowsOf(clinic.code);
    const uid = Number(user.id);
    const failed = find(rows, "sign_in", "failure", { method: "password", reason: "invalid" })[0];
    expectSource(failed, wrong);
    expect(failed).toMatchObject({ subject_user_id: uid, actor_user_id: null });
    const signedIn = find(rows, "sign_in", "success", { method: "password", family: "vsee" })[0];
    expectSource(signedIn, ok);
    expect(signedIn).toMatchObject({ actor_user_id: uid, subject_user_id: uid });
    expect(find(rows, "sso", "success").length).toBeGreaterThanOrEqual(1);
    expectSource(find(rows, "token_refresh", "success")[0], refreshed);
    expect(find(rows, "token_reuse", "failure", { action: "session_revoked" })[0]).toMatchObject({
      subject_user_id: uid,
    });
    expectSource(find(rows, "token_refresh", "failure")[0], reused);
    expectSource(find(rows, "sign_out", "success", { sessions: 1 })[0], out);

    await expectNoSecrets(clinic.code, [
      password,
      "wrong password!",
      tokens.token,
      tokens.refresh_token.token,
      token,
      user.token,
      clinic.apiKey,
      "Auditee",
    ]);
  });

  it("lockout: the refused attempts say so", async () => {
    const clinic = await createClinic({ settings: { lockoutThreshold: 2 } });
    const { user, password } = await withPassword(clinic);
    const headers = { "X-AccountCode": clinic.code };
    for (const p of ["bad one!!", "bad two!!", password]) {
      await send("POST", "/api_v3/users/login", { headers, form: { username: user.username, password: p } });
    }
    const rows = find(await rowsOf(clinic.code), "sign_in", "failure");
    expect(rows.map((r) => JSON.parse(r.details).reason)).toEqual(["invalid", "locked", "locked"]);
  });

  it("SSO refused while disabled; web sign-in with the sso_token, and a refused one", async () => {
    const off = await createClinic({ sso_enabled: false });
    const refused = await send("POST", "/api_v3/users/sso", {
      headers: off.server,
      form: { first_name: "A", last_name: "B", code: "x1", type: "200" },
    });
    expect(refused.status).toBe(403);
    expect(find(await rowsOf(off.code), "sso", "failure", { reason: "sso_disabled" })).toHaveLength(1);

    const clinic = await createClinic();
    const user = await sso(clinic);
    const web = await send("GET", `/auth?sso_token=${user.token}&next=/home`);
    expect(web.status).toBe(302);
    const bad = await send("GET", "/auth?sso_token=0123456789abcdef0123456789abcdef");
    expect(bad.status).toBe(401);
    const rows = await rowsOf(clinic.code);
    const signedIn = find(rows, "sso", "success", { via: "sso_token", family: "web" })[0];
    expectSource(signedIn, web);
    expect(signedIn?.subject_user_id).toBe(Number(user.id));
    const unknown = await env.DB.prepare(
      "SELECT * FROM audit_log WHERE request_id = ? AND event = 'sso' AND outcome = 'failure'",
    )
      .bind(bad.headers.get("x-request-id"))
      .first<Row>();
    expect(unknown).toMatchObject({ clinic_id: null, subject_user_id: null });
    await expectNoSecrets(clinic.code, [user.token, user.refresh]);
  });

  it("password changes (POST /me), refused ones, and access to another user's profile", async () => {
    const clinic = await createClinic();
    const { user, password } = await withPassword(clinic);
    const wrongOld = await send("POST", "/api_v3/me", {
      headers: user.auth,
      form: { password: "brand new secret 1", old_password: "not my password" },
    });
    expect(wrongOld.status).toBe(400);
    const changed = await send("POST", "/api_v3/me", {
      headers: user.auth,
      form: { password: "brand new secret 2", old_password: password },
    });
    expect(changed.status).toBe(200);

    const admin = await settledAdmin(clinic);
    const member = await sso(clinic);
    const read = await send("GET", `/api_v3/users/${user.id}`, { headers: admin.auth });
    expect(read.status).toBe(200);
    const denied = await send("GET", `/api_v3/users/${user.id}`, { headers: member.auth });
    expect(denied.status).toBe(403);
    const byKey = await send("GET", `/api_v3/users/${user.id}`, { headers: clinic.server });
    expect(byKey.status).toBe(200);
    const own = await send("GET", `/api_v3/users/${user.id}`, { headers: user.auth });
    expect(own.status).toBe(200);

    const rows = await rowsOf(clinic.code);
    const uid = Number(user.id);
    // The first password (set by the fixture) and the change.
    expect(find(rows, "password_change", "success").map((r) => JSON.parse(r.details).via)).toEqual([
      "first_password",
      "old_password",
    ]);
    expectSource(find(rows, "password_change", "failure", { reason: "invalid_old_password" })[0], wrongOld);
    const access = find(rows, "profile_access", "success");
    expect(access.map((r) => JSON.parse(r.details).via)).toEqual(["clinic_admin", "api_key"]);
    expect(access[0]).toMatchObject({ actor_user_id: Number(admin.id), subject_user_id: uid });
    expect(access[1]).toMatchObject({ actor_user_id: null, subject_user_id: uid });
    expect(find(rows, "profile_access", "failure", { via: "denied" })[0]).toMatchObject({
      actor_user_id: Number(member.id),
      subject_user_id: uid,
    });
    // Reading one's own profile is no audit event.
    expect(rows.filter((r) => r.event === "profile_access" && r.actor_user_id === uid)).toHaveLength(0);
    await expectNoSecrets(clinic.code, [password, "brand new secret", "not my password"]);
  });
});

// ---------- accounts family ----------

describe("audit: accounts family", () => {
  async function expectRow(t: Tenant, event: string, outcome: string, details: Record<string, unknown> = {}) {
    const rows = find(await rowsOf(t.code), event, outcome, details);
    expect(rows.length, `${event} ${outcome} ${JSON.stringify(details)}`).toBeGreaterThanOrEqual(1);
    return rows.at(-1) as Row;
  }

  it("sign-up, sign-in (password, TOTP), refresh, reuse, jwt re-authentication and sign-out", async () => {
    const t = await tenant();
    const a = await account(t);
    const uid = Number(a.uid);
    await expectRow(t, "sign_up", "success", { family: "accounts" });
    expect((await expectRow(t, "sign_in", "success", { method: "password" })).subject_user_id).toBe(uid);

    const wrong = await send("POST", "/authentication", {
      headers: t.headers,
      json: { strategy: "local", email: a.email, password: "not the password" },
    });
    expect(wrong.status).toBe(401);
    expectSource(await expectRow(t, "sign_in", "failure", { method: "password", reason: "invalid" }), wrong);

    const refreshed = await send("POST", "/authentication", {
      headers: t.headers,
      json: { action: "refreshAccessToken", refreshToken: a.tokens.refreshToken },
    });
    expect(refreshed.status).toBe(201);
    expectSource(await expectRow(t, "token_refresh", "success", { family: "accounts" }), refreshed);
    const reused = await send("POST", "/authentication", {
      headers: t.headers,
      json: { action: "refreshAccessToken", refreshToken: a.tokens.refreshToken },
    });
    expect(reused.status).toBe(401);
    expect((await expectRow(t, "token_reuse", "failure")).subject_user_id).toBe(uid);
    await expectRow(t, "token_refresh", "failure", { reason: "invalid" });

    const fresh = await act(t, { strategy: "local", email: a.email, password: PASSWORD });
    const { accessToken } = await json<{ accessToken: string }>(fresh);
    const jwt = await send("POST", "/authentication", {
      headers: t.headers,
      json: { strategy: "jwt", accessToken },
    });
    expect(jwt.status).toBe(201);
    await expectRow(t, "token_refresh", "success", { method: "jwt" });
    const out = await send("DELETE", "/authentication", {
      headers: { ...t.headers, ...bearer(accessToken) },
    });
    expect(out.status).toBe(200);
    expectSource(await expectRow(t, "sign_out", "success", { sessions: 1 }), out);

    await expectNoSecrets(t.code, [
      PASSWORD,
      "not the password",
      a.tokens.accessToken,
      a.tokens.refreshToken,
      accessToken,
      a.email as string,
    ]);
  });

  it("MFA: enrolment, enabling, a wrong code, sign-in with TOTP, disabling", async () => {
    const t = await tenant();
    const a = await account(t);
    const setup = await json<{ secret: string }>(
      await send("POST", "/authentication", {
        headers: { ...t.headers, ...a.auth },
        json: { action: "setupMFA", enable: true },
      }),
    );
    await send("POST", "/authentication", {
      headers: { ...t.headers, ...a.auth },
      json: {
        action: "verifyMFASecret",
        totpToken: "000000" === (await totp(setup.secret)) ? "111111" : "000000",
      },
    });
    clock.freeze();
    const code = await totp(setup.secret);
    const enabled = await send("POST", "/authentication", {
      headers: { ...t.headers, ...a.auth },
      json: { action: "verifyMFASecret", totpToken: code },
    });
    expect(enabled.status).toBe(201);
    clock.advance(30);
    const signIn = await send("POST", "/authentication", {
      headers: t.headers,
      json: { strategy: "local", email: a.email, password: PASSWORD, totpToken: await totp(setup.secret) },
    });
    expect(signIn.status).toBe(201);
    clock.advance(30);
    const disabled = await send("POST", "/authentication", {
      headers: { ...t.headers, ...a.auth },
      json: { action: "setupMFA", enable: false, totpToken: await totp(setup.secret) },
    });
    expect(disabled.status).toBe(201);

    await expectRow(t, "mfa_change", "success", { action: "enrol" });
    await expectRow(t, "mfa_change", "failure", { action: "enable", reason: "invalid" });
    expectSource(await expectRow(t, "mfa_change", "success", { action: "enable" }), enabled);
    await expectRow(t, "sign_in", "success", { method: "password+totp" });
    expectSource(await expectRow(t, "mfa_change", "success", { action: "disable" }), disabled);
    await expectNoSecrets(t.code, [setup.secret, code]);
  });

  it("identity verification and change, password change by code, password reset", async () => {
    const t = await tenant();
    const a = await account(t);
    const verifyCode = await codeFrom(t, a.email as string, "email_verification");
    const verified = await send("POST", "/authentication", {
      headers: { ...t.headers, ...a.auth },
      json: { action: "applyActionCode", code: verifyCode },
    });
    expect(verified.status).toBe(201);
    await expectRow(t, "identity_change", "success", { field: "email", action: "verify" });

    const next = newEmail();
    await act(t, { action: "changeIdentity", identityKey: "email", identity: next }, a.auth, true);
    const changeCode = await codeFrom(t, next, "identity_change");
    const changed = await send("POST", "/authentication", {
      headers: { ...t.headers, ...a.auth },
      json: { action: "applyActionCode", code: changeCode },
    });
    expect(changed.status).toBe(201);
    expectSource(
      await expectRow(t, "identity_change", "success", { field: "email", action: "change" }),
      changed,
    );

    await act(t, { action: "changePassword", password: "a new password 1" }, a.auth, true);
    const pwCode = await codeFrom(t, next, "password_change");
    await send("POST", "/authentication", {
      headers: { ...t.headers, ...a.auth },
      json: { action: "applyActionCode", code: pwCode },
    });
    await expectRow(t, "password_change", "success", { via: "code" });

    await act(t, { action: "sendPasswordResetEmail", email: next }, {}, true);
    const resetCode = await codeFrom(t, next, "password_reset");
    const badReset = await send("POST", "/authentication", {
      headers: t.headers,
      json: { action: "resetPassword", email: next, code: "000000", password: "another password 2" },
    });
    expect(badReset.status).toBe(401);
    await expectRow(t, "password_reset", "failure", { reason: "invalid_code" });
    const reset = await send("POST", "/authentication", {
      headers: t.headers,
      json: { action: "resetPassword", email: next, code: resetCode, password: "another password 2" },
    });
    expect(reset.status).toBe(201);
    expectSource(await expectRow(t, "password_reset", "success"), reset);

    await expectNoSecrets(t.code, [
      verifyCode,
      changeCode,
      pwCode,
      resetCode,
      "a new password 1",
      "another password 2",
      next,
    ]);
  });
});

// ---------- register family and operators ----------

describe("audit: register family and the admin API", () => {
  it("registration (self and by API key) and re-registration", async () => {
    await ensureDefaultClinic();
    // Patients register themselves only where the clinic allows it (new clinics: nobody).
    const clinic = await createClinic({ settings: { selfRegisterGroups: ["patients"] } });
    const patient = await registerAs(clinic, "patients");
    const self = await send("POST", "/register", {
      headers: { "X-AccountCode": clinic.code },
      json: { email: newEmail(), groupName: "patients", firstName: "Selma", lastName: "Self" },
    });
    expect(self.status).toBe(200);
    const again = await send("POST", "/register", {
      headers: patient.auth,
      json: { email: patient.email, groupName: "patients", firstName: "Test", lastName: "Patient" },
    });
    expect(again.status).toBe(200);
    const rows = await rowsOf(clinic.code);
    const byKey = find(rows, "sign_up", "success", {
      via: "api_key",
      group: "patients",
      family: "register",
    })[0];
    expect(byKey).toMatchObject({ actor_user_id: null, subject_user_id: Number(patient.body.user.id) });
    expectSource(find(rows, "sign_up", "success", { via: "self" })[0], self);
    expectSource(find(rows, "sign_in", "success", { method: "register", via: "token" })[0], again);
    await expectNoSecrets(clinic.code, [patient.body.token, patient.email, "Selma"]);
  });

  it("every operator call: creation, changes, key rotation, refused keys", async () => {
    const code = `audit${Date.now().toString(36)}`;
    const created = await send("POST", "/admin/clinics", {
      headers: ADMIN_AUTH,
      json: { code, name: "Audited Clinic", domain: `${code}.example.test`, sso_enabled: true },
    });
    expect(created.status).toBe(201);
    const key = (await json<{ api_key: string }>(created)).api_key;
    const clinic = { code, apiKey: key, server: { "X-AccountCode": code, "X-ApiKey": key } };
    const user = await sso(clinic);
    const patched = await send("PATCH", `/admin/clinics/${clinic.code}/users/${user.id}`, {
      headers: ADMIN_AUTH,
      json: { roles: ["scheduler"] },
    });
    expect(patched.status).toBe(200);
    const rotated = await send("POST", `/admin/clinics/${clinic.code}/rotate-key`, { headers: ADMIN_AUTH });
    const { api_key } = await json<{ api_key: string }>(rotated);
    const refused = await send("GET", `/admin/clinics/${clinic.code}`, {
      headers: { authorization: "Bearer wrong-admin-key" },
    });
    expect(refused.status).toBe(401);
    const rows = find(await rowsOf(clinic.code), "admin_action", "success");
    const actions = rows.map((r) => JSON.parse(r.details).action);
    expect(actions).toContain("POST /admin/clinics");
    expect(actions).toContain("PATCH /admin/clinics/:code/users/:id");
    expect(actions).toContain("POST /admin/clinics/:code/rotate-key");
    expect(rows.find((r) => JSON.parse(r.details).action.includes("/users/:id"))?.subject_user_id).toBe(
      Number(user.id),
    );
    const failure = find(await rowsOf(clinic.code), "admin_action", "failure")[0];
    expectSource(failure, refused);
    expect(JSON.parse(failure?.details as string)).toMatchObject({
      status: 401,
      action: "GET /admin/clinics/:code",
    });
    await expectNoSecrets(clinic.code, [api_key, clinic.apiKey, env.ADMIN_API_KEY, "wrong-admin-key"]);
  });

  it("a flood of wrong admin keys writes rows only up to the rate limit", async () => {
    const clinic = await createClinic();
    const statuses: number[] = [];
    // Until the binding refuses (its windows are wall-clock minutes: allow for one turning over).
    for (let i = 0; i < 70 && !statuses.includes(429); i++) {
      const res = await send(
        "GET",
        `/admin/clinics/${clinic.code}`,
        { headers: { authorization: "Bearer wrong-admin-key" } },
        "203.0.113.99",
      );
      statuses.push(res.status);
    }
    expect(statuses).toContain(429);
    const failures = find(await rowsOf(clinic.code), "admin_action", "failure");
    expect(failures.length).toBe(statuses.filter((s) => s === 401).length);
  });
});

// ---------- readers ----------

describe("GET /api_v3/audit and GET /admin/audit", () => {
  it("clinic admins and the API key read their clinic's log, paged and filtered; others are refused", async () => {
    const clinic = await createClinic();
    const other = await createClinic();
    const admin = await settledAdmin(clinic);
    const member = await sso(clinic);
    const otherAdmin = await settledAdmin(other);
    const list = async (query: string, headers = admin.auth) => {
      const res = await send("GET", `/api_v3/audit.json${query}`, { headers });
      expect(res.status, await res.clone().text()).toBe(200);
      return json<{
        data: {
          id: string;
          event: string;
          outcome: string;
          subject_user_id: string | null;
          created: number;
          details: Record<string, unknown>;
        }[];
        total_count: number;
      }>(res);
    };
    const all = await list("");
    expect(all.total_count).toBeGreaterThanOrEqual(3);
    expect(all.data.every((e) => typeof e.id === "string" && typeof e.created === "number")).toBe(true);
    // Newest first.
    expect(Number(all.data[0]?.id)).toBeGreaterThan(Number(all.data.at(-1)?.id));
    const page = await list("?limit=1&start=1");
    expect(page.data).toHaveLength(1);
    expect(page.data[0]?.id).toBe(all.data[1]?.id);
    expect(page.total_count).toBe(all.total_count);
    const ssoRows = await list("?event=sso&outcome=success");
    expect(ssoRows.data.every((e) => e.event === "sso" && e.outcome === "success")).toBe(true);
    const mine = await list(`?user_id=${member.id}`);
    expect(mine.data.length).toBeGreaterThan(0);
    expect(mine.data.every((e) => e.subject_user_id === member.id)).toBe(true);
    const t = all.data[0]?.created as number;
    expect((await list(`?since=${t + 3600}`)).total_count).toBe(0);
    expect((await list(`?until=${t + 3600}`)).total_count).toBe(all.total_count);
    const byKey = await list("?limit=100", clinic.server);
    // Another clinic's rows never show.
    expect(byKey.data.length).toBe(Math.min(100, byKey.total_count));
    const otherRows = await list("?limit=100", otherAdmin.auth);
    expect(otherRows.data.some((e) => all.data.some((x) => x.id === e.id))).toBe(false);

    const forbidden = await send("GET", "/api_v3/audit", { headers: member.auth });
    expect(forbidden.status).toBe(403);
    expect(await json(forbidden)).toEqual({
      code: 403,
      message: "Only clinic admins can read the audit log",
    });
    const bad = await send("GET", "/api_v3/audit?event=nope&limit=1000", { headers: admin.auth });
    expect(bad.status).toBe(400);
    expect((await json<{ errors: { param: string }[] }>(bad)).errors.map((e) => e.param).sort()).toEqual([
      "event",
      "limit",
    ]);
  });

  it("operators read every clinic's log or one clinic's", async () => {
    const clinic = await createClinic();
    await sso(clinic);
    const res = await send("GET", `/admin/audit?clinic=${clinic.code}&event=sso`, { headers: ADMIN_AUTH });
    expect(res.status).toBe(200);
    const body = await json<{
      data: { clinic_id: number; event: string }[];
      total: number;
      start: number;
      limit: number;
    }>(res);
    expect(body.total).toBe(1);
    expect(body.data[0]).toMatchObject({ clinic_id: await clinicId(clinic.code), event: "sso" });
    expect(body).toMatchObject({ start: 0, limit: 50 });
    const everything = await json<{ total: number }>(
      await send("GET", "/admin/audit?limit=1", { headers: ADMIN_AUTH }),
    );
    expect(everything.total).toBeGreaterThan(body.total);
    expect((await send("GET", "/admin/audit?clinic=no-such-clinic", { headers: ADMIN_AUTH })).status).toBe(
      404,
    );
  });
});

// ---------- retention ----------

describe("retention", () => {
  it("the cron handler prunes rows past each clinic's auditRetentionDays (default 365)", async () => {
    const short = await createClinic({ settings: { auditRetentionDays: 30 } });
    const long = await createClinic();
    clock.freeze();
    await sso(short);
    await sso(long);
    const count = async (code: string) => (await rowsOf(code)).length;
    const before = { short: await count(short.code), long: await count(long.code) };
    expect(before.short).toBeGreaterThan(0);
    const cron = async () => {
      const ctx = createExecutionContext();
      await worker.scheduled?.(createScheduledController({ cron: "*/5 * * * *" }), env, ctx);
      await waitOnExecutionContext(ctx);
    };
    clock.advance(29 * 86400);
    await cron();
    expect(await count(short.code)).toBe(before.short);
    clock.advance(2 * 86400);
    await cron();
    expect(await count(short.code)).toBe(0);
    expect(await count(long.code)).toBe(before.long);
    clock.advance(335 * 86400);
    await cron();
    expect(await count(long.code)).toBe(0);
  });
});

describe("a client's own input", () => {
  it("a user agent that carries secrets is stored masked", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    const res = await send("GET", `/api_v3/users/${user.id}`, {
      headers: { ...clinic.server, "user-agent": `Evil/1.0 jane@example.test ${"ab".repeat(16)} Bearer xyz` },
    });
    expect(res.status).toBe(200);
    const row = find(await rowsOf(clinic.code), "profile_access", "success")[0];
    expect(row?.user_agent).toBe("Evil/1.0 [email] [token] Bearer [redacted]");
    await expectNoSecrets(clinic.code, [user.token]);
  });
});
