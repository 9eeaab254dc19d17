/**
 * Every page finished (issue 15): error pages (invalid SSO link, 403, 404, 405, 400) are styled HTML pages
 * naming the clinic when it is known, unknown page-ish paths get the HTML 404 when a browser asks for HTML
 * (API paths keep their JSON), the login form asks for no clinic code when the link or the host names the
 * clinic, and the two-factor step page has the same layout.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import worker from "../../src/index";
import type { Bindings } from "../../src/types";
import { account, act, PASSWORD, totp } from "../accounts/support";
import { faulty, fetchWith } from "../faults/inject";
import { ADMIN_AUTH, buildRequest, call, clock, createClinic, env, json, uniq } from "../helpers";
import { loginForm, ORIGIN, signedIn } from "./support";

afterEach(() => clock.reset());

const HTML = { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" };

/** The marks of a finished page: the portal's stylesheet, a <main>, one <h1>, the page CSP. */
function expectStyledPage(res: Response, html: string) {
  expect(res.headers.get("content-type")).toContain("text/html");
  expect(res.headers.get("content-security-policy")).toContain("default-src 'none'; script-src 'self'");
  expect(html.startsWith('<!doctype html><html lang="en">')).toBe(true);
  expect(html).toContain('<link rel="stylesheet" href="/portal/assets/portal.css"/>');
  expect(html).toContain('<main id="main">');
  expect(html.match(/<h1>/g)?.length).toBe(1);
  expect(html).not.toMatch(/<style|style="| on[a-z]+="/);
}

describe("404 and 405 as pages", () => {
  it("an unknown page-ish path asked for as HTML is the portal's 404 page; asked for as JSON it stays JSON", async () => {
    for (const path of ["/dashboard/x", "/u/clinic/nothing", "/providers", "/some/where?x=1"]) {
      const res = await call("GET", path, { headers: HTML });
      expect(res.status, path).toBe(404);
      const html = await res.text();
      expectStyledPage(res, html);
      expect(html).toContain("<h1>Page not found</h1>");
      expect(html).toContain("There is no page at this address.");
      expect(html).toContain('<a href="/">Go to your page</a>');
    }
    const plain = await call("GET", "/dashboard/x");
    expect(plain.status).toBe(404);
    expect(await json(plain)).toEqual({ code: 404, error: "route_not_found", message: "No such endpoint" });
  });

  it("API paths keep their family's JSON even when a browser asks for HTML", async () => {
    const cases: [string, unknown][] = [
      ["/api_v3/nothing", { code: 404, message: "No such endpoint" }],
      ["/register/nothing", { error: "No such endpoint" }],
      ["/admin/nothing", { code: 404, error: "route_not_found", message: "No such endpoint" }],
      ["/portal/assets/nothing.js", { code: 404, error: "not_found", message: "No such asset" }],
      ["/portal/records/1/nothing", { code: 404, error: "route_not_found", message: "No such endpoint" }],
    ];
    for (const [path, body] of cases) {
      const res = await call("GET", path, { headers: { ...HTML, ...ADMIN_AUTH } });
      expect(res.status, path).toBe(404);
      expect(res.headers.get("content-type"), path).toContain("application/json");
      expect(await json(res), path).toEqual(body);
    }
  });

  it("a signed-in user's 404 page names their clinic", async () => {
    const clinic = await createClinic();
    const provider = await signedIn(clinic, { type: "400" });
    const res = await provider.call("GET", "/providers/patients/not-a-number", { headers: HTML });
    expect(res.status).toBe(404);
    const html = await res.text();
    expectStyledPage(res, html);
    expect(html).toContain(`<title>Page not found · Clinic ${clinic.code}</title>`);
    expect(html).toContain(`<span>Clinic ${clinic.code}</span>`);
  });

  it("a wrong method on a page is a styled 405 page", async () => {
    const res = await call("DELETE", "/login");
    expect(res.status).toBe(405);
    expectStyledPage(res, await res.text());
  });
});

