/** Who may see which page, redirects to /login, security headers, assets, and the test-only clock's absence. */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import worker from "../../src/index";
import { setClock } from "../../src/lib/clock";
import { buildRequest, call, clock, createClinic, env, json, uniq } from "../helpers";
import { adminPatchUser, setPassword, sso } from "../vsee/support";
import { browserOf, loginForm, setCookieLine, setCookieValue, signedIn, submitLogin } from "./support";

afterEach(() => clock.reset());

const PAGES = ["/providers/dashboard", "/u/clinic"];

describe("without a session", () => {
  it("pages redirect to /login with next = the page (query kept, encoded)", async () => {
    for (const path of PAGES) {
      const res = await call("GET", path);
      expect(res.status).toBe(302);
      expect(res.headers.get("location")).toBe(`/login?next=${encodeURIComponent(path)}`);
    }
    const withQuery = await call("GET", "/u/clinic?room=a%20b&x=1");
    expect(withQuery.headers.get("location")).toBe(
      `/login?next=${encodeURIComponent("/u/clinic?room=a%20b&x=1")}`,
    );
    expect((await call("GET", "/")).headers.get("location")).toBe("/login");
  });

  it("the redirect's next survives the form: signing in returns to the page asked for", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    await setPassword(user, "correct horse battery");
    const first = await call("GET", "/u/clinic?tab=a%20b");
    const location = first.headers.get("location") ?? "";
    const form = await loginForm(location.slice("/login".length));
    expect(form.html).toContain('name="next" value="/u/clinic?tab=a%20b"');
    const res = await submitLogin(
      {
        clinic: clinic.code,
        username: user.username,
        password: "correct horse battery",
        next: "/u/clinic?tab=a%20b",
      },
      form,
    );
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/u/clinic?tab=a%20b");
  });

  it("a stale, revoked or expired cookie redirects too, and is cleared", async () => {
    const clinic = await createClinic();
    const b = await signedIn(clinic, { type: "400" });
    const forged = await browserOf(b.user, "0".repeat(32)).call("GET", "/providers/dashboard");
    expect(forged.status).toBe(302);
    expect(setCookieLine(forged, "ce_session")).toContain("Max-Age=0");
    clock.freeze();
    expect((await b.call("GET", "/providers/dashboard")).status).toBe(200);
    clock.advance(86_401); // the cookie's session (24 h access) has expired
    const expired = await b.call("GET", "/providers/dashboard");
    expect(expired.status).toBe(302);
    expect(expired.headers.get("location")).toBe("/login?next=%2Fproviders%2Fdashboard");
  });
});

describe("roles", () => {
  it("a provider's home is the dashboard, a patient's (member or guest) the waiting page", async () => {
    const clinic = await createClinic();
    const provider = await signedIn(clinic, { type: "400" });
    const member = await signedIn(clinic, { type: "200" });
    const guest = await signedIn(clinic, { type: "600" });
    expect((await provider.call("GET", "/")).headers.get("location")).toBe("/providers/dashboard");
    expect((await member.call("GET", "/")).headers.get("location")).toBe("/u/clinic");
    expect((await guest.call("GET", "/")).headers.get("location")).toBe("/u/clinic");
    expect((await provider.call("GET", "/providers/dashboard")).status).toBe(200);
    expect((await member.call("GET", "/u/clinic")).status).toBe(200);
    expect((await guest.call("GET", "/u/clinic")).status).toBe(200);
  });

  it("the wrong role gets a 403 page (HTML, with a way to its own page and to sign out)", async () => {
    const clinic = await createClinic();
    const provider = await signedIn(clinic, { type: "400" });
    const member = await signedIn(clinic, { type: "200" });
    for (const [who, path, says, home] of [
      [member, "/providers/dashboard", "This page is for providers.", "/u/clinic"],
      [provider, "/u/clinic", "This page is for patients.", "/providers/dashboard"],
    ] as const) {
      const res = await who.call("GET", path);
      expect(res.status).toBe(403);
      expect(res.headers.get("content-type")).toContain("text/html");
      expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      const html = await res.text();
      expect(html).toContain("<h1>Not available</h1>");
      expect(html).toContain(`<p>${says}</p>`);
      expect(html).toContain(`<a href="${home}">Go to your page</a>`);
      expect(html).toContain('<form method="post" action="/logout">');
    }
  });

  it("a user without a portal page (an admin) gets a 403 page at /", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    await setPassword(user, "correct horse battery");
    await adminPatchUser(clinic, user.id, { type: 100 });
    const login = await submitLogin({
      clinic: clinic.code,
      username: user.username,
      password: "correct horse battery",
    });
    expect(login.headers.get("location")).toBe("/");
    const admin = browserOf(user, setCookieValue(login, "ce_session") ?? "");
    const res = await admin.call("GET", "/");
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("There is no portal page for your kind of account.");
    expect((await admin.call("GET", "/providers/dashboard")).status).toBe(403);
  });
});

