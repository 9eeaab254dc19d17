import { describe, expect, it } from "vitest";
import { ADMIN_AUTH, call, createClinic, env, json, uniq } from "../helpers";
import { sso } from "./support";

const seedPatient = {
  first_name: "John",
  last_name: "Smith",
  code: "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
  type: "200",
};

type SsoBody = {
  data: Record<string, unknown> & { id: string; token: Record<string, unknown> & { token: string } };
};

describe("POST /api_v3/users/sso — happy paths (seed examples)", () => {
  it("patient SSO (multipart, .json suffix) answers the seed's exact shape", async () => {
    const clinic = await createClinic();
    const res = await call("POST", "/api_v3/users/sso.json", {
      headers: clinic.server,
      multipart: seedPatient,
    });
    expect(res.status).toBe(200);
    const { data } = await json<SsoBody>(res);
    expect(Object.keys(data).sort()).toEqual(
      [
        "active",
        "code",
        "first_name",
        "id",
        "last_name",
        "subtype",
        "token",
        "tos",
        "username",
        "vseeid",
      ].sort(),
    );
    expect(data).toMatchObject({
      id: expect.stringMatching(/^\d+$/),
      code: seedPatient.code,
      first_name: "John",
      last_name: "Smith",
      username: expect.stringMatching(/^[0-9a-f]{32}$/),
      active: true,
      tos: false,
      subtype: "",
    });
    expect(data.vseeid).toBe(`${clinic.code}+${data.username}`);
    expect(data.token).toEqual({
      user_id: data.id,
      token: expect.stringMatching(/^[0-9a-f]{32}$/),
      expiry: expect.any(Number),
      refresh_token: {
        user_id: data.id,
        token: expect.stringMatching(/^[0-9a-f]{32}$/),
        expiry: expect.any(Number),
        created: expect.any(Number),
      },
    });
    const token = data.token as unknown as {
      expiry: number;
      refresh_token: { expiry: number; created: number };
    };
    expect(token.expiry - token.refresh_token.created).toBe(24 * 3600);
    expect(token.refresh_token.expiry - token.refresh_token.created).toBe(30 * 24 * 3600);
  });

  it("provider SSO (urlencoded) and guest SSO (JSON, dob, generated code)", async () => {
    const clinic = await createClinic();
    const provider = await call("POST", "/api_v3/users/sso", {
      headers: clinic.server,
      form: { first_name: "John", last_name: "Provider", code: "cd978112ca1b", type: "400" },
    });
    expect(provider.status).toBe(200);
    expect((await json<SsoBody>(provider)).data).toMatchObject({
      last_name: "Provider",
      code: "cd978112ca1b",
    });

    const guest = await call("POST", "/api_v3/users/sso.json", {
      headers: clinic.server,
      json: { first_name: "John", last_name: "Smith", dob: "1990-01-01", type: 600 },
    });
    expect(guest.status).toBe(200);
    const g = (await json<SsoBody>(guest)).data;
    expect(g.code).toMatch(/^[0-9a-f]{32}$/);
    expect(g.dob).toBe("1990-01-01");
    // Every guest call is a new one-time user.
    const again = (
      await json<SsoBody>(
        await call("POST", "/api_v3/users/sso", {
          headers: clinic.server,
          json: { first_name: "John", last_name: "Smith", type: 600 },
        }),
      )
    ).data;
    expect(again.id).not.toBe(g.id);
  });

  it("the same code returns the same user, updating the names and optional fields sent", async () => {
    const clinic = await createClinic();
    const first = (
      await json<SsoBody>(
        await call("POST", "/api_v3/users/sso", { headers: clinic.server, form: seedPatient }),
      )
    ).data;
    const second = await call("POST", "/api_v3/users/sso", {
      headers: clinic.server,
      form: {
        ...seedPatient,
        first_name: "Johnny",
        email: "john@example.test",
        gender: "male",
        state: "ca",
        zip: "94107",
        phone: "800-555-5555",
        street_addr: "1 Main St",
        city: "San Francisco",
        dob: "1980-02-03",
      },
    });
    const data = (await json<SsoBody>(second)).data;
    expect(data.id).toBe(first.id);
    expect(data.first_name).toBe("Johnny");
    expect(data.token.token).not.toBe(first.token.token);
    const profile = await json<{ data: Record<string, unknown> }>(
      await call("GET", `/api_v3/users/${data.id}`, { headers: clinic.server }),
    );
    expect(profile.data).toMatchObject({
      email: "john@example.test",
      gender: 1,
      state: "CA",
      zip: "94107",
      city: "San Francisco",
      dob: "1980-02-03",
    });
    expect(profile.data.username).toBe(first.username);
    // Fields a later call leaves out keep their values; the generated username is never replaced.
    const third = (
      await json<SsoBody>(
        await call("POST", "/api_v3/users/sso", {
          headers: clinic.server,
          form: { ...seedPatient, last_name: "Doe" },
        }),
      )
    ).data;
    expect(third).toMatchObject({
      id: first.id,
      username: first.username,
      first_name: "John",
      last_name: "Doe",
    });
    const kept = await json<{ data: Record<string, unknown> }>(
      await call("GET", `/api_v3/users/${data.id}`, { headers: clinic.server }),
    );
    expect(kept.data).toMatchObject({ email: "john@example.test", zip: "94107", dob: "1980-02-03" });
  });

  it("?fields=vsee adds the vsee object", async () => {
    const clinic = await createClinic();
    const res = await call("POST", "/api_v3/users/sso.json?fields=vsee", {
      headers: clinic.server,
      form: seedPatient,
    });
    const { data } = await json<SsoBody>(res);
    expect(data.vsee).toEqual({ id: data.vseeid, token: data.token.token });
  });

  it("accepts a username and disable_emails, and the token works at once", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic, { username: "anton.test", disable_emails: "1" });
    expect(user.username).toBe("anton.test");
    const me = await call("GET", "/api_v3/me", { headers: { "X-ApiToken": user.token } });
    expect(me.status).toBe(200);
  });
});

