/**
 * Ending sessions everywhere: disabling a clinic signs all its users out in every family, burnt and
 * revoked tokens stop at the API too, and the cron run deletes the KV tokens a request could not.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { revocationStatement, revokeClinicSessions } from "../../src/services/sessions";
import { account } from "../accounts/support";
import { ADMIN_AUTH, call, callAndSettle, createClinic, env, type TestClinic } from "../helpers";
import { registerAs } from "../register/support";
import { sso } from "../vsee/support";

async function runCron() {
  const ctx = createExecutionContext();
  await worker.scheduled?.(createScheduledController({ cron: "*/5 * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
}

async function clinicId(clinic: TestClinic): Promise<number> {
  const row = await env.DB.prepare("SELECT id FROM clinics WHERE code = ?")
    .bind(clinic.code)
    .first<{ id: number }>();
  return row?.id ?? 0;
}

/** One signed-in user of each family in `clinic`, and a call that tells whether each token still works. */
async function signedIn(clinic: TestClinic) {
  const member = await sso(clinic);
  const acct = await account({ code: clinic.code, headers: { "X-AccountCode": clinic.code } });
  const patient = await registerAs(clinic, "patients");
  const statuses = async () => ({
    vsee: (await call("GET", "/api_v3/me", { headers: member.auth })).status,
    accounts: (
      await call("GET", `/accounts/${acct.uid}`, { headers: { "X-AccountCode": clinic.code, ...acct.auth } })
    ).status,
    register: (await call("GET", "/state", { headers: patient.auth })).status,
  });
  return { member, statuses };
}

const setDisabled = (clinic: TestClinic, disabled: boolean) =>
  callAndSettle("PATCH", `/admin/clinics/${clinic.code}`, { headers: ADMIN_AUTH, json: { disabled } });

describe("disabling a clinic", () => {
  it("ends every session of the clinic in every family at once, and re-enabling does not revive them", async () => {
    const clinic = await createClinic();
    const other = await createClinic();
    const users = await signedIn(clinic);
    const bystanders = await signedIn(other);
    expect(await users.statuses()).toEqual({ vsee: 200, accounts: 200, register: 200 });

    expect((await setDisabled(clinic, true)).status).toBe(200);
    const after = await users.statuses();
    expect(after.vsee).toBe(401);
    expect(after.accounts).toBe(401);
    expect(after.register).toBe(401);
    const refresh = await call("POST", "/api_v3/tokens/refresh", {
      json: { refresh_token: users.member.refresh },
    });
    expect(refresh.status).toBe(401);
    // Another clinic's users are untouched.
    expect(await bystanders.statuses()).toEqual({ vsee: 200, accounts: 200, register: 200 });

    expect((await setDisabled(clinic, false)).status).toBe(200);
    expect((await call("GET", "/api_v3/me", { headers: users.member.auth })).status).toBe(401);
    // Signing in again works once the clinic is enabled.
    const again = await sso(clinic, { code: users.member.code });
    expect((await call("GET", "/api_v3/me", { headers: again.auth })).status).toBe(200);
  });
});

