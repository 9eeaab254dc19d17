/**
 * CORS per clinic: no origin is allowed unless the clinic lists it in settings.corsOrigins. Preflights
 * are answered for listed origins only, and never allow X-ApiKey (the API key stays on servers).
 */
import { describe, expect, it } from "vitest";
import { account, tenant } from "../accounts/support";
import { ADMIN_AUTH, call, createClinic, json } from "../helpers";
import { sso } from "../vsee/support";

const PORTAL = "https://portal.cors.example.test";
const OTHER = "https://evil.example.test";

function preflight(path: string, origin: string, headers = "authorization, x-accountcode, x-apikey") {
  return call("OPTIONS", path, {
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": headers,
    },
  });
}

describe("CORS", () => {
  it("by default allows no origin", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    const res = await call("GET", "/api_v3/me", { headers: { ...user.auth, origin: PORTAL } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(res.headers.get("vary")).toContain("Origin");
  });

  it("allows exactly the clinic's listed origins, for that clinic only", async () => {
    const listed = await createClinic({ settings: { corsOrigins: [`${PORTAL}/`] } });
    const unlisted = await createClinic();
    const user = await sso(listed);
    // The token's clinic decides (no X-AccountCode needed).
    const ok = await call("GET", "/api_v3/me", { headers: { "X-ApiToken": user.token, origin: PORTAL } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("access-control-allow-origin")).toBe(PORTAL);
    expect(ok.headers.get("access-control-expose-headers")).toContain("Retry-After");
    expect(ok.headers.get("access-control-allow-credentials")).toBeNull();

    const other = await call("GET", "/api_v3/me", { headers: { "X-ApiToken": user.token, origin: OTHER } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();

    // Errors are readable too (the page must see its 401), still only for the listed origin.
    const refused = await call("GET", "/api_v3/me", {
      headers: { "X-AccountCode": listed.code, origin: PORTAL },
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("access-control-allow-origin")).toBe(PORTAL);

    // Another clinic's request from the same origin: not allowed.
    const stranger = await sso(unlisted);
    const cross = await call("GET", "/api_v3/me", { headers: { ...stranger.auth, origin: PORTAL } });
    expect(cross.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("accounts family: the X-AccountCode clinic decides", async () => {
    const t = await tenant({ settings: { corsOrigins: [PORTAL] } });
    const a = await account(t);
    const res = await call("GET", `/accounts/${a.uid}`, {
      headers: { ...t.headers, ...a.auth, origin: PORTAL },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(PORTAL);
  });

  it("answers preflights for listed origins, never allowing X-ApiKey; refuses others", async () => {
    const origin = `https://pre${Date.now().toString(36)}.example.test`;
    await createClinic({ settings: { corsOrigins: [origin] } });
    const allowed = await preflight("/api_v3/users/login", origin);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(origin);
    expect(allowed.headers.get("access-control-allow-methods")).toContain("POST");
    expect(allowed.headers.get("access-control-allow-headers")).toBe("authorization, x-accountcode");
    expect(allowed.headers.get("access-control-max-age")).toBe("600");
    expect(allowed.headers.get("strict-transport-security")).toBeTruthy();

    const refused = await preflight("/api_v3/users/login", OTHER);
    expect(refused.status).toBe(204);
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
    expect(refused.headers.get("access-control-allow-methods")).toBeNull();
  });

  it("a settings change applies at once (in this isolate), and origins are validated", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    const before = await call("GET", "/api_v3/me", { headers: { ...user.auth, origin: PORTAL } });
    expect(before.headers.get("access-control-allow-origin")).toBeNull();
    const patched = await call("PATCH", `/admin/clinics/${clinic.code}`, {
      headers: ADMIN_AUTH,
      json: { settings: { corsOrigins: [PORTAL] } },
    });
    expect(patched.status).toBe(200);
    const after = await call("GET", "/api_v3/me", { headers: { ...user.auth, origin: PORTAL } });
    expect(after.headers.get("access-control-allow-origin")).toBe(PORTAL);

    const bad = await call("PATCH", `/admin/clinics/${clinic.code}`, {
      headers: ADMIN_AUTH,
      json: { settings: { corsOrigins: ["https://portal.example.test/app", "*", "javascript:alert(1)"] } },
    });
    expect(bad.status).toBe(400);
    const body = await json<{ errors: { param: string }[] }>(bad);
    expect(body.errors.map((e) => e.param)).toEqual([
      "settings.corsOrigins.0",
      "settings.corsOrigins.1",
      "settings.corsOrigins.2",
    ]);
  });
});