describe("POST /api_v3/users/sso — errors", () => {
  it("validates every field", async () => {
    const clinic = await createClinic();
    const cases: [Record<string, string>, string, string][] = [
      [{ type: "200", first_name: "A", last_name: "B" }, "code", "is required for types 200 and 400"],
      [{ type: "300", first_name: "A", last_name: "B", code: "x" }, "type", "must be 200, 400 or 600"],
      [
        { type: "200", first_name: "A", last_name: "B", code: "x".repeat(129) },
        "code",
        "must be at most 128 characters",
      ],
      [
        { type: "200", first_name: "A", last_name: "B", code: "x", dob: "1990-13-45" },
        "dob",
        "must be a valid date",
      ],
      [
        { type: "200", first_name: "A", last_name: "B", code: "x", dob: "01/02/1990" },
        "dob",
        "must be a date in YYYY-MM-DD format",
      ],
      [
        { type: "200", first_name: "A", last_name: "B", code: "x", email: "nope" },
        "email",
        "must be a valid email address",
      ],
      [
        { type: "200", first_name: "A", last_name: "B", code: "x", gender: "other" },
        "gender",
        "must be male or female",
      ],
      [
        { type: "200", first_name: "A", last_name: "B", code: "x", state: "Cali" },
        "state",
        "must be a two-letter US state code",
      ],
      [
        { type: "200", first_name: "A", last_name: "B", code: "x", zip: "1" },
        "zip",
        "must be a 5-digit ZIP code (or ZIP+4)",
      ],
      [
        { type: "200", first_name: "A", last_name: "B", code: "x", disable_emails: "2" },
        "disable_emails",
        expect.any(String) as unknown as string,
      ],
      [{ type: "200", first_name: "", last_name: "B", code: "x" }, "first_name", "is required"],
      [
        { type: "200", first_name: "A", last_name: "B", code: "x", admin: "1" },
        "admin",
        "is not an allowed field",
      ],
    ];
    for (const [form, param, message] of cases) {
      const res = await call("POST", "/api_v3/users/sso", { headers: clinic.server, form });
      expect(res.status, param).toBe(400);
      const body = await json<{ code: number; errors: { param: string; message: string }[] }>(res);
      expect(body.code).toBe(400);
      expect(body.errors).toContainEqual({ param, message });
    }
  });

  it("refuses while the clinic's SSO is disabled (403)", async () => {
    const clinic = await createClinic({ sso_enabled: false });
    const res = await call("POST", "/api_v3/users/sso", { headers: clinic.server, form: seedPatient });
    expect(res.status).toBe(403);
    expect(await json(res)).toEqual({ code: 403, message: "SSO is not enabled for this account" });
  });

  it("needs the clinic's API key (401 without, with a wrong one, or with another clinic's)", async () => {
    const a = await createClinic();
    const b = await createClinic();
    for (const headers of [
      {},
      { "X-AccountCode": a.code },
      { "X-AccountCode": a.code, "X-ApiKey": "ce_wrong" },
      { "X-AccountCode": a.code, "X-ApiKey": b.apiKey },
    ] as Record<string, string>[]) {
      const res = await call("POST", "/api_v3/users/sso", { headers, form: seedPatient });
      expect(res.status).toBe(401);
    }
  });

  it("does not let a code change type, nor take a username or email that is in use", async () => {
    const clinic = await createClinic();
    const member = await sso(clinic, { email: "taken@example.test", username: "taken-name" });
    const asProvider = await call("POST", "/api_v3/users/sso", {
      headers: clinic.server,
      form: { first_name: "A", last_name: "B", code: member.code, type: "400" },
    });
    expect(asProvider.status).toBe(400);
    expect((await json<{ errors: unknown[] }>(asProvider)).errors).toEqual([
      { param: "code", message: "belongs to a user of another type" },
    ]);
    const dupName = await call("POST", "/api_v3/users/sso", {
      headers: clinic.server,
      form: { first_name: "A", last_name: "B", code: uniq(), type: "200", username: "taken-name" },
    });
    expect(dupName.status).toBe(400);
    const dupEmail = await call("POST", "/api_v3/users/sso", {
      headers: clinic.server,
      form: { first_name: "A", last_name: "B", code: uniq(), type: "200", email: "TAKEN@example.test" },
    });
    expect(dupEmail.status).toBe(400);
    // Nothing half-written: no session was created by the refused calls.
    const sessions = await env.DB.prepare("SELECT count(*) AS n FROM sessions WHERE user_id = ?")
      .bind(Number(member.id))
      .first<{ n: number }>();
    expect(sessions?.n).toBe(1);
  });

  it("refuses a disabled user (403) and issues no token", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    const patch = await call("PATCH", `/admin/clinics/${clinic.code}/users/${user.id}`, {
      headers: ADMIN_AUTH,
      json: { disabled: true },
    });
    expect(patch.status).toBe(200);
    const res = await call("POST", "/api_v3/users/sso", {
      headers: clinic.server,
      form: { first_name: "A", last_name: "B", code: user.code, type: "200" },
    });
    expect(res.status).toBe(403);
    // The old token stopped working when the user was disabled.
    expect((await call("GET", "/api_v3/me", { headers: { "X-ApiToken": user.token } })).status).toBe(401);
  });
});

describe("POST /api_v3/users/sso — security", () => {
  it("stores tokens only as SHA-256", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    const refreshRows = await env.DB.prepare("SELECT token_hash FROM refresh_tokens WHERE user_id = ?")
      .bind(Number(user.id))
      .all<{ token_hash: string }>();
    expect(refreshRows.results.map((r) => r.token_hash)).not.toContain(user.refresh);
    const all = JSON.stringify(
      (
        await env.DB.prepare(
          "SELECT * FROM sessions s JOIN refresh_tokens r ON r.session_id = s.id WHERE s.user_id = ?",
        )
          .bind(Number(user.id))
          .all()
      ).results,
    );
    expect(all).not.toContain(user.token);
    expect(all).not.toContain(user.refresh);
    expect(await env.KV.get(`at:${user.token}`)).toBeNull();
    const keys = await env.KV.list({ prefix: "at:" });
    expect(keys.keys.some((k) => k.name.includes(user.token))).toBe(false);
  });

  it("keeps clinics apart: the same code in two clinics is two users", async () => {
    const a = await createClinic();
    const b = await createClinic();
    const ua = await sso(a, { code: "same-code" });
    const ub = await sso(b, { code: "same-code" });
    expect(ua.id).not.toBe(ub.id);
  });
});
