/** Logout ends the session; the session cookie authenticates POST /api_v3/users/alive only with its CSRF header. */
import { afterEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/lib/crypto";
import { call, clock, createClinic, env, json } from "../helpers";
import { assign, createRoom } from "../vsee/support";
import { csrfOf, ORIGIN, pageCsrf, setCookieLine, signedIn } from "./support";

afterEach(() => clock.reset());

async function revokedAt(cookie: string): Promise<number | null | undefined> {
  const row = await env.DB.prepare("SELECT revoked_at FROM sessions WHERE access_hash = ?")
    .bind(await sha256Hex(cookie))
    .first<{ revoked_at: number | null }>();
  return row?.revoked_at;
}

describe("/logout", () => {
  it("GET while signed in offers a sign-out button (a POST with the CSRF token); signed out it says so", async () => {
    const clinic = await createClinic();
    const b = await signedIn(clinic, { type: "400" });
    const page = await (await b.call("GET", "/logout")).text();
    expect(page).toContain("<h1>Sign out</h1>");
    expect(page).toMatch(
      /<form method="post" action="\/logout"><input type="hidden" name="csrf" value="[\w-]{43}"\/>/,
    );
    const out = await call("GET", "/logout");
    expect(out.status).toBe(200);
    expect(await out.text()).toContain("<h1>You are signed out</h1>");
  });

  it("POST with the page's token revokes the session, clears the cookie, and its token stops working everywhere", async () => {
    const clinic = await createClinic();
    const b = await signedIn(clinic, { type: "400" });
    const csrf = await pageCsrf(b, "/providers/dashboard");
    const res = await b.call("POST", "/logout", { headers: { origin: ORIGIN }, form: { csrf } });
    expect(res.status).toBe(303);
    // The signed-out page names the clinic (and signs in again to it).
    expect(res.headers.get("location")).toBe(`/logout?clinic=${clinic.code}`);
    const out = await call("GET", `/logout?clinic=${clinic.code}`);
    const outHtml = await out.text();
    expect(outHtml).toContain(`<title>You are signed out · Clinic ${clinic.code}</title>`);
    expect(outHtml).toContain(`href="/login?clinic=${clinic.code}"`);
    const cleared = setCookieLine(res, "ce_session") ?? "";
    expect(cleared).toContain("Max-Age=0");
    expect(cleared).toContain("HttpOnly");
    expect(await revokedAt(b.cookie)).toBeTypeOf("number");
    expect((await b.call("GET", "/providers/dashboard")).status).toBe(302);
    expect((await call("GET", "/api_v3/me", { headers: { "X-ApiToken": b.cookie } })).status).toBe(401);
    // Other sessions of the same user (the SSO token) are not affected.
    expect((await call("GET", "/api_v3/me", { headers: b.user.auth })).status).toBe(200);
  });

  it("a patient who signs out leaves the waiting rooms at once", async () => {
    const clinic = await createClinic();
    const room = await createRoom(clinic);
    const provider = await signedIn(clinic, { type: "400" });
    const patient = await signedIn(clinic, { type: "200" });
    await assign(clinic, provider.user.id, room.code);
    await assign(clinic, patient.user.id, room.code);
    const csrf = await pageCsrf(patient, "/u/clinic");
    expect(
      (await patient.call("POST", "/api_v3/users/alive", { headers: { "X-CSRF-Token": csrf } })).status,
    ).toBe(200);
    const waiting = async () =>
      (
        await json<{ rooms: { patients: unknown[] }[] }>(
          await provider.call("GET", "/providers/dashboard/rooms"),
        )
      ).rooms[0]?.patients.length;
    expect(await waiting()).toBe(1);
    await patient.call("POST", "/logout", { form: { csrf } });
    expect(await waiting()).toBe(0);
  });

  it("refuses a sign-out without the session's token or from another site (403 page), and the session lives on", async () => {
    const clinic = await createClinic();
    const b = await signedIn(clinic, { type: "400" });
    const other = await signedIn(clinic, { type: "400" });
    const mine = await pageCsrf(b);
    for (const [form, headers] of [
      [{}, {}],
      [{ csrf: "x".repeat(43) }, {}],
      [{ csrf: await pageCsrf(other) }, {}], // another session's token
      [{ csrf: mine }, { origin: "https://evil.example" }],
      [{ csrf: mine }, { "sec-fetch-site": "cross-site" }],
    ] as [Record<string, string>, Record<string, string>][]) {
      const res = await b.call("POST", "/logout", { form, headers });
      expect(res.status, JSON.stringify([form, headers])).toBe(403);
      expect(await res.text()).toContain("<h1>Not signed out</h1>");
      expect(setCookieLine(res, "ce_session")).toBeUndefined();
    }
    expect(await revokedAt(b.cookie)).toBeNull();
    expect((await b.call("GET", "/providers/dashboard")).status).toBe(200);
  });

  it("POST without a live session just goes to the signed-out page (clearing a stale cookie)", async () => {
    expect((await call("POST", "/logout", { form: {} })).headers.get("location")).toBe("/logout");
    const stale = await call("POST", "/logout", {
      headers: { cookie: `ce_session=${"1".repeat(32)}` },
      form: {},
    });
    expect(stale.status).toBe(303);
    expect(setCookieLine(stale, "ce_session")).toContain("Max-Age=0");
  });
});

describe("POST /api_v3/users/alive with the session cookie", () => {
  it("needs the page's CSRF token in X-CSRF-Token", async () => {
    const clinic = await createClinic();
    const b = await signedIn(clinic, { type: "200" });
    const other = await signedIn(clinic, { type: "200" });
    const csrf = csrfOf(await (await b.call("GET", "/u/clinic")).text());
    for (const headers of [
      {},
      { "X-CSRF-Token": "" },
      { "X-CSRF-Token": "nope" },
      { "X-CSRF-Token": await pageCsrf(other) },
      { "X-CSRF-Token": csrf, origin: "https://evil.example" },
    ] as Record<string, string>[]) {
      const res = await b.call("POST", "/api_v3/users/alive", { headers });
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(await json(res)).toEqual({
        code: 403,
        message: "Requests authenticated by the session cookie need the page's X-CSRF-Token header",
      });
    }
    const ok = await b.call("POST", "/api_v3/users/alive.json", {
      headers: { "X-CSRF-Token": csrf, origin: ORIGIN },
    });
    expect(ok.status).toBe(200);
    expect((await json<{ data: { heartbeat: number } }>(ok)).data.heartbeat).toBe(300);
  });

  it("answers 401 for a cookie whose session has ended", async () => {
    const clinic = await createClinic();
    const b = await signedIn(clinic, { type: "200" });
    const csrf = await pageCsrf(b);
    await b.call("POST", "/logout", { form: { csrf } });
    const res = await b.call("POST", "/api_v3/users/alive", { headers: { "X-CSRF-Token": csrf } });
    expect(res.status).toBe(401);
  });

  it("leaves API clients as they were: a token header needs no CSRF token and wins over a cookie", async () => {
    const clinic = await createClinic();
    const b = await signedIn(clinic, { type: "200" });
    expect((await call("POST", "/api_v3/users/alive", { headers: b.user.auth })).status).toBe(200);
    const both = await call("POST", "/api_v3/users/alive", {
      headers: { ...b.user.auth, cookie: `ce_session=${"2".repeat(32)}` },
    });
    expect(both.status).toBe(200);
    expect((await call("POST", "/api_v3/users/alive")).status).toBe(401);
  });

  it("is the only /api_v3 route a cookie authenticates", async () => {
    const clinic = await createClinic();
    const b = await signedIn(clinic, { type: "200" });
    const csrf = await pageCsrf(b);
    for (const [method, path] of [
      ["GET", "/api_v3/me"],
      ["POST", "/api_v3/me"],
      ["POST", "/api_v3/users/logout"],
      ["GET", "/api_v3/rooms"],
    ]) {
      const res = await b.call(method as string, path as string, { headers: { "X-CSRF-Token": csrf } });
      expect(res.status, path).toBe(401);
    }
  });
});
