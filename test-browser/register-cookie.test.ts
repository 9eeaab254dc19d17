/**
 * The Ionic/Virgil healthcare demo's web client (VirgilSecurity/ionic-demo-healthcare,
 * client/src/Connection.ts) in a real browser (issue 17 #3). A page of the worker's own origin makes that
 * client's calls exactly as it does (relative URLs, no Authorization header, default fetch credentials)
 * against the demo clinic (the default clinic, "shared", patients self-registering: test-browser/server.ts)
 * and sees its state through the `__Host-ce_care` cookie POST /register sets. A page of another origin of
 * the same site (another localhost port: the SameSite=Strict cookie still goes along) can neither read
 * nor write.
 */
import { createServer, type Server } from "node:http";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DEMO_CLINIC, freePort } from "./server";
import { baseUrl, openBrowser, type Person, uniq } from "./support";

const demoKey = inject("demoKey");
const COOKIE = "__Host-ce_care";

/**
 * Connection.ts's calls, run in the page: registerUser, fetchState, updateState (one field), reset. The
 * fetches are the client's own; `extraRegisterHeaders` is only for a physician, whom the clinic's server
 * registers (the demo clinic lets patients alone register themselves).
 */
function runDemoClient(
  page: Page,
  params: { email: string; groupName: string; firstName: string; lastName: string },
  write: Record<string, string>,
  extraRegisterHeaders: Record<string, string> = {},
) {
  return page.evaluate(
    async ({ params, write, extraRegisterHeaders }) => {
      const outcome = async (res: Response) => ({
        status: res.status,
        body: (await res.json()) as Record<string, unknown>,
      });
      const registered = await outcome(
        await fetch("/register", {
          method: "POST",
          headers: { "Content-Type": "application/json", ...extraRegisterHeaders },
          body: JSON.stringify(params),
        }),
      );
      const before = await outcome(await fetch("/state"));
      const updated = await outcome(
        await fetch("/state", {
          method: "PUT",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(write),
        }),
      );
      const after = await outcome(await fetch("/state"));
      const reset = await outcome(await fetch("/state", { method: "DELETE" }));
      return { registered, before, updated, after, reset, pageCookies: document.cookie };
    },
    { params, write, extraRegisterHeaders },
  );
}

describe("the seed's demo client (Connection.ts) in a real browser", () => {
  let foreignServer: Server;
  let foreignOrigin: string;
  let patient: Person;

  beforeAll(async () => {
    const port = await freePort();
    foreignServer = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(`<!doctype html><title>Another origin</title><a href="${baseUrl}/state">the record</a>`);
    });
    await new Promise<void>((done) => foreignServer.listen(port, "127.0.0.1", done));
    foreignOrigin = `http://localhost:${port}`;
    patient = await openBrowser();
  });

  afterAll(async () => {
    await patient?.close();
    await new Promise<void>((done) => foreignServer.close(() => done()));
  });

  it("a patient's page of the worker's origin registers, reads and writes its state", async () => {
    const { page, context } = patient;
    await page.goto(`${baseUrl}/login`); // any page of the worker's origin (its CSP allows connect-src 'self')
    const note = `asthma ${uniq("n")}`;
    const result = await runDemoClient(
      page,
      { email: `${uniq("p")}@example.test`, groupName: "patients", firstName: "Pat", lastName: "Ient" },
      { medical_history: note },
    );
    expect(result.registered.status).toBe(200);
    expect(typeof result.registered.body.assertion).toBe("object");
    expect(result.before.status).toBe(200);
    expect(result.updated).toMatchObject({ status: 200, body: { medical_history: note } });
    expect(result.after).toMatchObject({ status: 200, body: { medical_history: note } });
    // Resetting stays a physician's right (next test): the cookie authenticated the patient, the role decides.
    expect(result.reset).toEqual({
      status: 403,
      body: { error: "Only clinic admins and physicians can reset the care record" },
    });
    // The page's scripts cannot read the session; the browser holds it with the attributes.
    expect(result.pageCookies).not.toContain(COOKIE);
    const cookie = (await context.cookies(baseUrl)).find((c) => c.name === COOKIE);
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict", path: "/" });
    expect(cookie?.value).toBe(result.registered.body.token);
    expect(patient.errors).toEqual([`403 ${baseUrl}/state`]);
    patient.errors.length = 0;
  });

  it("a physician's page resets the shared record (Connection.reset)", async () => {
    const physician = await openBrowser();
    try {
      await physician.page.goto(`${baseUrl}/login`);
      const result = await runDemoClient(
        physician.page,
        { email: `${uniq("d")}@example.test`, groupName: "physicians", firstName: "Doc", lastName: "Tor" },
        { prescription: "salbutamol" },
        { "X-AccountCode": DEMO_CLINIC, "X-ApiKey": demoKey },
      );
      expect(result.registered.status).toBe(200);
      expect(result.updated).toMatchObject({ status: 200, body: { prescription: "salbutamol" } });
      expect(result.reset.status).toBe(200);
      expect(Object.keys(result.reset.body)).toEqual(["version"]);
      expect(physician.errors).toEqual([]);
    } finally {
      await physician.close();
    }
  });

  it("a page of another origin cannot read or write with the patient's cookie", async () => {
    const { page, context } = patient;
    await page.goto(`${baseUrl}/login`);
    const note = `private ${uniq("n")}`;
    const put = await page.evaluate(async (note) => {
      const res = await fetch("/state", {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ medical_history: note }),
      });
      return res.status;
    }, note);
    expect(put).toBe(200);

    const foreign = await context.newPage(); // same browser, so the cookie jar holds the patient's cookie
    try {
      await foreign.goto(`${foreignOrigin}/`);
      const attempts = await foreign.evaluate(async (base) => {
        const attempt = async (init: RequestInit) => {
          try {
            const res = await fetch(`${base}/state`, { credentials: "include", ...init });
            return `status ${res.status}: ${await res.text()}`;
          } catch (err) {
            return `blocked (${(err as Error).name})`;
          }
        };
        return {
          read: await attempt({}),
          write: await attempt({
            method: "PUT",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ medical_history: "forged" }),
          }),
          reset: await attempt({ method: "DELETE" }),
        };
      }, baseUrl);
      // The browser lets the page read nothing, and sends no write (CORS allows no credentials).
      expect(attempts).toEqual({
        read: "blocked (TypeError)",
        write: "blocked (TypeError)",
        reset: "blocked (TypeError)",
      });
      // A link to /state (a same-site navigation: the SameSite=Strict cookie goes along) reaches the server,
      // which refuses it: Sec-Fetch-Site is same-site, not same-origin.
      const [res] = await Promise.all([
        foreign.waitForResponse((r) => new URL(r.url()).pathname === "/state"),
        foreign.click("a"),
      ]);
      expect((await res.request().allHeaders())["sec-fetch-site"]).toBe("same-site");
      expect((await res.request().allHeaders()).cookie).toContain(COOKIE);
      expect(res.status()).toBe(403);
      expect(await res.json()).toEqual({
        error: "The session cookie is accepted only from pages of this origin",
      });
    } finally {
      await foreign.close();
    }

    // Nothing changed: the patient's own page still sees its note.
    const state = await page.evaluate(async () => (await fetch("/state")).json());
    expect(state).toMatchObject({ medical_history: note });
  });
});