describe("revoked sessions' KV tokens", () => {
  it("the cron run deletes what was revoked in D1 but not yet cleared from KV", async () => {
    const clinic = await createClinic();
    const members = [await sso(clinic), await sso(clinic), await sso(clinic)];
    // D1 first (as a disable does), without the sweep: until it runs, the KV copies are still there.
    expect(await revokeClinicSessions(env, await clinicId(clinic))).toBe(3);
    const pending = await env.DB.prepare(
      "SELECT count(*) AS n FROM sessions WHERE clinic_id = ? AND revoked_at IS NOT NULL AND kv_cleared_at IS NULL",
    )
      .bind(await clinicId(clinic))
      .first<{ n: number }>();
    expect(pending?.n).toBe(3);
    expect((await call("GET", "/api_v3/me", { headers: members[0]?.auth })).status).toBe(200);

    await runCron();
    for (const m of members) expect((await call("GET", "/api_v3/me", { headers: m.auth })).status).toBe(401);
    const left = await env.DB.prepare(
      "SELECT count(*) AS n FROM sessions WHERE clinic_id = ? AND kv_cleared_at IS NULL AND revoked_at IS NOT NULL",
    )
      .bind(await clinicId(clinic))
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
  });

  it("a worker that dies between the D1 revocation and the KV deletes leaves the tokens to the sweeper", async () => {
    const clinic = await createClinic();
    const member = await sso(clinic);
    const again = await sso(clinic, { code: member.code });
    const me = (u: typeof member) => call("GET", "/api_v3/me", { headers: u.auth }).then((r) => r.status);
    // The D1 half of ending the user's sessions (as a password change runs it in its batch), and then
    // nothing: the worker is gone before finishRevocation deletes the KV tokens.
    const { results } = await revocationStatement(env.DB, {
      userId: Number(member.id),
      clinicId: await clinicId(clinic),
    }).all();
    expect(results).toHaveLength(2);
    // Until the sweep, KV (all an authenticated request reads) still has the revoked tokens…
    expect([await me(member), await me(again)]).toEqual([200, 200]);
    await runCron();
    // …and the cron run deletes them: the rows were not marked cleared before their tokens were deleted.
    expect([await me(member), await me(again)]).toEqual([401, 401]);
  });

  it("a logout clears its token at once and leaves nothing for the sweeper", async () => {
    const clinic = await createClinic();
    const member = await sso(clinic);
    // Settled: the session is marked cleared after the response.
    expect((await callAndSettle("POST", "/api_v3/users/logout", { headers: member.auth })).status).toBe(200);
    expect((await call("GET", "/api_v3/me", { headers: member.auth })).status).toBe(401);
    const row = await env.DB.prepare(
      "SELECT revoked_at IS NOT NULL AS revoked, kv_cleared_at IS NOT NULL AS cleared FROM sessions WHERE user_id = ?",
    )
      .bind(Number(member.id))
      .first<{ revoked: number; cleared: number }>();
    expect(row).toEqual({ revoked: 1, cleared: 1 });
  });

  it("a logout of listed tokens (access and refresh) ends them all, marks them cleared and audits them in one row", async () => {
    const clinic = await createClinic();
    const member = await sso(clinic);
    const byAccess = await sso(clinic, { code: member.code });
    const byRefresh = await sso(clinic, { code: member.code });
    const res = await callAndSettle("POST", "/api_v3/users/logout", {
      headers: member.auth,
      json: { tokens: [byAccess.token, byRefresh.refresh] },
    });
    expect(res.status).toBe(200);
    expect((await call("GET", "/api_v3/me", { headers: byAccess.auth })).status).toBe(401);
    expect((await call("GET", "/api_v3/me", { headers: byRefresh.auth })).status).toBe(401);
    expect((await call("GET", "/api_v3/me", { headers: member.auth })).status).toBe(200);
    const { results } = await env.DB.prepare(
      `SELECT revoked_at IS NOT NULL AS revoked, kv_cleared_at IS NOT NULL AS cleared FROM sessions
       WHERE user_id = ? ORDER BY created_at, id`,
    )
      .bind(Number(member.id))
      .all<{ revoked: number; cleared: number }>();
    expect(results.filter((r) => r.revoked)).toEqual([
      { revoked: 1, cleared: 1 },
      { revoked: 1, cleared: 1 },
    ]);
    const audit = await env.DB.prepare(
      "SELECT details FROM audit_log WHERE event = 'sign_out' AND subject_user_id = ?",
    )
      .bind(Number(member.id))
      .all<{ details: string }>();
    expect(audit.results.map((r) => JSON.parse(r.details))).toEqual([
      expect.objectContaining({ sessions: 2 }),
    ]);
  });

  it("an accounts sign-out (DELETE /authentication) leaves nothing for the sweeper and writes its audit row", async () => {
    const clinic = await createClinic();
    const acct = await account({ code: clinic.code, headers: { "X-AccountCode": clinic.code } });
    const res = await callAndSettle("DELETE", "/authentication", {
      headers: { "X-AccountCode": clinic.code, ...acct.auth },
    });
    expect(res.status).toBe(200);
    const row = await env.DB.prepare(
      "SELECT revoked_at IS NOT NULL AS revoked, kv_cleared_at IS NOT NULL AS cleared FROM sessions WHERE user_id = ?",
    )
      .bind(Number(acct.uid))
      .first<{ revoked: number; cleared: number }>();
    expect(row).toEqual({ revoked: 1, cleared: 1 });
    const audit = await env.DB.prepare(
      "SELECT details FROM audit_log WHERE event = 'sign_out' AND subject_user_id = ?",
    )
      .bind(Number(acct.uid))
      .all<{ details: string }>();
    expect(audit.results.map((r) => JSON.parse(r.details))).toEqual([
      expect.objectContaining({ sessions: 1 }),
    ]);
  });
});
