/**
 * Security headers on every response of every family (success, error, 404/405, HTML pages, preflights):
 * HSTS, nosniff, no referrer, no framing, and no-store wherever a token, code or personal data may travel.
 */
import { describe, expect, it } from "vitest";
import { account, tenant } from "../accounts/support";
import { ADMIN_AUTH, call, createClinic, json } from "../helpers";
import { ensureDefaultClinic, registerAs } from "../register/support";
import { sso, uploadImage } from "../vsee/support";

function expectSecurityHeaders(res: Response, what: string) {
  const h = res.headers;
  expect(h.get("strict-transport-security"), what).toBe("max-age=63072000; includeSubDomains");
  expect(h.get("x-content-type-options"), what).toBe("nosniff");
  expect(h.get("referrer-policy"), what).toBe("no-referrer");
  expect(h.get("x-frame-options"), what).toBe("DENY");
  expect(h.get("content-security-policy"), what).toContain("frame-ancestors 'none'");
}

function expectNoStore(res: Response, what: string) {
  expect(res.headers.get("cache-control"), what).toBe("no-store");
}

describe("security headers", () => {
  it("/api_v3: token responses, profiles, errors, 404 and 405", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    const responses: [string, Response][] = [
      [
        "sso",
        await call("POST", "/api_v3/users/sso", {
          headers: clinic.server,
          json: { first_name: "A", last_name: "B", code: "h1", type: 200 },
        }),
      ],
      ["me", await call("GET", "/api_v3/me", { headers: user.auth })],
      ["401", await call("GET", "/api_v3/me")],
      ["404", await call("GET", "/api_v3/nothing")],
      ["405", await call("DELETE", "/api_v3/me")],
    ];
    for (const [what, res] of responses) {
      expectSecurityHeaders(res, what);
      expectNoStore(res, what);
      // JSON answers may not load or run anything.
      expect(res.headers.get("content-security-policy"), what).toBe(
        "default-src 'none'; frame-ancestors 'none'",
      );
    }
  });

  it("accounts family: sign-in tokens and errors", async () => {
    const t = await tenant();
    const a = await account(t);
    const responses: [string, Response][] = [
      [
        "sign-in",
        await call("POST", "/authentication", {
          headers: t.headers,
          json: { strategy: "local", email: a.email, password: "supersecretpass" },
        }),
      ],
      ["account", await call("GET", `/accounts/${a.uid}`, { headers: { ...t.headers, ...a.auth } })],
      ["400", await call("POST", "/authentication", { headers: t.headers, json: { strategy: "nope" } })],
    ];
    for (const [what, res] of responses) {
      expectSecurityHeaders(res, what);
      expectNoStore(res, what);
    }
  });

  it("register family: registration, state, and the JWKS (which keeps its public cache policy)", async () => {
    await ensureDefaultClinic();
    const clinic = await createClinic();
    const patient = await registerAs(clinic, "patients");
    const state = await call("GET", "/state", { headers: patient.auth });
    expectSecurityHeaders(state, "state");
    expectNoStore(state, "state");
    const refused = await call("PUT", "/state", { headers: patient.auth, json: { prescription: "x" } });
    expect(refused.status).toBe(403);
    expectSecurityHeaders(refused, "403");
    expectNoStore(refused, "403");
    const jwks = await call("GET", "/.well-known/jwks.json");
    expectSecurityHeaders(jwks, "jwks");
    expect(jwks.headers.get("cache-control")).toBe("public, max-age=300");
  });

  it("admin API: the API key answer and errors", async () => {
    const created = await call("POST", "/admin/clinics", {
      headers: ADMIN_AUTH,
      json: { code: `h${Date.now().toString(36)}`, name: "H", domain: "h.example.test" },
    });
    expect(created.status).toBe(201);
    expect((await json(created)).api_key).toBeTruthy();
    expectSecurityHeaders(created, "create");
    expectNoStore(created, "create");
    const denied = await call("GET", "/admin/clinics");
    expectSecurityHeaders(denied, "401");
    expectNoStore(denied, "401");
  });

  it("HTML pages refuse framing: /docs and the /auth sign-in page", async () => {
    for (const path of ["/docs", "/auth?sso_token=0123456789abcdef0123456789abcdef"]) {
      const res = await call("GET", path);
      expect(res.headers.get("content-type"), path).toContain("text/html");
      expectSecurityHeaders(res, path);
      expect(res.headers.get("content-security-policy"), path).toContain("frame-ancestors 'none'");
    }
    // The sign-in link carries a token: never cached, never referred onward.
    const auth = await call("GET", "/auth?sso_token=0123456789abcdef0123456789abcdef");
    expectNoStore(auth, "/auth");
  });

  it("meta routes and the uploaded-file download (personal data: not stored by any cache)", async () => {
    const health = await call("GET", "/health");
    expectSecurityHeaders(health, "health");
    const clinic = await createClinic();
    const user = await sso(clinic);
    const up = await uploadImage(user);
    expect(up.status).toBe(200);
    const { data } = await json<{ data: { url: string } }>(up);
    const file = await call("GET", new URL(data.url).pathname + new URL(data.url).search);
    expect(file.status).toBe(200);
    expectSecurityHeaders(file, "file");
    expectNoStore(file, "file");
    expect(file.headers.get("content-security-policy")).toBe(
      "default-src 'none'; sandbox; frame-ancestors 'none'",
    );
  });
});
