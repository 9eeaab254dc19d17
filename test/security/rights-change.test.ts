/**
 * A change of what a user may do ends their sessions (issue 16 #5): their type, subtype, roles or group
 * (operators' PATCH /admin/clinics/:code/users/:id, or /register giving a user its group). Sessions end
 * the way disabling a user ends them: in D1, their KV tokens, and their live care-record sockets.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CLOSE_SESSION_ENDED } from "../../src/durable-objects/care-record";
import { account } from "../accounts/support";
import { ADMIN_AUTH, buildRequest, call, createClinic, env, json, type TestClinic, uniq } from "../helpers";
import { registerAs } from "../register/support";
import { clinicAdmin, type SsoUser, sso } from "../vsee/support";

const patch = (clinic: TestClinic, id: string | number, body: Record<string, unknown>) =>
  call("PATCH", `/admin/clinics/${clinic.code}/users/${id}`, { headers: ADMIN_AUTH, json: body });

const me = (auth: Record<string, string>) => call("GET", "/api_v3/me", { headers: auth });

/** What the clinic admin's powers answer: another user's profile and the clinic's audit log. */
async function adminPowers(auth: Record<string, string>, otherId: string) {
  return {
    profile: (await call("GET", `/api_v3/users/${otherId}`, { headers: auth })).status,
    audit: (await call("GET", "/api_v3/audit", { headers: auth })).status,
  };
}

async function liveSessions(userId: string | number): Promise<number> {
  return (
    (await env.DB.prepare("SELECT count(*) AS n FROM sessions WHERE user_id = ? AND revoked_at IS NULL")
      .bind(Number(userId))
      .first<number>("n")) ?? 0
  );
}

describe("demoting a clinic admin", () => {
  it("ends their sessions: the old token can no longer read another user's profile or the audit log", async () => {
    const clinic = await createClinic();
    const admin = await clinicAdmin(clinic);
    const other = await sso(clinic);
    expect(await adminPowers(admin.auth, other.id)).toEqual({ profile: 200, audit: 200 });

    expect((await patch(clinic, admin.id, { roles: [] })).status).toBe(200);
    // The old token is dead (not merely stale): 401 everywhere, and its refresh token too.
    expect(await adminPowers(admin.auth, other.id)).toEqual({ profile: 401, audit: 401 });
    expect((await me(admin.auth)).status).toBe(401);
    const refreshed = await call("POST", "/api_v3/tokens/refresh", {
      json: { refresh_token: admin.refresh },
    });
    expect(refreshed.status).toBe(401);
    // Signed in again, the member has a member's rights only.
    const again = await sso(clinic, { code: admin.code });
    expect(await adminPowers(again.auth, other.id)).toEqual({ profile: 403, audit: 403 });
  });

  it("ends an accounts-family session too (its JWT stops at once)", async () => {
    const clinic = await createClinic();
    const headers = { "X-AccountCode": clinic.code };
    const acct = await account({ code: clinic.code, headers });
    const read = () => call("GET", `/accounts/${acct.uid}`, { headers: { ...headers, ...acct.auth } });
    expect((await read()).status).toBe(200);
    expect((await patch(clinic, acct.uid, { roles: ["scheduler"] })).status).toBe(200);
    expect((await read()).status).toBe(401);
    expect(await liveSessions(acct.uid)).toBe(0);
  });
});

describe("a change of type, subtype or group", () => {
  it("a provider made a member: the old token loses the provider's reach", async () => {
    const clinic = await createClinic();
    const provider = await sso(clinic, { type: "400" });
    expect((await me(provider.auth)).status).toBe(200);
    expect((await patch(clinic, provider.id, { type: 200 })).status).toBe(200);
    expect((await me(provider.auth)).status).toBe(401);
    expect(await liveSessions(provider.id)).toBe(0);
  });

  it("a doctor made a nurse (subtype): their register token and their access token end", async () => {
    const clinic = await createClinic();
    const physician = await registerAs(clinic, "physicians");
    const id = physician.body.user.id;
    expect((await me(physician.auth)).status).toBe(200);
    expect((await patch(clinic, id, { subtype: 484 })).status).toBe(200);
    expect((await me(physician.auth)).status).toBe(401);
    expect(await liveSessions(id)).toBe(0);
  });

  it("a patient moved out of the patients group: the token ends and the live socket closes", async () => {
    const clinic = await createClinic();
    const patient = await registerAs(clinic, "patients");
    const res = await exports.default.fetch(
      buildRequest("GET", "/state/live", { headers: { Upgrade: "websocket", ...patient.auth } }),
    );
    const ws = res.webSocket;
    if (!ws) throw new Error(`no WebSocket (${res.status})`);
    const closed = new Promise<number>((resolve) => ws.addEventListener("close", (e) => resolve(e.code)));
    const first = new Promise<void>((resolve) => ws.addEventListener("message", () => resolve()));
    ws.accept();
    await first;

    expect((await patch(clinic, patient.body.user.id, { group: "insurers" })).status).toBe(200);
    expect(await closed).toBe(CLOSE_SESSION_ENDED);
    expect((await call("GET", "/state", { headers: patient.auth })).status).toBe(401);
  });

  it("/register giving a grouped-less user its group ends the sessions it had before", async () => {
    const clinic = await createClinic();
    const email = `${uniq("vee")}@example.test`;
    const member = await sso(clinic, { email });
    expect((await me(member.auth)).status).toBe(200);
    const res = await call("POST", "/register", {
      headers: clinic.server,
      json: { email, groupName: "patients", firstName: "Vee", lastName: "See" },
    });
    expect(res.status).toBe(200);
    const { token } = await json<{ token: string }>(res);
    expect((await me(member.auth)).status).toBe(401);
    // The session just started carries the group and works.
    const asPatient = { "X-AccountCode": clinic.code, authorization: `Bearer ${token}` };
    expect((await me(asPatient)).status).toBe(200);
    expect(await liveSessions(member.id)).toBe(1);
  });
});

describe("changes that leave a user's rights alone", () => {
  it("keep their sessions: visibility, the same roles again, re-registering in the same group, SSO re-sync", async () => {
    const clinic = await createClinic();
    const admin: SsoUser = await clinicAdmin(clinic);
    expect((await patch(clinic, admin.id, { is_hidden: true })).status).toBe(200);
    expect((await patch(clinic, admin.id, { roles: ["clinic_admin"], type: 200 })).status).toBe(200);
    // SSO re-syncs names and contact fields, never type, subtype, roles or group: other sessions stay.
    await sso(clinic, { code: admin.code, first_name: "Renamed" });
    expect((await me(admin.auth)).status).toBe(200);

    const patient = await registerAs(clinic, "patients");
    const again = await call("POST", "/register", {
      headers: clinic.server,
      json: { email: patient.email, groupName: "patients", firstName: "Test", lastName: "Patient" },
    });
    expect(again.status).toBe(200);
    expect((await me(patient.auth)).status).toBe(200);
  });
});
