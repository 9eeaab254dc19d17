/**
 * The clinic portal in a real browser (headless Chromium against `wrangler dev`): seed 001 use case 1
 * (a provider signs in through SSO and lands on the dashboard), patients who are alive appear on it
 * without a reload and disappear when their heartbeat lapses, the login form, and logout.
 * Time moves with the server's test clock and Playwright's page clock: nothing sleeps.
 */
import { mkdirSync } from "node:fs";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  advanceServerClock,
  assign,
  baseUrl,
  type Clinic,
  createClinic,
  createRoom,
  openBrowser,
  type Person,
  setPassword,
  sso,
  ssoLink,
  statusWithToken,
  type User,
} from "./support";

const SCREENSHOT = "test-results/portal-dashboard.png";

/** Runs the dashboard's next poll (page clock) and waits for an answer computed at or after `serverNow`. */
async function nextPoll(page: Page, serverNow = 0): Promise<void> {
  const answered = page.waitForResponse(
    async (res) =>
      new URL(res.url()).pathname === "/providers/dashboard/rooms" &&
      res.status() === 200 &&
      ((await res.json()) as { now: number }).now >= serverNow,
  );
  await page.clock.fastForward(5_000);
  await answered;
}

const isHeartbeat = (res: { url(): string; request(): { method(): string } }) =>
  new URL(res.url()).pathname === "/api_v3/users/alive" && res.request().method() === "POST";