describe("security headers and markup", () => {
  const CSP_NEEDS = ["default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"];

  it("every page carries a CSP without unsafe-inline and refuses framing", async () => {
    const clinic = await createClinic();
    const provider = await signedIn(clinic, { type: "400" });
    const member = await signedIn(clinic, { type: "200" });
    const responses = [
      await call("GET", "/login"),
      await call("GET", "/logout"),
      await call("GET", "/auth?sso_token=bad"),
      await provider.call("GET", "/providers/dashboard"),
      await provider.call("GET", "/providers/dashboard/rooms"),
      await member.call("GET", "/u/clinic"),
      await member.call("GET", "/providers/dashboard"),
      await call("PUT", "/login"),
    ];
    for (const res of responses) {
      const csp = res.headers.get("content-security-policy") ?? "";
      for (const directive of CSP_NEEDS) expect(csp, res.url).toContain(directive);
      expect(csp).not.toContain("unsafe-inline");
      expect(csp).not.toContain("unsafe-eval");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("cache-control")).toBe("no-store");
    }
  });

  it("pages have no inline script or style, and are phone-ready and landmarked", async () => {
    const clinic = await createClinic();
    const provider = await signedIn(clinic, { type: "400" });
    const member = await signedIn(clinic, { type: "200" });
    for (const res of [
      await call("GET", "/login"),
      await provider.call("GET", "/providers/dashboard"),
      await member.call("GET", "/u/clinic"),
      await provider.call("GET", "/logout"),
    ]) {
      const html = await res.text();
      expect(html.startsWith('<!doctype html><html lang="en">')).toBe(true);
      for (const tag of html.match(/<script[^>]*>/g) ?? [])
        expect(tag).toMatch(/ src="\/portal\/assets\/[\w.]+\.js"/);
      expect(html).not.toMatch(/<style|style="| on[a-z]+="/);
      expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1"/>');
      expect(html).toContain('<main id="main">');
      expect(html).toMatch(/<h1>[^<]+<\/h1>/);
    }
  });

  it("errors on page paths are pages; JSON endpoints keep JSON", async () => {
    const put = await call("PUT", "/u/clinic");
    expect(put.status).toBe(405);
    expect(put.headers.get("content-type")).toContain("text/html");
    expect(put.headers.get("allow")).toBe("GET, HEAD");
    const long = await call("GET", `/login?next=/${"a".repeat(3000)}`);
    expect(long.status).toBe(400);
    expect(await long.text()).toContain("<h1>Not possible</h1>");
    const rooms = await call("GET", "/providers/dashboard/rooms");
    expect(rooms.status).toBe(401);
    expect(await json(rooms)).toEqual({
      code: 401,
      error: "unauthorized",
      message: "Sign in first: no live portal session",
    });
  });

  it("the invalid sign-in link page is a styled page that says what to do next", async () => {
    const res = await call("GET", "/auth?sso_token=nope&next=/u/clinic");
    expect(res.status).toBe(401);
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    const html = await res.text();
    expect(html).toContain('<link rel="stylesheet" href="/portal/assets/portal.css"/>');
    expect(html).toContain("<h1>This sign-in link is not valid</h1>");
    expect(html).toContain("open the link again");
    expect(html).toContain('<a href="/login?next=%2Fu%2Fclinic">Sign in with your password</a>');
  });

  it("a used one-time link on the clinic's host names the clinic and signs in to it with the password form", async () => {
    const host = `${uniq("sso")}.clinic.test`;
    const clinic = await createClinic({ domain: host });
    const user = await sso(clinic);
    const link = `https://${host}/auth?sso_token=${user.token}&one_time_token=1`;
    const first = await exports.default.fetch(new Request(link, { redirect: "manual" }));
    expect(first.status).toBe(302);
    const again = await exports.default.fetch(new Request(link, { redirect: "manual" }));
    expect(again.status).toBe(401);
    const html = await again.text();
    expect(html).toContain(`<title>This sign-in link is not valid · Clinic ${clinic.code}</title>`);
    expect(html).toContain(`Go back to Clinic ${clinic.code}&#39;s portal`);
    expect(html).toContain(`href="/login?clinic=${clinic.code}"`);
  });
});

