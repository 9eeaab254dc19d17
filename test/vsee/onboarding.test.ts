import { afterEach, describe, expect, it } from "vitest";
import { call, callAndSettle, clock, createClinic, env, json, uniq } from "../helpers";
import { sso } from "./support";

afterEach(() => clock.reset());

/** The last email queued to `to`, and the email_token in it. */
async function lastEmail(to: string) {
  const row = await env.DB.prepare(
    "SELECT template, body_text, status FROM outbox WHERE recipient = ? ORDER BY id DESC LIMIT 1",
  )
    .bind(to)
    .first<{ template: string; body_text: string; status: string }>();
  const token = row ? /token is ([a-z0-9]{8})/.exec(row.body_text)?.[1] : undefined;
  return { row, token };
}

describe("POST /api_v3/users/reset_password", () => {
  it("queues a single-use email_token that signs in once, then POST /me {password} sets the new password", async () => {
    const clinic = await createClinic();
    const email = `${uniq("r")}@example.test`;
    const username = uniq("reset-");
    const user = await sso(clinic, { email, username });
    const res = await callAndSettle("POST", "/api_v3/users/reset_password.json", {
      headers: { "X-AccountCode": clinic.code },
      form: { email },
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ data: true });
    const { row, token } = await lastEmail(email);
    expect(row).toMatchObject({ template: "vsee_password_reset", status: "sent" });
    expect(token).toMatch(/^[a-z0-9]{8}$/);
    // Codes are stored hashed, never in clear.
    const stored = await env.DB.prepare("SELECT code_hash FROM codes WHERE user_id = ?")
      .bind(Number(user.id))
      .first<{ code_hash: string }>();
    expect(stored?.code_hash).not.toContain(token as string);

    const headers = { "X-AccountCode": clinic.code };
    const login = await call("POST", "/api_v3/users/login.json", {
      headers,
      form: { email, email_token: token as string },
    });
    expect(login.status).toBe(200);
    const session = (await json<{ data: { token: string } }>(login)).data.token;
    expect(
      (await call("POST", "/api_v3/users/login", { headers, form: { email, email_token: token as string } }))
        .status,
    ).toBe(401);
    const set = await call("POST", "/api_v3/me", {
      headers: { "X-ApiToken": session },
      form: { password: "brand new password" },
    });
    expect(set.status).toBe(200);
    // The emailed-code privilege is spent: a second change needs the old password.
    expect(
      (
        await call("POST", "/api_v3/me", {
          headers: { "X-ApiToken": session },
          form: { password: "another password 2" },
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await call("POST", "/api_v3/users/login", {
          headers,
          form: { username, password: "brand new password" },
        })
      ).status,
    ).toBe(200);
  });

  it("answers the same for unknown emails, and queues nothing", async () => {
    const clinic = await createClinic();
    const email = `${uniq("ghost")}@example.test`;
    const res = await callAndSettle("POST", "/api_v3/users/reset_password", {
      headers: { "X-AccountCode": clinic.code },
      form: { email },
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ data: true });
    expect((await lastEmail(email)).row).toBeNull();
    expect(
      (await call("POST", "/api_v3/users/reset_password", { form: { email: "not-an-email" } })).status,
    ).toBe(400);
  });

  it("email tokens expire after an hour and are bound to their user", async () => {
    const clinic = await createClinic();
    const a = `${uniq("a")}@example.test`;
    const b = `${uniq("b")}@example.test`;
    await sso(clinic, { email: a });
    await sso(clinic, { email: b });
    clock.freeze();
    const headers = { "X-AccountCode": clinic.code };
    await callAndSettle("POST", "/api_v3/users/reset_password", { headers, form: { email: a } });
    const { token } = await lastEmail(a);
    expect(
      (
        await call("POST", "/api_v3/users/login", {
          headers,
          form: { email: b, email_token: token as string },
        })
      ).status,
    ).toBe(401);
    clock.advance(3601);
    expect(
      (
        await call("POST", "/api_v3/users/login", {
          headers,
          form: { email: a, email_token: token as string },
        })
      ).status,
    ).toBe(401);
  });

  it("sends at most 5 reset emails per hour to one user (the one default of settings.codesPerHour)", async () => {
    const clinic = await createClinic();
    const email = `${uniq("flood")}@example.test`;
    await sso(clinic, { email });
    for (let i = 0; i < 7; i++) {
      await callAndSettle("POST", "/api_v3/users/reset_password", {
        headers: { "X-AccountCode": clinic.code },
        form: { email },
      });
    }
    const n = await env.DB.prepare("SELECT count(*) AS n FROM outbox WHERE recipient = ?")
      .bind(email)
      .first<{ n: number }>();
    expect(n?.n).toBe(5);
  });
});

describe("POST /api_v3/users/activate", () => {
  it("checks eligibility, creates a pending user and emails an activation token; the user then sets a password", async () => {
    // The code goes to the eligibility entry's own email (issue 16 #6), so the entry carries one.
    const email = `${uniq("an")}@example.test`;
    const eligibility = [{ first_name: "An", last_name: "Nguyen", dob: "1988-10-02", ssn: "1234", email }];
    const clinic = await createClinic({ eligibility });
    const headers = { "X-AccountCode": clinic.code };
    // Not eligible: the same answer (no oracle), and nothing is created or sent.
    const notEligible = await callAndSettle("POST", "/api_v3/users/activate.json", {
      headers,
      form: { first_name: "An", last_name: "Other", email, dob: "1988-10-02", ssn: "1234" },
    });
    expect(notEligible.status).toBe(200);
    expect(await json(notEligible)).toEqual({ data: true });
    expect((await lastEmail(email)).row).toBeNull();
    const res = await callAndSettle("POST", "/api_v3/users/activate.json", {
      headers,
      form: { first_name: "an", last_name: "NGUYEN", email, dob: "1988-10-02", ssn: "1234" },
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ data: true });
    const user = await env.DB.prepare("SELECT id, status, username FROM users WHERE email = ?")
      .bind(email)
      .first<{ id: number; status: number; username: string }>();
    expect(user?.status).toBe(10);
    const { row, token } = await lastEmail(email);
    expect(row?.template).toBe("activation");
    // A pending user cannot sign in with a password, only with the emailed token.
    const login = await call("POST", "/api_v3/users/login", { headers, json: { email, email_token: token } });
    expect(login.status).toBe(200);
    const session = (await json<{ data: { token: string; user: { active: boolean } } }>(login)).data;
    expect(session.user.active).toBe(false);
    const set = await call("POST", "/api_v3/me", {
      headers: { "X-ApiToken": session.token },
      form: { password: "my first password" },
    });
    expect((await json<{ data: { active: boolean } }>(set)).data.active).toBe(true);
    const byPassword = await call("POST", "/api_v3/users/login", {
      headers,
      form: { username: email, password: "my first password" },
    });
    expect(byPassword.status).toBe(200);
  });

  it("works without an eligibility list, validates input, and never duplicates the user", async () => {
    const clinic = await createClinic();
    const email = `${uniq("x")}@example.test`;
    const headers = { "X-AccountCode": clinic.code };
    for (let i = 0; i < 2; i++) {
      expect(
        (
          await callAndSettle("POST", "/api_v3/users/activate", {
            headers,
            form: { first_name: "An", last_name: "Nguyen", email },
          })
        ).status,
      ).toBe(200);
    }
    const n = await env.DB.prepare("SELECT count(*) AS n FROM users WHERE email = ?")
      .bind(email)
      .first<{ n: number }>();
    expect(n?.n).toBe(1);
    const bad = await call("POST", "/api_v3/users/activate", {
      headers,
      form: { first_name: "An", email: "nope", ssn: "12" },
    });
    expect((await json<{ errors: { param: string }[] }>(bad)).errors.map((e) => e.param).sort()).toEqual([
      "email",
      "last_name",
      "ssn",
    ]);
  });
});