describe("clinic portal in a real browser", () => {
  let clinic: Clinic;
  let room: { code: string };
  let doctor: User;
  let provider: Person;
  const opened: Person[] = [];

  async function browser(): Promise<Person> {
    const person = await openBrowser();
    opened.push(person);
    return person;
  }

  beforeAll(async () => {
    clinic = await createClinic();
    room = await createRoom(clinic, "Room Browser");
    doctor = await sso(clinic, 400, "Dana", "Doctor");
    await assign(clinic, doctor, room);
  });

  afterAll(async () => {
    for (const person of opened) await person.close();
  });

  it("provider SSO → /auth → the dashboard shows the provider's room", async () => {
    provider = await browser();
    const { page } = provider;
    await page.clock.install(); // the dashboard's poll timer runs on the page clock the tests move
    await page.goto(ssoLink(doctor, "/providers/dashboard"));
    expect(new URL(page.url()).pathname).toBe("/providers/dashboard");
    await page.getByRole("heading", { level: 1, name: "Waiting rooms" }).waitFor();
    expect(await page.getByRole("heading", { level: 2 }).allTextContents()).toEqual(["Room Browser"]);
    expect(await page.getByText("Signed in as Dana Doctor").count()).toBe(1);
    expect(await page.locator(".empty").isVisible()).toBe(true);
    // The SSO token is not the session: the browser holds an HttpOnly cookie of its own.
    const cookie = (await provider.context.cookies()).find((c) => c.name === "ce_session");
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Lax", secure: true });
    expect(cookie?.value).not.toBe(doctor.token);
    expect(provider.errors).toEqual([]);
  });

  it("a patient who is alive appears on the dashboard without a reload and disappears after the heartbeat lapses", async () => {
    const pat = await sso(clinic, 200, "Pat", "Waiting");
    await assign(clinic, pat, room);
    const elsewhere = await sso(clinic, 200, "Other", "Room"); // alive, but in no room of the provider
    await assign(clinic, elsewhere, await createRoom(clinic, "Room Elsewhere"));
    const other = await browser();
    await other.page.goto(ssoLink(elsewhere, "/u/clinic"));
    await other.page.locator('#checkin[data-state="in"]').waitFor();

    const { page: dashboard } = provider;
    await dashboard.evaluate(() => {
      (window as unknown as { sameDocument: boolean }).sameDocument = true;
    });

    const patient = await browser();
    await patient.page.clock.install(); // its heartbeat timer too
    const firstBeat = patient.page.waitForResponse(isHeartbeat);
    await patient.page.goto(ssoLink(pat, "/u/clinic"));
    expect((await firstBeat).status()).toBe(200);
    await patient.page.locator('#checkin[data-state="in"]').waitFor();
    expect(await patient.page.locator("#checkin").textContent()).toContain("You are checked in");
    expect(await patient.page.locator("#room-name").textContent()).toBe("Room Browser");

    await nextPoll(dashboard);
    const row = dashboard.locator(`li[data-user="${pat.id}"]`);
    await row.waitFor();
    expect(await row.locator(".name").textContent()).toBe("Pat Waiting");
    expect(await row.locator(".seen").textContent()).toMatch(/^last seen (just now|\d+ s ago)$/);
    expect(await dashboard.locator("li[data-user]").count()).toBe(1); // not the patient of another room
    expect(await dashboard.locator(".empty").isVisible()).toBe(false);
    mkdirSync("test-results", { recursive: true });
    await dashboard.screenshot({ path: SCREENSHOT, fullPage: true });

    // The waiting page beats at under half the heartbeat (300 s): 200 s on it has beaten again, so 400 s
    // after the first beat (which alone lasted until 300 s) the patient is still listed, seen 200 s ago.
    await advanceServerClock(200);
    const secondBeat = patient.page.waitForResponse(isHeartbeat);
    await patient.page.clock.fastForward(200_000);
    expect((await secondBeat).status()).toBe(200);
    const { now } = await advanceServerClock(200);
    await nextPoll(dashboard, now);
    await row.locator(".seen", { hasText: "last seen 3 min ago" }).waitFor();

    // The patient closes the page: once the last heartbeat lapses, the dashboard drops them by itself.
    await patient.close();
    opened.splice(opened.indexOf(patient), 1);
    const later = await advanceServerClock(301);
    await nextPoll(dashboard, later.now);
    await row.waitFor({ state: "detached" });
    expect(await dashboard.locator(".empty").isVisible()).toBe(true);
    expect(
      await dashboard.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument),
    ).toBe(true);
    expect(provider.errors).toEqual([]);
  });

  it("login form: a wrong password is refused, the right one signs in and returns to the page asked for", async () => {
    const member = await sso(clinic, 200, "Lou", "Member");
    await assign(clinic, member, room);
    await setPassword(member, "correct horse battery staple");
    const person = await browser();
    const { page } = person;

    await page.goto(`${baseUrl}/u/clinic`);
    const login = new URL(page.url());
    expect(login.pathname).toBe("/login");
    expect(login.searchParams.get("next")).toBe("/u/clinic");

    await page.getByLabel("Clinic code").fill(clinic.code);
    await page.getByLabel("Username or email").fill(member.username);
    await page.getByLabel("Password", { exact: true }).fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").waitFor();
    expect(await page.getByRole("alert").textContent()).toBe("Invalid username or password");
    expect(new URL(page.url()).pathname).toBe("/login");
    expect((await person.context.cookies()).some((c) => c.name === "ce_session")).toBe(false);
    expect(await page.getByLabel("Username or email").inputValue()).toBe(member.username);

    await page.getByLabel("Password", { exact: true }).fill("correct horse battery staple");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${baseUrl}/u/clinic`);
    await page.locator('#checkin[data-state="in"]').waitFor();

    // A patient is not a provider: the dashboard answers a 403 page.
    const forbidden = await page.goto(`${baseUrl}/providers/dashboard`);
    expect(forbidden?.status()).toBe(403);
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Not available");
    expect(person.errors).toEqual([]);
  });

  it("logout ends the session: the cookie is cleared and its token no longer works anywhere", async () => {
    const person = await browser();
    const { page } = person;
    await page.goto(ssoLink(doctor, "/providers/dashboard"));
    const token = (await person.context.cookies()).find((c) => c.name === "ce_session")?.value ?? "";
    expect(await statusWithToken("/api_v3/me", token)).toBe(200);

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(`${baseUrl}/logout?clinic=${clinic.code}`);
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("You are signed out");
    expect((await person.context.cookies()).some((c) => c.name === "ce_session")).toBe(false);
    expect(await statusWithToken("/api_v3/me", token)).toBe(401);

    await page.goto(`${baseUrl}/providers/dashboard`);
    expect(new URL(page.url()).pathname).toBe("/login");
    // Even replaying the old cookie does not bring the session back.
    await person.context.addCookies([
      { name: "ce_session", value: token, url: baseUrl, httpOnly: true, secure: true, sameSite: "Lax" },
    ]);
    await page.goto(`${baseUrl}/providers/dashboard`);
    expect(new URL(page.url()).pathname).toBe("/login");
    expect(person.errors).toEqual([]);
  });
});
