/**
 * Storage faults in the onboarding flows: invite-only signup (the invitation is spent once), code
 * redemption (applyActionCode spends its code once), and /register of a new patient by the clinic's server.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { codeFrom, email, PASSWORD, signup, type Tenant, tenant } from "../accounts/support";
import { ADMIN_AUTH, call, callAndSettle, clock, createClinic, json, type TestClinic } from "../helpers";
import { count, eachStep } from "./steps";

afterEach(() => {
  clock.reset();
  vi.restoreAllMocks();
});

vi.setConfig({ testTimeout: 120_000 });

/** An approved waitlist entry's invitation code (as waitlist.test.ts gets it). */
async function invitation(t: Tenant, address: string): Promise<string> {
  const joined = await call("POST", "/account-waitlist", {
    headers: t.headers,
    json: { email: address, personalDetails: { name: { firstName: "Ivy", lastName: "Invite" } } },
  });
  expect(joined.status, await joined.clone().text()).toBe(201);
  const list = await call("GET", `/admin/clinics/${t.code}/waitlist`, { headers: ADMIN_AUTH });
  const { data } = await json<{ data: { id: number; email: string }[] }>(list);
  const entry = data.find((e) => e.email === address);
  const approved = await callAndSettle("POST", `/admin/clinics/${t.code}/waitlist/${entry?.id}/approve`, {
    headers: ADMIN_AUTH,
  });
  expect(approved.status).toBe(200);
  return codeFrom(t, address, "invitation");
}

describe("storage faults: invite-only signup (POST /accounts with an invitation)", () => {
  it("at every call: no account without its invitation spent, never an invitation spent twice; the retry signs up once", async () => {
    type W = { t: Tenant; address: string; code: string };
    await eachStep<W>({
      shape: "accounts",
      setup: async () => {
        const t = await tenant({ signup_mode: "invite_only" });
        const address = email();
        return { t, address, code: await invitation(t, address) };
      },
      request: (w) => ({
        method: "POST",
        path: "/accounts",
        opts: { headers: w.t.headers, json: { email: w.address, password: PASSWORD, invitation: w.code } },
      }),
      snapshot: async (w) => ({
        accounts: await count("SELECT count(*) AS n FROM users WHERE lower(email) = lower(?)", w.address),
        spent: await count(
          "SELECT count(*) AS n FROM invitations WHERE used_at IS NOT NULL AND used_by IN (SELECT id FROM users WHERE lower(email) = lower(?))",
          w.address,
        ),
      }),
      done: async (w) => {
        const again = await call("POST", "/accounts", {
          headers: w.t.headers,
          json: { email: email(), password: PASSWORD, invitation: w.code },
        });
        expect(again.status).toBe(400); // "Invitation not found": spent
      },
    });
  });
});

describe("storage faults: code redemption (applyActionCode)", () => {
  it("at every call: the address is verified and the code spent together, or neither; the retry applies it once", async () => {
    type W = { t: Tenant; address: string; code: string; uid: string };
    await eachStep<W>({
      shape: "accounts",
      setup: async () => {
        const t = await tenant();
        const address = email();
        const account = await signup(t, { email: address });
        const sent = await callAndSettle("POST", "/authentication", {
          headers: t.headers,
          json: { action: "sendVerificationEmail", email: address },
        });
        expect(sent.status, await sent.clone().text()).toBeLessThan(300);
        return { t, address, uid: account.uid, code: await codeFrom(t, address, "email_verification") };
      },
      request: (w) => ({
        method: "POST",
        path: "/authentication",
        opts: { headers: w.t.headers, json: { action: "applyActionCode", code: w.code, email: w.address } },
      }),
      snapshot: async (w) => ({
        verified: await count("SELECT email_verified AS n FROM users WHERE id = ?", Number(w.uid)),
        unspent: await count(
          "SELECT count(*) AS n FROM codes WHERE user_id = ? AND used_at IS NULL AND purpose = 'email_verify'",
          Number(w.uid),
        ),
      }),
    });
  });
});

describe("storage faults: /register of a new patient by the clinic's server", () => {
  it("at every call: one user or none, and the retry answers that user (idempotent by email)", async () => {
    const address = "fault.patient@example.test";
    await eachStep<TestClinic>({
      shape: "register",
      setup: () => createClinic(),
      request: (clinic) => ({
        method: "POST",
        path: "/register",
        opts: {
          headers: clinic.server,
          json: { email: address, groupName: "patients", firstName: "Fay", lastName: "Ult" },
        },
      }),
      snapshot: async (clinic) =>
        count(
          "SELECT count(*) AS n FROM users WHERE clinic_id = (SELECT id FROM clinics WHERE code = ?) AND lower(email) = ?",
          clinic.code,
          address,
        ),
      done: async (clinic, _res, body) => {
        const token = (body as { token: string }).token;
        const state = await call("GET", "/state", {
          headers: { authorization: `Bearer ${token}`, "X-AccountCode": clinic.code },
        });
        expect(state.status).toBe(200);
      },
    });
  });
});
