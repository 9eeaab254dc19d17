import { describe, expect, it } from "vitest";
import { TIMEZONES } from "../../src/routes/vsee/constants";
import { call, createClinic, json, uniq } from "../helpers";
import { setPassword, sso } from "./support";

type Me = { data: Record<string, unknown> };

describe("GET /api_v3/me", () => {
  it("returns the caller's profile (seed example: X-ApiToken only, .json)", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic, {
      first_name: "An",
      last_name: "Nguyen",
      dob: "1960-01-01",
      email: "an@example.test",
    });
    const res = await call("GET", "/api_v3/me.json", { headers: { "X-ApiToken": user.token } });
    expect(res.status).toBe(200);
    const { data } = await json<Me>(res);
    expect(data).toMatchObject({
      id: user.id,
      first_name: "An",
      last_name: "Nguyen",
      dob: "1960-01-01",
      email: "an@example.test",
      active: true,
      tos: false,
    });
  });

  it("needs a valid token", async () => {
    expect((await call("GET", "/api_v3/me")).status).toBe(401);
    expect((await call("GET", "/api_v3/me", { headers: { "X-ApiToken": "f".repeat(32) } })).status).toBe(401);
    expect((await call("GET", "/api_v3/me", { headers: { "X-ApiToken": "garbage" } })).status).toBe(401);
  });
});

describe("POST /api_v3/me", () => {
  it("updates every field of the seed (urlencoded, seed example)", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    const res = await call("POST", "/api_v3/me.json", {
      headers: { "X-ApiToken": user.token },
      form: {
        dob: "1983-10-02",
        nationality: "Vietnamese",
        gender: "female",
        tos: "1",
        phone: "800-555-5555",
        first_name: "An",
        last_name: "Nguyen",
        street_addr: "First str 12",
        state: "CA",
        zip: "01234",
        city: "San Francisco",
        pcp_name: "Dr. Who",
        pcp_phone: "4155550100",
        timezone: "Europe/Berlin",
      },
    });
    expect(res.status).toBe(200);
    const { data } = await json<Me>(res);
    expect(data).toMatchObject({
      dob: "1983-10-02",
      nationality: "Vietnamese",
      gender: 2,
      tos: true,
      phone: "800-555-5555",
      first_name: "An",
      street_addr: "First str 12",
      state: "CA",
      zip: "01234",
      pcp_name: "Dr. Who",
      pcp_phone: "4155550100",
      timezone: "Europe/Berlin",
    });
    const again = await json<Me>(await call("GET", "/api_v3/me", { headers: user.auth }));
    expect(again.data).toEqual(data);
  });

  it("accepts every timezone of the seed's list, and nothing else", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    expect(Object.keys(TIMEZONES)).toHaveLength(80);
    for (const tz of ["America/Los_Angeles", "Pacific/Apia", "UTC", "America/St_Johns"]) {
      expect(
        (await call("POST", "/api_v3/me", { headers: user.auth, form: { timezone: tz } })).status,
        tz,
      ).toBe(200);
    }
    for (const tz of ["Europe/Madrid", "utc", "Mars/Olympus"]) {
      const res = await call("POST", "/api_v3/me", { headers: user.auth, form: { timezone: tz } });
      expect(res.status, tz).toBe(400);
    }
  });

  it("validates fields and refuses unknown ones", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    const cases: [Record<string, string>, string][] = [
      [{ dob: "1983-02-30" }, "dob"],
      [{ gender: "x" }, "gender"],
      [{ state: "XX" }, "state"],
      [{ pcp_phone: "12345" }, "pcp_phone"],
      [{ tos: "yes" }, "tos"],
      [{ photo: "no-such-file" }, "photo"],
      [{ photo: "1-000000000000000000000000" }, "photo"],
      [{ is_admin: "1" }, "is_admin"],
      [{ type: "100" }, "type"],
      [{ old_password: "x" }, "password"],
    ];
    for (const [form, param] of cases) {
      const res = await call("POST", "/api_v3/me", { headers: user.auth, form });
      expect(res.status, param).toBe(400);
      expect(
        (await json<{ errors: { param: string }[] }>(res)).errors.map((e) => e.param),
        param,
      ).toContain(param);
    }
  });

  it("photo '' clears the photo", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    const res = await call("POST", "/api_v3/me", { headers: user.auth, form: { photo: "" } });
    expect(res.status).toBe(200);
    expect((await json<Me>(res)).data.photo).toBeNull();
  });

  it("password alone sets the first password; changing it needs old_password and ends other sessions", async () => {
    const clinic = await createClinic();
    const username = uniq("pw-");
    const user = await sso(clinic, { username });
    const password = await setPassword(user, "first password 1");
    const other = await json<{ data: { token: string } }>(
      await call("POST", "/api_v3/users/login", {
        headers: { "X-AccountCode": clinic.code },
        form: { username, password },
      }),
    );
    // Now a password exists: a change without (or with a wrong) old password is refused.
    const noOld = await call("POST", "/api_v3/me", {
      headers: user.auth,
      form: { password: "second password 2" },
    });
    expect(noOld.status).toBe(400);
    expect((await json<{ errors: unknown[] }>(noOld)).errors).toEqual([
      { param: "old_password", message: "is required to change the password" },
    ]);
    const wrongOld = await call("POST", "/api_v3/me", {
      headers: user.auth,
      form: { password: "second password 2", old_password: "nope nope" },
    });
    expect(wrongOld.status).toBe(400);
    const ok = await call("POST", "/api_v3/me", {
      headers: user.auth,
      form: { password: "second password 2", old_password: password },
    });
    expect(ok.status).toBe(200);
    // The caller's session lives on; the other session ended.
    expect((await call("GET", "/api_v3/me", { headers: user.auth })).status).toBe(200);
    expect((await call("GET", "/api_v3/me", { headers: { "X-ApiToken": other.data.token } })).status).toBe(
      401,
    );
    // The new password signs in, the old one no longer does.
    const headers = { "X-AccountCode": clinic.code };
    expect(
      (await call("POST", "/api_v3/users/login", { headers, form: { username, password } })).status,
    ).toBe(401);
    expect(
      (
        await call("POST", "/api_v3/users/login", {
          headers,
          form: { username, password: "second password 2" },
        })
      ).status,
    ).toBe(200);
  });

  it("enforces the password policy (8 to 128 characters) and hashes UTF-8 bytes", async () => {
    const clinic = await createClinic();
    const username = uniq("utf-");
    const user = await sso(clinic, { username });
    expect(
      (await call("POST", "/api_v3/me", { headers: user.auth, form: { password: "short" } })).status,
    ).toBe(400);
    expect(
      (await call("POST", "/api_v3/me", { headers: user.auth, form: { password: "x".repeat(129) } })).status,
    ).toBe(400);
    await setPassword(user, "ééééééééé");
    const headers = { "X-AccountCode": clinic.code };
    expect(
      (await call("POST", "/api_v3/users/login", { headers, json: { username, password: "éééééééea" } }))
        .status,
    ).toBe(401);
    expect(
      (await call("POST", "/api_v3/users/login", { headers, json: { username, password: "ééééééééé" } }))
        .status,
    ).toBe(200);
  });
});
