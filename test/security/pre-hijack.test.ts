/**
 * Account pre-hijacking (issue 16 #4): an attacker signs up with the victim's email and leaves it
 * unverified; when the clinic later registers that email with its API key, it must not get the
 * attacker's account back (to fill with the victim's data). No flow links or returns an existing user
 * by an unverified email: /register answers 409, SSO is keyed by `code`, signups never link.
 */
import { describe, expect, it } from "vitest";
import { act, codeFrom, signup, type Tenant } from "../accounts/support";
import { ADMIN_AUTH, call, callAndSettle, createClinic, env, json, type TestClinic, uniq } from "../helpers";
import { person } from "../register/support";

const UNVERIFIED = {
  error:
    "This email belongs to an existing account whose address is not verified: its owner must verify it first (an emailed code, e.g. a password reset) or send that account's own bearer token",
};

const tenantOf = (clinic: TestClinic): Tenant => ({
  code: clinic.code,
  headers: { "X-AccountCode": clinic.code },
});

/** The clinic's server registers the victim's email as a patient. */
const registerByClinic = (clinic: TestClinic, email: string) =>
  call("POST", "/register", {
    headers: clinic.server,
    json: person("patients", { email, firstName: "Victim", lastName: "Person" }),
  });

async function row(email: string) {
  return env.DB.prepare(
    `SELECT id, group_name, email_verified, (SELECT count(*) FROM sessions s WHERE s.user_id = users.id) AS sessions
     FROM users WHERE lower(email) = lower(?)`,
  )
    .bind(email)
    .first<{ id: number; group_name: string | null; email_verified: number; sessions: number }>();
}

describe("POST /register with the API key: an existing account with an unverified email", () => {
  it("an attacker's accounts-family signup with the victim's email is not handed to the clinic (409)", async () => {
    const clinic = await createClinic();
    const victim = `${uniq("victim")}@example.test`;
    const squatter = await signup(tenantOf(clinic), { email: victim });
    const before = await row(victim);

    const res = await registerByClinic(clinic, victim.toUpperCase());
    expect(res.status).toBe(409);
    const body = await json(res);
    expect(body).toEqual(UNVERIFIED);
    // No session, no group: nothing was written for the squatter's account.
    const after = await row(victim);
    expect(after).toEqual(before);
    expect(after?.id).toBe(Number(squatter.uid));
    expect(after?.group_name).toBeNull();
  });

  it("an anonymous self-registration with the victim's email is not handed to the clinic either", async () => {
    const clinic = await createClinic({ settings: { selfRegisterGroups: ["patients"] } });
    const victim = `${uniq("victim")}@example.test`;
    const self = await call("POST", "/register", {
      headers: { "X-AccountCode": clinic.code },
      json: person("patients", { email: victim }),
    });
    expect(self.status).toBe(200);
    const before = await row(victim);
    const res = await registerByClinic(clinic, victim);
    expect(res.status).toBe(409);
    expect(await json(res)).toEqual(UNVERIFIED);
    expect(await row(victim)).toEqual(before);
  });

  it("returns the account once its owner verified the address with the emailed code", async () => {
    const clinic = await createClinic();
    const t = tenantOf(clinic);
    const owner = `${uniq("owner")}@example.test`;
    const acct = await signup(t, { email: owner });
    expect((await registerByClinic(clinic, owner)).status).toBe(409);

    // The owner verifies the address with the emailed code: now the clinic may register it by email.
    const code = await codeFrom(t, owner, "email_verification");
    expect((await act(t, { action: "applyActionCode", code, email: owner }, {}, true)).status).toBe(201);
    expect((await row(owner))?.email_verified).toBe(1);
    const res = await registerByClinic(clinic, owner);
    expect(res.status).toBe(200);
    const body = await json<{ user: { id: string }; token: string }>(res);
    expect(body.user.id).toBe(acct.uid);
    expect(body.token).toMatch(/^[0-9a-f]{32}$/);
  });

  it("returns an anonymous patient to its own bearer token, unverified", async () => {
    const clinic = await createClinic({ settings: { selfRegisterGroups: ["patients"] } });
    const input = person("patients");
    const first = await call("POST", "/register", { headers: { "X-AccountCode": clinic.code }, json: input });
    expect(first.status).toBe(200);
    const { token, user } = await json<{ token: string; user: { id: string } }>(first);
    const again = await call("POST", "/register", {
      headers: { "X-AccountCode": clinic.code, authorization: `Bearer ${token}` },
      json: input,
    });
    expect(again.status).toBe(200);
    expect((await json<{ user: { id: string } }>(again)).user.id).toBe(user.id);
  });

  it("returns users whose address the clinic's server set itself (SSO, or /register with the API key)", async () => {
    const clinic = await createClinic();
    const viaSso = `${uniq("sso")}@example.test`;
    const sso = await call("POST", "/api_v3/users/sso", {
      headers: clinic.server,
      json: { first_name: "Vee", last_name: "See", code: uniq("ext"), type: 200, email: viaSso },
    });
    expect(sso.status).toBe(200);
    expect((await registerByClinic(clinic, viaSso)).status).toBe(200);

    const viaRegister = `${uniq("reg")}@example.test`;
    expect((await registerByClinic(clinic, viaRegister)).status).toBe(200);
    expect((await registerByClinic(clinic, viaRegister)).status).toBe(200);
  });

  it("returns a pending user nobody ever signed in as (an activation the owner has not used yet)", async () => {
    const clinic = await createClinic();
    const email = `${uniq("pending")}@example.test`;
    const activated = await callAndSettle("POST", "/api_v3/users/activate", {
      headers: { "X-AccountCode": clinic.code },
      form: { first_name: "Pen", last_name: "Ding", email },
    });
    expect(activated.status).toBe(200);
    const pending = await row(email);
    const res = await registerByClinic(clinic, email);
    expect(res.status).toBe(200);
    expect((await json<{ user: { id: string } }>(res)).user.id).toBe(String(pending?.id));
  });
});

