/**
 * POST /api_v3/users/activate is no eligibility oracle (issue 16 #6): the answer is the same whether the
 * person is eligible, already active, or gave wrong SSN digits; attempts per clinic and person (name +
 * date of birth) are counted in the lockout store, so the last four SSN digits cannot be guessed; and the
 * activation code goes only to the eligibility entry's own email.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { call, callAndSettle, clock, createClinic, env, type TestClinic, uniq } from "../helpers";

beforeEach(() => clock.freeze());
afterEach(() => clock.reset());

function member(overrides: Record<string, string> = {}) {
  return {
    first_name: "An",
    last_name: uniq("Nguyen"),
    dob: "1988-10-02",
    ssn: "1234",
    email: `${uniq("an")}@example.test`,
    ...overrides,
  };
}

type Member = ReturnType<typeof member>;

async function activate(clinic: TestClinic, body: Record<string, string>) {
  const res = await callAndSettle("POST", "/api_v3/users/activate.json", {
    headers: { "X-AccountCode": clinic.code },
    form: body,
  });
  return { status: res.status, body: await res.text(), retryAfter: res.headers.get("retry-after") };
}

/** Activation emails queued to `to`. */
async function activationMails(to: string): Promise<number> {
  return (
    (await env.DB.prepare("SELECT count(*) AS n FROM outbox WHERE recipient = ? AND template = 'activation'")
      .bind(to)
      .first<number>("n")) ?? 0
  );
}

const SAME = { status: 200, body: JSON.stringify({ data: true }), retryAfter: null };

describe("POST /api_v3/users/activate: one answer for every outcome", () => {
  it("eligible, not on the list, wrong SSN digits, wrong email, already active: the same status and body", async () => {
    const eligible = member();
    const active = member();
    const clinic = await createClinic({ eligibility: [eligible, active] });
    // The active member already activated (a non-pending user of that email exists).
    const sso = await call("POST", "/api_v3/users/sso", {
      headers: clinic.server,
      json: {
        first_name: "An",
        last_name: active.last_name,
        code: uniq("ext"),
        type: 200,
        email: active.email,
      },
    });
    expect(sso.status).toBe(200);

    const answers = [
      await activate(clinic, member()), // not on the list
      await activate(clinic, { ...eligible, ssn: "9999" }), // wrong SSN digits
      await activate(clinic, { ...eligible, email: `${uniq("x")}@example.test` }), // another email
      await activate(clinic, active), // already active
      await activate(clinic, eligible), // eligible
    ];
    for (const answer of answers) expect(answer).toEqual(SAME);
    // Only the eligible one was sent a code, at the entry's email; the active member got nothing.
    expect(await activationMails(eligible.email)).toBe(1);
    expect(await activationMails(active.email)).toBe(0);
  });

  it("sends the code only to the entry's own email, never to an address the caller typed", async () => {
    const withEmail = member();
    const withoutEmail: Partial<Member> = member();
    delete withoutEmail.email;
    const clinic = await createClinic({ eligibility: [withEmail, withoutEmail] });
    const typed = `${uniq("attacker")}@example.test`;
    // An entry without an email: the caller's address proves nothing, so nobody is sent a code.
    expect(await activate(clinic, { ...(withoutEmail as Member), email: typed })).toEqual(SAME);
    // The right details with another address: nothing to that address.
    expect(await activate(clinic, { ...withEmail, email: typed })).toEqual(SAME);
    expect(await activationMails(typed)).toBe(0);
    const users = await env.DB.prepare("SELECT count(*) AS n FROM users WHERE lower(email) = lower(?)")
      .bind(typed)
      .first<number>("n");
    expect(users).toBe(0);
    // The entry's own address (any case) gets the code, and the pending user is the entry's.
    expect(await activate(clinic, { ...withEmail, email: withEmail.email.toUpperCase() })).toEqual(SAME);
    expect(await activationMails(withEmail.email)).toBe(1);
    const created = await env.DB.prepare("SELECT last_name, dob, status FROM users WHERE email = ?")
      .bind(withEmail.email)
      .first();
    expect(created).toEqual({ last_name: withEmail.last_name, dob: withEmail.dob, status: 10 });
  });
});

describe("POST /api_v3/users/activate: guessing the SSN digits", () => {
  it("50 wrong guesses then the right one: locked after 5 attempts (429), no code sent", async () => {
    const victim = member({ ssn: "4821" });
    const clinic = await createClinic({ eligibility: [victim] });
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++) {
      const guess = String(i).padStart(4, "0");
      statuses.push((await activate(clinic, { ...victim, ssn: guess })).status);
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(new Set(statuses.slice(5))).toEqual(new Set([429]));
    const right = await activate(clinic, victim);
    expect(right.status).toBe(429);
    expect(JSON.parse(right.body)).toEqual({
      code: 429,
      message: "Too many failed attempts, try again later",
    });
    expect(Number(right.retryAfter)).toBeGreaterThan(0);
    expect(await activationMails(victim.email)).toBe(0);
  });

  it("a right guess counts like a wrong one, so whether the next attempt is locked tells nothing", async () => {
    const a = member();
    const b = member();
    const clinic = await createClinic({ eligibility: [a, b] });
    // a: four wrong guesses and the right one; b: five wrong guesses. Both are locked alike afterwards.
    for (const ssn of ["0001", "0002", "0003", "0004", a.ssn]) await activate(clinic, { ...a, ssn });
    for (const ssn of ["0001", "0002", "0003", "0004", "0005"]) await activate(clinic, { ...b, ssn });
    expect((await activate(clinic, a)).status).toBe(429);
    expect((await activate(clinic, b)).status).toBe(429);
  });

  it("the lock is per person and clinic, and ends after its period", async () => {
    const victim = member();
    const other = member();
    const clinic = await createClinic({ eligibility: [victim, other] });
    const elsewhere = await createClinic({ eligibility: [victim] });
    for (let i = 0; i < 5; i++) await activate(clinic, { ...victim, ssn: `000${i}` });
    expect((await activate(clinic, victim)).status).toBe(429);
    // Another person of the clinic, and the same person at another clinic, are not locked.
    expect(await activate(clinic, other)).toEqual(SAME);
    expect(await activate(elsewhere, victim)).toEqual(SAME);
    // A wrong date of birth is another "person" (and is not the victim, so nothing is sent).
    expect(await activate(clinic, { ...victim, dob: "1999-01-01" })).toEqual(SAME);
    clock.advance(61);
    expect(await activate(clinic, victim)).toEqual(SAME);
    expect(await activationMails(victim.email)).toBe(2); // one from each clinic
  });
});