describe("403 page", () => {
  it("is styled, names the clinic, offers the user's own page and sign-out", async () => {
    const clinic = await createClinic();
    const member = await signedIn(clinic, { type: "200" });
    const res = await member.call("GET", "/providers/dashboard");
    expect(res.status).toBe(403);
    const html = await res.text();
    expectStyledPage(res, html);
    expect(html).toContain("<h1>Not available</h1>");
    expect(html).toContain("This page is for providers.");
    expect(html).toContain(`<title>Not available · Clinic ${clinic.code}</title>`);
    expect(html).toContain('<a href="/u/clinic">Go to your page</a>');
    expect(html).toContain('<button type="submit" class="secondary">Sign out</button>');
  });
});

describe("the sign-in form and the clinic", () => {
  it("asks for no clinic code when the link names a clinic, and names it", async () => {
    const clinic = await createClinic();
    const { html } = await loginForm(`?clinic=${clinic.code}`);
    expect(html).not.toContain("Clinic code");
    expect(html).toContain(`<input type="hidden" name="clinic" value="${clinic.code}"/>`);
    expect(html).toContain(`<h1>Sign in to Clinic ${clinic.code}</h1>`);
    expect(html).toContain(`<title>Sign in · Clinic ${clinic.code}</title>`);
  });

  it("asks for no clinic code on the clinic's own host", async () => {
    const host = `${uniq("portal")}.clinic.test`;
    const clinic = await createClinic({ domain: host });
    const res = await exports.default.fetch(new Request(`https://${host}/login`, { redirect: "manual" }));
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).not.toContain("Clinic code");
    expect(html).toContain(`<input type="hidden" name="clinic" value="${clinic.code}"/>`);
    expect(html).toContain(`<h1>Sign in to Clinic ${clinic.code}</h1>`);
  });

  it("a host two clinics claim names neither: the form asks for the clinic code", async () => {
    const host = `${uniq("shared")}.clinic.test`;
    await createClinic({ domain: host });
    await createClinic({ domain: host });
    const res = await exports.default.fetch(new Request(`https://${host}/login`, { redirect: "manual" }));
    const html = await res.text();
    expect(html).toContain("Clinic code");
    expect(html).toContain("<h1>Sign in</h1>");
  });

  it("an unknown clinic in the link keeps the field, with the code typed in", async () => {
    const { html } = await loginForm("?clinic=nosuchclinic");
    expect(html).toMatch(/<label>Clinic code<input name="clinic" value="nosuchclinic"/);
  });

  it("a known clinic's form signs in without the field, and a wrong password keeps the field away", async () => {
    const clinic = await createClinic();
    const member = await signedIn(clinic, { type: "200" });
    await call("POST", "/api_v3/me", {
      headers: { "X-ApiToken": member.user.token },
      json: { password: "correct horse battery" },
    });
    const form = await loginForm(`?clinic=${clinic.code}`);
    const wrong = await call("POST", "/login", {
      headers: { cookie: `__Host-ce_login=${form.nonce}`, origin: ORIGIN },
      form: { csrf: form.csrf, clinic: clinic.code, username: member.user.username, password: "nope nope" },
    });
    expect(wrong.status).toBe(401);
    const html = await wrong.text();
    expect(html).not.toContain("Clinic code");
    expect(html).toContain(`<h1>Sign in to Clinic ${clinic.code}</h1>`);
    const right = await call("POST", "/login", {
      headers: { cookie: `__Host-ce_login=${form.nonce}`, origin: ORIGIN },
      form: {
        csrf: form.csrf,
        clinic: clinic.code,
        username: member.user.username,
        password: "correct horse battery",
      },
    });
    expect(right.status).toBe(303);
    expect(right.headers.get("location")).toBe("/u/clinic");
  });
});