describe("the other flows never link an existing user by email", () => {
  it("an invitation for the attacker's own address, used with the victim's email, gives the clinic nothing", async () => {
    const clinic = await createClinic({ signup_mode: "invite_only" });
    const t = tenantOf(clinic);
    const own = `${uniq("attacker")}@example.test`;
    expect(
      (await call("POST", "/account-waitlist", { headers: t.headers, json: { email: own } })).status,
    ).toBe(201);
    const listed = await call("GET", `/admin/clinics/${clinic.code}/waitlist`, { headers: ADMIN_AUTH });
    const entry = (await json<{ data: { id: number; email: string }[] }>(listed)).data.find(
      (e) => e.email === own,
    );
    const approved = await callAndSettle(
      "POST",
      `/admin/clinics/${clinic.code}/waitlist/${entry?.id}/approve`,
      {
        headers: ADMIN_AUTH,
      },
    );
    expect(approved.status).toBe(200);
    const invitation = await codeFrom(t, own, "invitation");
    const victim = `${uniq("victim")}@example.test`;
    await signup(t, { email: victim, invitation });
    expect((await registerByClinic(clinic, victim)).status).toBe(409);
  });

  it("SSO is keyed by code: a new code with a squatted email is refused, the squatter's account untouched", async () => {
    const clinic = await createClinic();
    const victim = `${uniq("victim")}@example.test`;
    const squatter = await signup(tenantOf(clinic), { email: victim });
    const before = await row(victim);
    const res = await call("POST", "/api_v3/users/sso", {
      headers: clinic.server,
      json: { first_name: "Victim", last_name: "Person", code: uniq("ext"), type: 200, email: victim },
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await json(res))).not.toContain(squatter.uid);
    expect(await row(victim)).toEqual(before);
  });

  it("signing up with an existing email creates or links nothing", async () => {
    const clinic = await createClinic();
    const t = tenantOf(clinic);
    const victim = `${uniq("victim")}@example.test`;
    await signup(t, { email: victim });
    const before = await row(victim);
    const again = await callAndSettle("POST", "/accounts", {
      headers: t.headers,
      json: { email: victim.toUpperCase(), password: "another secret pass" },
    });
    expect(again.status).toBe(409); // Conflict, as a Feathers app expects for a duplicate

    expect(await row(victim)).toEqual(before);
    const count = await env.DB.prepare("SELECT count(*) AS n FROM users WHERE lower(email) = lower(?)")
      .bind(victim)
      .first<number>("n");
    expect(count).toBe(1);
  });
});
