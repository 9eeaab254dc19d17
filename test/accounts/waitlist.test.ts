/**
 * Invite-only onboarding (seed 002 "Adding email into account waitlist"): waitlist, operators' approval,
 * the invitation email, prefill by invitation code, and signup consuming the invitation exactly once.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ADMIN_AUTH, call, callAndSettle, clock, json } from "../helpers";
import {
  type Account,
  codeFrom,
  email,
  env,
  expectFeathersError,
  messagesTo,
  PASSWORD,
  type Tenant,
  tenant,
} from "./support";

afterEach(() => clock.reset());

const seedEntry = (address: string) => ({
  email: address,
  mobileNo: "09171234567",
  personalDetails: { name: { firstName: "First", lastName: "Last" }, doc_PRCLicenseNo: 123456 },
});

interface AdminEntry {
  id: number;
  email: string;
  status: string;
}

async function waitlisted(t: Tenant, address: string): Promise<AdminEntry> {
  const res = await call("GET", `/admin/clinics/${t.code}/waitlist`, { headers: ADMIN_AUTH });
  expect(res.status).toBe(200);
  const { data } = await json<{ data: AdminEntry[] }>(res);
  const entry = data.find((e) => e.email === address);
  if (!entry) throw new Error(`${address} is not on the waitlist`);
  return entry;
}

/** Joins the waitlist, gets approved, and returns the emailed invitation code. */
async function invited(t: Tenant, address = email()): Promise<string> {
  expect(
    (await call("POST", "/account-waitlist", { headers: t.headers, json: seedEntry(address) })).status,
  ).toBe(201);
  const entry = await waitlisted(t, address);
  const approved = await callAndSettle("POST", `/admin/clinics/${t.code}/waitlist/${entry.id}/approve`, {
    headers: ADMIN_AUTH,
  });
  expect(approved.status).toBe(200);
  return codeFrom(t, address, "invitation");
}

describe("account waitlist", () => {
  it("adds the seed's entry once; the same email again adds nothing and answers the same", async () => {
    const t = await tenant({ signup_mode: "invite_only" });
    const address = email();
    const first = await call("POST", "/account-waitlist", { headers: t.headers, json: seedEntry(address) });
    expect(first.status).toBe(201);
    expect(await json(first)).toEqual(seedEntry(address));
    const again = await call("POST", "/account-waitlist", {
      headers: t.headers,
      json: { ...seedEntry(address.toUpperCase()), personalDetails: {} },
    });
    expect(again.status).toBe(201);
    // The answer echoes what was sent: it shows nothing of the stored entry.
    expect(await json(again)).toEqual({ ...seedEntry(address.toUpperCase()), personalDetails: {} });
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM waitlist WHERE lower(email) = lower(?)")
      .bind(address)
      .first<{ n: number }>();
    expect(rows?.n).toBe(1);
  });

  it("operators list and approve entries; the invitation email carries an unguessable code", async () => {
    const t = await tenant({ signup_mode: "invite_only" });
    const address = email();
    await call("POST", "/account-waitlist", { headers: t.headers, json: seedEntry(address) });
    const entry = await waitlisted(t, address);
    expect(entry).toMatchObject({ status: "pending" });
    const pending = await json<{ total: number }>(
      await call("GET", `/admin/clinics/${t.code}/waitlist?status=approved`, { headers: ADMIN_AUTH }),
    );
    expect(pending.total).toBe(0);

    const res = await callAndSettle("POST", `/admin/clinics/${t.code}/waitlist/${entry.id}/approve`, {
      headers: ADMIN_AUTH,
    });
    expect(res.status).toBe(200);
    const body = await json<{ entry: AdminEntry; invitation_expires: number }>(res);
    expect(body.entry).toMatchObject({ id: entry.id, status: "approved" });
    const code = await codeFrom(t, address, "invitation");
    expect(code).toMatch(/^[a-z2-9]{26}$/);
    expect(JSON.stringify(body)).not.toContain(code);
    // Stored as a hash only.
    const stored = await env.DB.prepare("SELECT code_hash FROM invitations WHERE waitlist_id = ?")
      .bind(entry.id)
      .first<{ code_hash: string }>();
    expect(stored?.code_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored?.code_hash).not.toContain(code);
    const message = (await messagesTo(t, address)).find((m) => m.template === "invitation");
    expect(message?.status).toBe("sent");
  });

  it("GET /account-waitlist/:inviteCode returns the details to prefill signup; unknown codes are 404", async () => {
    const t = await tenant({ signup_mode: "invite_only" });
    const address = email();
    const code = await invited(t, address);
    const res = await call("GET", `/account-waitlist/${code}`, { headers: t.headers });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual(seedEntry(address));
    await expectFeathersError(
      await call("GET", "/account-waitlist/nosuchinvitationcode", { headers: t.headers }),
      404,
      "Invitation not found",
    );
    // Another clinic does not know this code.
    const other = await tenant();
    await expectFeathersError(
      await call("GET", `/account-waitlist/${code}`, { headers: other.headers }),
      404,
    );
  });

  it("approving again sends a new code and retires the old one", async () => {
    const t = await tenant({ signup_mode: "invite_only" });
    const address = email();
    const first = await invited(t, address);
    const entry = await waitlisted(t, address);
    await callAndSettle("POST", `/admin/clinics/${t.code}/waitlist/${entry.id}/approve`, {
      headers: ADMIN_AUTH,
    });
    const second = await codeFrom(t, address, "invitation");
    expect(second).not.toBe(first);
    expect((await call("GET", `/account-waitlist/${first}`, { headers: t.headers })).status).toBe(404);
    expect((await call("GET", `/account-waitlist/${second}`, { headers: t.headers })).status).toBe(200);
  });

  it("admin errors: unknown clinic or entry 404, no key 401, bad input 400", async () => {
    const t = await tenant();
    expect((await call("GET", "/admin/clinics/nosuch/waitlist", { headers: ADMIN_AUTH })).status).toBe(404);
    const missing = await call("POST", `/admin/clinics/${t.code}/waitlist/999999999/approve`, {
      headers: ADMIN_AUTH,
    });
    expect(missing.status).toBe(404);
    expect(await json(missing)).toMatchObject({ code: 404, error: "waitlist_entry_not_found" });
    expect((await call("GET", `/admin/clinics/${t.code}/waitlist`)).status).toBe(401);
    expect(
      (await call("GET", `/admin/clinics/${t.code}/waitlist?status=nope`, { headers: ADMIN_AUTH })).status,
    ).toBe(400);
  });

  it("validates entries in the Feathers shape", async () => {
    const t = await tenant();
    const res = await call("POST", "/account-waitlist", {
      headers: t.headers,
      json: { mobileNo: "09171234567", personalDetails: { extra: 1 } },
    });
    const body = await expectFeathersError(res, 400);
    expect(body.errors).toEqual({ email: "is required", "personalDetails.extra": "is not an allowed field" });
  });
});

