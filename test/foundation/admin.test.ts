import { describe, expect, it } from "vitest";
import { ADMIN_AUTH, call, createClinic, env, json, uniq } from "../helpers";

const clinicBody = (code: string) => ({ code, name: "Sunrise Clinic", domain: `${code}.example.test` });

describe("admin API: clinics", () => {
  it("creates a clinic and shows its API key once", async () => {
    const code = uniq("c");
    const res = await call("POST", "/admin/clinics", {
      headers: ADMIN_AUTH,
      json: {
        ...clinicBody(code),
        portal_base_url: "https://portal.example.test/vc/next/",
        signup_mode: "invite_only",
      },
    });
    expect(res.status).toBe(201);
    const body = await json<{ clinic: Record<string, unknown>; api_key: string }>(res);
    expect(body.api_key).toMatch(/^ce_[A-Za-z0-9_-]{43}$/);
    expect(body.clinic).toMatchObject({
      code,
      name: "Sunrise Clinic",
      sso_enabled: false,
      signup_mode: "invite_only",
      default_heartbeat: 300,
      portal_base_url: "https://portal.example.test/vc/next/",
      api_key_prefix: body.api_key.slice(0, 8),
    });

    // Read back: the key itself is never shown again, and only its hash is stored.
    const read = await json(await call("GET", `/admin/clinics/${code}`, { headers: ADMIN_AUTH }));
    expect(JSON.stringify(read)).not.toContain(body.api_key);
    const row = await env.DB.prepare("SELECT api_key_hash FROM clinics WHERE code = ?")
      .bind(code)
      .first<{ api_key_hash: string }>();
    expect(row?.api_key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row?.api_key_hash).not.toContain(body.api_key);
  });

  it("the API key it returns authenticates server calls of that clinic only", async () => {
    const a = await createClinic();
    const b = await createClinic();
    expect((await call("GET", "/api_v3/rooms", { headers: a.server })).status).toBe(200);
    // A's key presented for clinic B is refused, and so is a made-up key.
    const cross = await call("GET", "/api_v3/rooms", {
      headers: { "X-AccountCode": b.code, "X-ApiKey": a.apiKey },
    });
    expect(cross.status).toBe(401);
    const fake = await call("GET", "/api_v3/rooms", {
      headers: { "X-AccountCode": a.code, "X-ApiKey": "ce_nope" },
    });
    expect(fake.status).toBe(401);
    // An unknown clinic answers exactly like a wrong key.
    const unknown = await call("GET", "/api_v3/rooms", {
      headers: { "X-AccountCode": "nosuch", "X-ApiKey": a.apiKey },
    });
    expect(await json(unknown)).toEqual(await json(cross));
  });

  it("rotating the key retires the old one at once", async () => {
    const a = await createClinic();
    const res = await call("POST", `/admin/clinics/${a.code}/rotate-key`, { headers: ADMIN_AUTH });
    expect(res.status).toBe(200);
    const { api_key } = await json<{ api_key: string }>(res);
    expect(api_key).not.toBe(a.apiKey);
    expect((await call("GET", "/api_v3/rooms", { headers: a.server })).status).toBe(401);
    expect(
      (await call("GET", "/api_v3/rooms", { headers: { ...a.server, "X-ApiKey": api_key } })).status,
    ).toBe(200);
  });

  it("lists and updates clinics", async () => {
    const a = await createClinic();
    const patched = await call("PATCH", `/admin/clinics/${a.code}`, {
      headers: ADMIN_AUTH,
      form: { sso_enabled: "0", default_heartbeat: "120", name: "Renamed" },
    });
    expect(patched.status).toBe(200);
    expect((await json<{ clinic: Record<string, unknown> }>(patched)).clinic).toMatchObject({
      sso_enabled: false,
      default_heartbeat: 120,
      name: "Renamed",
    });
    const list = await json<{ data: { code: string }[]; total: number }>(
      await call("GET", "/admin/clinics?limit=100", { headers: ADMIN_AUTH }),
    );
    expect(list.total).toBeGreaterThanOrEqual(1);
    expect(list.data.every((c) => !("api_key" in c))).toBe(true);
  });

  it("refuses a duplicate clinic code with 409", async () => {
    const code = uniq("c");
    expect(
      (await call("POST", "/admin/clinics", { headers: ADMIN_AUTH, json: clinicBody(code) })).status,
    ).toBe(201);
    const dup = await call("POST", "/admin/clinics", { headers: ADMIN_AUTH, json: clinicBody(code) });
    expect(dup.status).toBe(409);
    expect(await json(dup)).toEqual({
      code: 409,
      error: "clinic_exists",
      message: "A clinic with this code already exists",
    });
  });

  it("validates input with per-field errors", async () => {
    const res = await call("POST", "/admin/clinics", {
      headers: ADMIN_AUTH,
      json: { code: "Bad Code!", name: "", domain: "x", default_heartbeat: 5, surprise: 1 },
    });
    expect(res.status).toBe(400);
    const body = await json<{ errors: { param: string }[] }>(res);
    expect(body.errors.map((e) => e.param).sort()).toEqual(["code", "default_heartbeat", "name", "surprise"]);
  });

  it("answers 404 for an unknown clinic", async () => {
    const res = await call("GET", "/admin/clinics/nosuchclinic", { headers: ADMIN_AUTH });
    expect(res.status).toBe(404);
    expect(await json(res)).toMatchObject({ code: 404, error: "clinic_not_found" });
  });
});

describe("admin API: security", () => {
  it("refuses a missing or wrong admin key with 401", async () => {
    for (const headers of [
      {},
      { authorization: "Bearer wrong" },
      { authorization: "Basic dGVzdA==" },
    ] as Record<string, string>[]) {
      const res = await call("GET", "/admin/clinics", { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
      expect(await json(res)).toMatchObject({ code: 401, error: "unauthorized" });
    }
  });

  it("is closed (503), never open, when ADMIN_API_KEY is unset", async () => {
    const saved = env.ADMIN_API_KEY;
    (env as { ADMIN_API_KEY?: string }).ADMIN_API_KEY = undefined;
    try {
      for (const headers of [
        {},
        { authorization: "Bearer " },
        { authorization: "Bearer undefined" },
      ] as Record<string, string>[]) {
        const res = await call("GET", "/admin/clinics", { headers });
        expect(res.status).toBe(503);
        expect(await json(res)).toMatchObject({ code: 503, error: "admin_disabled" });
      }
    } finally {
      (env as { ADMIN_API_KEY?: string }).ADMIN_API_KEY = saved;
    }
  });
});
