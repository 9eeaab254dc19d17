/**
 * The API reference at /docs in a real browser: it renders the document offline (every request it makes
 * goes to this origin; anything else is refused and recorded), without a CSP violation or script error,
 * and a signed-in portal user's HttpOnly session cookie stays out of the page's reach.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseUrl, createClinic, openBrowser, type Person, sso, ssoLink } from "./support";

describe("/docs in the browser", () => {
  let person: Person;
  const elsewhere: string[] = [];
  const requested: string[] = [];

  beforeAll(async () => {
    person = await openBrowser();
    const origin = new URL(baseUrl).origin;
    // Offline: only this origin answers.
    await person.context.route(
      (url) => url.origin !== origin && url.protocol !== "data:" && url.protocol !== "blob:",
      (route) => {
        elsewhere.push(route.request().url());
        return route.abort();
      },
    );
    person.page.on("request", (req) => requested.push(req.url()));
  });

  afterAll(async () => {
    await person?.close();
  });

  it("renders the operations of /openapi.json from this origin only", async () => {
    const { page, errors } = person;
    const clinic = await createClinic();
    const doctor = await sso(clinic, 400, "Dana", "Docs");
    await page.goto(ssoLink(doctor, "/providers/dashboard"));
    await page.waitForURL(/\/providers\/dashboard$/);
    // Let the dashboard finish loading (its icon, styles): leaving earlier aborts them, which would count
    // as failed requests of the page.
    await page.waitForLoadState("load");
    // What the dashboard had in flight (its icon, its polled list) is aborted when the page leaves: those
    // failures are the dashboard's, not the reference page's.
    const fromDashboard = (e: string) => /^failed .*\/(portal\/assets|providers)\//.test(e);

    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${baseUrl}/docs`);
    // The sidebar lists the document's tags; opening one shows its operations' summaries.
    await page.getByText("api_v3: users", { exact: true }).first().click({ timeout: 30_000 });
    await page
      .getByText(/^Single sign-on/)
      .first()
      .waitFor({ timeout: 30_000 });
    await page
      .getByText(/^Single sign-on/)
      .first()
      .click();
    await page.getByText("Patient SSO (type 200", { exact: false }).first().waitFor({ state: "attached" });
    expect(elsewhere).toEqual([]);
    expect(requested.some((u) => u.endsWith("/openapi.json"))).toBe(true);
    expect(requested.some((u) => /\/docs\/assets\/scalar-[\d.]+\.js$/.test(u))).toBe(true);
    expect(errors.filter((e) => !fromDashboard(e))).toEqual([]);
  });

  it("cannot read the portal's session cookie", async () => {
    const { page } = person;
    const cookies = await person.context.cookies(baseUrl);
    expect(cookies.find((c) => c.name === "ce_session")?.httpOnly).toBe(true);
    expect(await page.evaluate(() => document.cookie)).not.toContain("ce_session");
  });
});