describe("invite-only signup", () => {
  it("requires an invitation ('Invitation not found') and consumes it once", async () => {
    const t = await tenant({ signup_mode: "invite_only" });
    const none = await call("POST", "/accounts", {
      headers: t.headers,
      json: { email: email(), password: PASSWORD },
    });
    expect((await expectFeathersError(none, 400, "Invitation not found")).errors).toEqual({
      invitation: "Invitation not found",
    });
    const made = await call("POST", "/accounts", {
      headers: t.headers,
      json: { email: email(), password: PASSWORD, invitation: "made-up-code" },
    });
    await expectFeathersError(made, 400, "Invitation not found");

    const address = email();
    const code = await invited(t, address);
    // The seed's signup: email, password, invitation.
    const ok = await call("POST", "/accounts", {
      headers: t.headers,
      json: { email: address, password: "supersecretpass", invitation: code },
    });
    expect(ok.status).toBe(201);
    const account = await json<Account>(ok);
    const used = await env.DB.prepare("SELECT used_at, used_by FROM invitations WHERE used_by = ?")
      .bind(Number(account.uid))
      .first<{ used_at: number; used_by: number }>();
    expect(used?.used_at).toBeGreaterThan(0);
    const reuse = await call("POST", "/accounts", {
      headers: t.headers,
      json: { email: email(), password: PASSWORD, invitation: code },
    });
    await expectFeathersError(reuse, 400, "Invitation not found");
    expect((await call("GET", `/account-waitlist/${code}`, { headers: t.headers })).status).toBe(404);
  });

  it("an invitation is consumed exactly once under 10 concurrent signups", async () => {
    const t = await tenant({ signup_mode: "invite_only" });
    const code = await invited(t);
    const emails = Array.from({ length: 10 }, () => email());
    const results = await Promise.all(
      emails.map((address) =>
        call("POST", "/accounts", {
          headers: t.headers,
          json: { email: address, password: PASSWORD, invitation: code },
        }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 400, 400, 400, 400, 400, 400, 400, 400, 400]);
    const created = await env.DB.prepare(
      `SELECT count(*) AS n FROM users WHERE email IN (${emails.map(() => "?").join(",")})`,
    )
      .bind(...emails)
      .first<{ n: number }>();
    expect(created?.n).toBe(1);
    // Only the winner was sent anything.
    const sent = await Promise.all(emails.map((a) => messagesTo(t, a)));
    expect(sent.filter((m) => m.length > 0)).toHaveLength(1);
  });

  it("a failed signup (email in use) leaves the invitation unused", async () => {
    const t = await tenant({ signup_mode: "invite_only" });
    const taken = email();
    await call("POST", "/accounts", {
      headers: t.headers,
      json: { email: taken, password: PASSWORD, invitation: await invited(t) },
    });
    const code = await invited(t);
    const res = await call("POST", "/accounts", {
      headers: t.headers,
      json: { email: taken, password: PASSWORD, invitation: code },
    });
    expect((await expectFeathersError(res, 409)).errors).toEqual({ email: "is already in use" });
    expect((await call("GET", `/account-waitlist/${code}`, { headers: t.headers })).status).toBe(200);
  });

  it("an expired invitation is refused", async () => {
    const t = await tenant({ signup_mode: "invite_only" });
    const code = await invited(t);
    clock.freeze();
    clock.advance(31 * 24 * 3600);
    const res = await call("POST", "/accounts", {
      headers: t.headers,
      json: { email: email(), password: PASSWORD, invitation: code },
    });
    await expectFeathersError(res, 400, "Invitation not found");
  });

  it("in open clinics the invitation is optional, but one that is sent must be valid", async () => {
    const t = await tenant();
    const res = await call("POST", "/accounts", {
      headers: t.headers,
      json: { email: email(), password: PASSWORD, invitation: "wrong" },
    });
    await expectFeathersError(res, 400, "Invitation not found");
  });
});