describe("GET /portal/assets/:file", () => {
  it("serves the stylesheet, scripts and icon with their types; nothing else", async () => {
    for (const [file, type] of [
      ["portal.css", "text/css"],
      ["dashboard.js", "text/javascript"],
      ["clinic.js", "text/javascript"],
      ["icon.svg", "image/svg+xml"],
    ]) {
      const res = await call("GET", `/portal/assets/${file}`);
      expect(res.status, file).toBe(200);
      expect(res.headers.get("content-type")).toContain(type);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("cache-control")).toBe("public, max-age=300");
    }
    for (const file of ["nope.js", "__proto__", "toString"]) {
      expect((await call("GET", `/portal/assets/${file}`)).status, file).toBe(404);
    }
  });

  it("the scripts never write HTML (textContent only) and heartbeat at under half the interval", async () => {
    const dashboard = await (await call("GET", "/portal/assets/dashboard.js")).text();
    const clinic = await (await call("GET", "/portal/assets/clinic.js")).text();
    for (const js of [dashboard, clinic])
      expect(js).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|eval\(/);
    expect(clinic).toContain("heartbeat * 1000 * 0.4");
    expect(clinic).toContain('"X-CSRF-Token"');
  });
});

describe("test-only clock (POST /__test/clock)", () => {
  async function fetchWith(vars: Record<string, string>, url: string, body: unknown) {
    const ctx = createExecutionContext();
    const req = buildRequest("POST", "/", { json: body });
    const res = await worker.fetch(
      new Request(url, { method: "POST", headers: req.headers, body: JSON.stringify(body) }) as Request<
        unknown,
        IncomingRequestCfProperties
      >,
      { ...env, ...vars },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    return res;
  }

  it("is absent by default (wrangler.toml never sets ALLOW_TEST_CLOCK)", async () => {
    expect((env as { ALLOW_TEST_CLOCK?: string }).ALLOW_TEST_CLOCK).toBeUndefined();
    const res = await call("POST", "/__test/clock", { json: { advance: 3600 } });
    expect(res.status).toBe(404);
    expect(await fetchWith({}, "http://localhost:8788/__test/clock", { advance: 3600 })).toHaveProperty(
      "status",
      404,
    );
  });

  it("with ALLOW_TEST_CLOCK=1 it moves the clock, on a loopback host only", async () => {
    try {
      const far = await fetchWith({ ALLOW_TEST_CLOCK: "1" }, "https://clinic.example/__test/clock", {
        advance: 3600,
      });
      expect(far.status).toBe(404);
      const before = Math.floor(Date.now() / 1000);
      const res = await fetchWith({ ALLOW_TEST_CLOCK: "1" }, "http://localhost:9/__test/clock", {
        advance: 3600,
      });
      expect(res.status).toBe(200);
      const body = await json<{ now: number; offset: number }>(res);
      expect(body.offset).toBe(3600);
      expect(body.now).toBeGreaterThanOrEqual(before + 3600);
      const reset = await fetchWith({ ALLOW_TEST_CLOCK: "1" }, "http://127.0.0.1:9/__test/clock", {
        reset: true,
      });
      expect((await json<{ offset: number }>(reset)).offset).toBe(0);
      expect(
        (await fetchWith({ ALLOW_TEST_CLOCK: "1" }, "http://localhost:9/__test/clock", { advance: -5 }))
          .status,
      ).toBe(400);
    } finally {
      setClock();
    }
  });
});