describe("the two-factor step page", () => {
  it("has the same layout as the other pages and names the clinic", async () => {
    const clinic = await createClinic();
    const t = { code: clinic.code, headers: { "X-AccountCode": clinic.code } };
    const a = await account(t);
    const setup = await json<{ secret: string }>(await act(t, { action: "setupMFA", enable: true }, a.auth));
    await act(t, { action: "verifyMFASecret", totpToken: await totp(setup.secret) }, a.auth);
    const form = await loginForm(`?clinic=${clinic.code}`);
    const res = await call("POST", "/login", {
      headers: { cookie: `__Host-ce_login=${form.nonce}`, origin: ORIGIN },
      form: { csrf: form.csrf, clinic: clinic.code, username: a.email as string, password: PASSWORD },
    });
    expect(res.status).toBe(200);
    const html = await res.text();
    expectStyledPage(res, html);
    expect(html).toContain("<h1>Enter your two-factor code</h1>");
    expect(html).toContain(`<title>Two-factor code · Clinic ${clinic.code}</title>`);
    expect(html).toContain(`type the code it shows for Clinic ${clinic.code}`);
    expect(html).toContain(`<a href="/login?clinic=${clinic.code}">Start again</a>`);
  });
});

describe("the clinic's name on every page", () => {
  it("dashboard, waiting page and sign-out page carry it in the title and the header", async () => {
    const clinic = await createClinic();
    const provider = await signedIn(clinic, { type: "400" });
    const member = await signedIn(clinic, { type: "200" });
    for (const [b, path] of [
      [provider, "/providers/dashboard"],
      [member, "/u/clinic"],
      [provider, "/logout"],
    ] as const) {
      const html = await (await b.call("GET", path)).text();
      expect(html, path).toMatch(new RegExp(`<title>[^<]+ · Clinic ${clinic.code}</title>`));
      expect(html, path).toContain(`<p class="brand"><span>Clinic ${clinic.code}</span></p>`);
      // The scripts' "Sign in again" links go back to the same clinic's form (no clinic code asked).
      expect(html, path).toContain(`<meta name="clinic-code" content="${clinic.code}"/>`);
    }
    for (const file of ["dashboard.js", "clinic.js", "record.js"]) {
      const script = await (await call("GET", `/portal/assets/${file}`)).text();
      expect(script, file).toContain('query.set("clinic", clinic.content);');
      expect(script, file).toContain("link.href = signInAgain();");
    }
  });

  it("a failure on a page is a styled 500 page, with a reference and no internals", async () => {
    const clinic = await createClinic();
    const provider = await signedIn(clinic, { type: "400" });
    // D1 breaks in a way nobody planned for (not a transient platform error): the answer is a 500 page.
    const broken = {
      ...(env as Bindings),
      DB: new Proxy(env.DB, {
        get(target, prop) {
          if (prop === "prepare") {
            return () => {
              throw new Error("SQLITE_CORRUPT: secret internals");
            };
          }
          const value = Reflect.get(target, prop);
          return typeof value === "function" ? value.bind(target) : value;
        },
      }),
    };
    const ctx = createExecutionContext();
    const req = buildRequest("GET", "/providers/dashboard", {
      headers: { ...HTML, cookie: `ce_session=${provider.cookie}` },
    });
    const res = await worker.fetch(req as Request<unknown, IncomingRequestCfProperties>, broken, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(500);
    const html = await res.text();
    expectStyledPage(res, html);
    expect(html).toContain("<h1>Something went wrong</h1>");
    expect(html).toContain(`reference ${res.headers.get("x-request-id")}`);
    expect(html).not.toContain("SQLITE");
  });

  it("a transient storage failure on a page is a styled 503 page with Retry-After", async () => {
    const clinic = await createClinic();
    const member = await signedIn(clinic, { type: "200" });
    const f = faulty({ store: "d1" });
    const req = buildRequest("GET", "/u/clinic", {
      headers: { ...HTML, cookie: `ce_session=${member.cookie}` },
    });
    const res = await fetchWith(f, req);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    const html = await res.text();
    expectStyledPage(res, html);
    expect(html).toContain("<h1>Something went wrong</h1>");
    expect(html).not.toContain("D1_ERROR");
  });
});
