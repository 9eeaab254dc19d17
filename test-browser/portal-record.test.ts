/**
 * The portal from the waiting list to the care record, in a real browser (issue 15): provider SSO → the
 * dashboard → a patient appears → open the record (keyboard only) → write a note → the patient's page
 * shows it live → the patient's access log shows the provider's read; a concurrent change asks to merge.
 * Every page passes axe-core (no serious or critical violation), is keyboard-usable, and is screenshotted
 * at desktop and phone widths into test-results/ (git-ignored).
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addToCareTeam,
  assign,
  axeViolations,
  baseUrl,
  type Clinic,
  createBrandedClinic,
  createRoom,
  focused,
  openBrowser,
  type Person,
  register,
  screenshots,
  ssoLink,
  totpNow,
  twoFactorUser,
  type User,
  writeRecord,
} from "./support";

const ACCENT = "#6b2d8c";

/** axe on the page, and its screenshots: both for every page the tests visit. */
async function checkPage(page: Page, name: string): Promise<void> {
  const violations = await axeViolations(page);
  expect(violations, `${name}: ${JSON.stringify(violations, null, 1)}`).toEqual([]);
  await screenshots(page, name);
}

/** Presses Tab until the focused element matches, at most `max` times; returns the stops on the way. */
async function tabTo(page: Page, matches: (f: Awaited<ReturnType<typeof focused>>) => boolean, max = 12) {
  const stops: Awaited<ReturnType<typeof focused>>[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    const f = await focused(page);
    stops.push(f);
    expect(f.outline, `focus on ${f.tag} "${f.name}" must be visible`).toBe(true);
    if (matches(f)) return stops;
  }
  throw new Error(`not reached by Tab: ${JSON.stringify(stops)}`);
}

async function nextPoll(page: Page): Promise<void> {
  const answered = page.waitForResponse(
    (res) => new URL(res.url()).pathname === "/providers/dashboard/rooms" && res.status() === 200,
  );
  await page.clock.fastForward(5_000);
  await answered;
}

describe("from the waiting list to the care record", () => {
  let clinic: Clinic;
  let room: { code: string };
  let doctor: User;
  let patient: User;
  let provider: Person;
  let patientBrowser: Person;
  const opened: Person[] = [];

  async function browser(): Promise<Person> {
    const person = await openBrowser();
    opened.push(person);
    return person;
  }

  beforeAll(async () => {
    clinic = await createBrandedClinic({ accentColor: ACCENT });
    room = await createRoom(clinic, "Room Record");
    doctor = await register(clinic, "physicians", "Dana", "Doctor");
    patient = await register(clinic, "patients", "Pat", "Waiting");
    await assign(clinic, doctor, room);
    await assign(clinic, patient, room);
    await addToCareTeam(clinic, patient, doctor);
  });

  afterAll(async () => {
    for (const person of opened) await person.close();
  });

  it("provider SSO → the dashboard, in the clinic's name and colour; axe and keyboard pass", async () => {
    provider = await browser();
    const { page } = provider;
    await page.clock.install();
    await page.goto(ssoLink(doctor, "/providers/dashboard"));
    await page.getByRole("heading", { level: 1, name: "Waiting rooms" }).waitFor();
    expect(await page.title()).toBe(`Waiting rooms · Clinic ${clinic.code}`);
    expect(await page.locator(".brand").textContent()).toBe(`Clinic ${clinic.code}`);
    // The accent colour comes from the clinic's stylesheet (no inline style).
    const accent = await page.evaluate(
      () => getComputedStyle(document.querySelector(".site") as Element).borderBottomColor,
    );
    expect(accent).toBe("rgb(107, 45, 140)");
    await checkPage(page, "dashboard-empty");
    expect(provider.errors).toEqual([]);
  });

  it("the patient checks in and sees their record; the dashboard lists them without a reload", async () => {
    patientBrowser = await browser();
    const { page } = patientBrowser;
    await page.goto(ssoLink(patient, "/u/clinic"));
    await page.locator('#checkin[data-state="in"]').waitFor();
    expect(await page.locator("#checkin").textContent()).toContain("You are checked in");
    await page.getByRole("heading", { level: 2, name: "Your care record" }).waitFor();
    await page.locator("#record-live", { hasText: "Live:" }).waitFor();
    await page.locator("#history-empty", { hasText: "No changes yet." }).waitFor();
    await page.evaluate(() => {
      (window as unknown as { sameDocument: boolean }).sameDocument = true;
    });
    await checkPage(page, "waiting-room");

    const dashboard = provider.page;
    await nextPoll(dashboard);
    const row = dashboard.locator(`li[data-user="${patient.id}"]`);
    await row.waitFor();
    expect(await row.getByRole("link").textContent()).toBe("Pat Waiting");
    // The updating list is a polite live region of arrivals and departures.
    expect(await dashboard.locator("#rooms").getAttribute("aria-live")).toBe("polite");
    expect(await dashboard.locator("#rooms").getAttribute("aria-relevant")).toBe("additions removals");
    await checkPage(dashboard, "dashboard");
    expect(patientBrowser.errors).toEqual([]);
  });

  it("keyboard only: the provider tabs to the patient and opens the record; writes a note with Tab and Enter", async () => {
    const { page } = provider;
    await page.locator("body").focus();
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    // Focus order: the skip link, Sign out, then the waiting patient.
    const stops = await tabTo(page, (f) => f.tag === "a" && f.name === "Pat Waiting");
    expect(stops.map((s) => s.name)).toEqual(["Skip to content", "Sign out", "Pat Waiting"]);
    await page.keyboard.press("Enter");
    await page.waitForURL(`${baseUrl}/providers/patients/${patient.id}`);
    await page.getByRole("heading", { level: 1, name: "Pat Waiting" }).waitFor();
    await page.locator("#record-live", { hasText: "Live:" }).waitFor();
    await checkPage(page, "record");

    const notes = page.getByLabel("Office visit notes");
    await tabTo(page, (f) => f.id === "f-office_visit_notes");
    expect(await notes.evaluate((el) => el === document.activeElement)).toBe(true);
    await page.keyboard.type("Seen today: rest and fluids.");
    await tabTo(page, (f) => f.tag === "button" && f.name === "Save office visit notes", 2);
    await page.keyboard.press("Enter");
    await page
      .locator("#s-office_visit_notes", { hasText: "Saved office visit notes (version 1)." })
      .waitFor();
    await page
      .locator("#history li", { hasText: "Dana Doctor (physician) changed office visit notes" })
      .waitFor();
    expect(provider.errors).toEqual([]);
  });

  it("the patient's page shows the note live, and the access log shows the provider's read", async () => {
    const { page } = patientBrowser;
    const note = page.locator('p.text[data-field="office_visit_notes"]');
    await note.filter({ hasText: "Seen today: rest and fluids." }).waitFor();
    expect(await page.locator("#record-version").textContent()).toBe("1");
    const log = page.locator("#access-log li");
    await log.filter({ hasText: "Dana Doctor (physician) read medical history" }).first().waitFor();
    await log.filter({ hasText: "Dana Doctor (physician) changed office visit notes" }).waitFor();
    expect(await page.locator("#access-log").getAttribute("aria-live")).toBe("polite");
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(
      true,
    );
    await checkPage(page, "waiting-room-record");
    expect(patientBrowser.errors).toEqual([]);
  });

  it("a change by someone else while the provider edits is shown and merged, never overwritten", async () => {
    const { page } = provider;
    const box = page.getByLabel("Prescription");
    await box.fill("Ibuprofen 400 mg");
    // The same physician on another device saves a prescription first.
    await writeRecord(clinic, doctor, patient.id, { prescription: "Paracetamol 500 mg" });
    const conflict = page.locator("#c-prescription");
    await conflict.waitFor({ state: "visible" });
    expect(await conflict.locator("[data-newer]").textContent()).toBe("Paracetamol 500 mg");
    expect(await box.inputValue()).toBe("Ibuprofen 400 mg"); // not overwritten
    await checkPage(page, "record-conflict");
    await page.getByRole("button", { name: "Add their text below mine" }).click();
    expect(await box.inputValue()).toBe("Ibuprofen 400 mg\n\nParacetamol 500 mg");
    await page.getByRole("button", { name: "Save prescription" }).click();
    await page.locator("#s-prescription", { hasText: "Saved prescription (version 3)." }).waitFor();
    expect(await conflict.isHidden()).toBe(true);
    // The patient's page has the merged text, live.
    await patientBrowser.page
      .locator('p.text[data-field="prescription"]', { hasText: "Ibuprofen 400 mg" })
      .waitFor();
    expect(provider.errors).toEqual([]);
  });

  it("the patient edits their medical history with the keyboard; the provider sees it live", async () => {
    const { page } = patientBrowser;
    await page.getByLabel("Medical history").focus();
    await page.keyboard.type("Asthma since childhood.");
    await page.keyboard.press("Tab");
    expect(await focused(page)).toMatchObject({ tag: "button", name: "Save medical history", outline: true });
    await page.keyboard.press("Enter");
    await page.locator("#s-medical_history", { hasText: "Saved medical history" }).waitFor();
    await provider.page
      .locator('p.text[data-field="medical_history"]', { hasText: "Asthma since childhood." })
      .waitFor();
    expect(patientBrowser.errors).toEqual([]);
    expect(provider.errors).toEqual([]);
  });

  it("signing out in another tab ends the record page's live socket; it offers signing in again to the clinic", async () => {
    const tab = await provider.context.newPage();
    await tab.goto(`${baseUrl}/logout`);
    await tab.getByRole("button", { name: "Sign out" }).click();
    await tab.waitForURL((url) => url.pathname === "/logout");
    await tab.close();
    const link = provider.page.locator("#record-live").getByRole("link", { name: "Sign in again" });
    await link.waitFor();
    expect(await provider.page.locator("#record-live").textContent()).toBe(
      "Your session has ended. Sign in again",
    );
    const href = new URL((await link.getAttribute("href")) ?? "", baseUrl);
    expect(href.pathname).toBe("/login");
    expect(href.searchParams.get("clinic")).toBe(clinic.code);
    expect(href.searchParams.get("next")).toBe(`/providers/patients/${patient.id}`);
    await link.click();
    await provider.page.waitForURL((url) => url.pathname === "/login");
    expect(await provider.page.getByLabel("Clinic code").count()).toBe(0);
    expect(provider.errors).toEqual([]);
  });

  it("a save on a stale version (no live update seen) is 412: merged when only other fields moved, else asks", async () => {
    const person = await browser();
    const { page } = person;
    // This page's live socket never delivers (a silent stand-in): only the If-Match check protects it.
    await page.routeWebSocket(/\/portal\/records\/\d+\/live$/, () => {});
    await page.goto(ssoLink(doctor, `/providers/patients/${patient.id}`));
    await page.locator("#record-live", { hasText: "Live:" }).waitFor();
    const start = Number(await page.locator("#record-version").textContent());

    // Another field changed meanwhile: nothing to merge, the save goes through on the newer version.
    await page.getByLabel("Office visit notes").fill("Follow-up in two weeks.");
    await writeRecord(clinic, patient, patient.id, { medical_history: "Changed on the phone" });
    await page.getByRole("button", { name: "Save office visit notes" }).click();
    await page
      .locator("#s-office_visit_notes", { hasText: `Saved office visit notes (version ${start + 2}).` })
      .waitFor();

    // The same field changed meanwhile: the newer text is shown and the writer decides.
    const box = page.getByLabel("Prescription");
    await box.fill("Mine");
    await writeRecord(clinic, doctor, patient.id, { prescription: "Theirs" });
    await page.getByRole("button", { name: "Save prescription" }).click();
    const conflict = page.locator("#c-prescription");
    await conflict.waitFor({ state: "visible" });
    expect(await conflict.locator("[data-newer]").textContent()).toBe("Theirs");
    expect(await box.inputValue()).toBe("Mine");
    await page.getByRole("button", { name: "Take their text" }).click();
    expect(await box.inputValue()).toBe("Theirs");
    expect(await focused(page)).toMatchObject({ id: "f-prescription" });
    const stale = `412 ${baseUrl}/portal/records/${patient.id}`;
    expect(person.errors).toEqual([stale, stale]);
  });
});

describe("every other page: axe, keyboard, screenshots", () => {
  const opened: Person[] = [];
  afterAll(async () => {
    for (const person of opened) await person.close();
  });
  async function browser(): Promise<Person> {
    const person = await openBrowser();
    opened.push(person);
    return person;
  }

  it("login: labelled fields in order, visible focus, errors announced; no clinic code when the link names it", async () => {
    const clinic = await createBrandedClinic({});
    const person = await browser();
    const { page } = person;
    await page.goto(`${baseUrl}/login`);
    await checkPage(page, "login");
    expect(await page.getByLabel("Clinic code").count()).toBe(1);

    await page.goto(`${baseUrl}/login?clinic=${clinic.code}`);
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe(
      `Sign in to Clinic ${clinic.code}`,
    );
    expect(await page.getByLabel("Clinic code").count()).toBe(0);
    expect(await focused(page)).toMatchObject({ name: "Username or email" }); // autofocus
    await page.keyboard.type("nobody");
    await page.keyboard.press("Tab");
    expect(await focused(page)).toMatchObject({ name: "Password", outline: true });
    await page.keyboard.type("not the password");
    await page.keyboard.press("Tab");
    expect(await focused(page)).toMatchObject({ tag: "button", name: "Sign in", outline: true });
    await checkPage(page, "login-clinic");
    await page.keyboard.press("Enter");
    await page.getByRole("alert").waitFor();
    expect(await page.getByRole("alert").textContent()).toBe("Invalid username or password");
    expect(await focused(page)).toMatchObject({ name: "Password" }); // back where the fix goes
    await checkPage(page, "login-error");
    expect(person.errors).toEqual([]);
  });

  it("the two-factor page: same layout, the code field labelled and focused", async () => {
    const clinic = await createBrandedClinic({});
    const password = "a long enough passphrase 42";
    const user = await twoFactorUser(clinic, password);
    const person = await browser();
    const { page } = person;
    await page.goto(`${baseUrl}/login?clinic=${clinic.code}`);
    await page.getByLabel("Username or email").fill(user.email);
    await page.getByLabel("Password", { exact: true }).fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { level: 1, name: "Enter your two-factor code" }).waitFor();
    expect(await focused(page)).toMatchObject({ name: "6-digit code" });
    await checkPage(page, "two-factor");
    await page.keyboard.type(await totpNow(user.secret));
    await page.keyboard.press("Enter");
    await page.waitForURL((url) => url.pathname !== "/login/code");
    expect(person.errors).toEqual([]);
  });

  it("error pages are styled pages: invalid link, 404, 403, signed out", async () => {
    const clinic = await createBrandedClinic({ accentColor: ACCENT });
    const member = await register(clinic, "patients", "Lou", "Member");
    const person = await browser();
    const { page } = person;

    const invalid = await page.goto(`${baseUrl}/auth?sso_token=not-a-token&next=/u/clinic`);
    expect(invalid?.status()).toBe(401);
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe(
      "This sign-in link is not valid",
    );
    expect(await page.getByRole("link", { name: "Sign in with your password" }).getAttribute("href")).toBe(
      "/login?next=%2Fu%2Fclinic",
    );
    await checkPage(page, "invalid-link");

    const missing = await page.goto(`${baseUrl}/dashboard/x`);
    expect(missing?.status()).toBe(404);
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Page not found");
    await checkPage(page, "not-found");

    await page.goto(ssoLink(member, "/u/clinic"));
    await page.locator("#checkin[data-state]:not([data-state=pending])").waitFor();
    // The record's lists have loaded (leaving earlier would cancel their requests).
    await page.locator("#history-empty", { hasText: "No changes yet." }).waitFor();
    await page.locator("#access-empty", { hasText: "Nobody but you" }).waitFor();
    // In no room: one consistent state, never "checked in… your provider sees you as waiting".
    await page.locator('#checkin[data-state="in"]').waitFor();
    expect(await page.locator("#checkin").textContent()).toBe(
      "You are signed in, but not in a waiting room yet: no provider sees you as waiting.",
    );
    expect(await page.getByText("Your provider sees you as waiting while this page is open").count()).toBe(0);
    await checkPage(page, "waiting-no-room");
    const forbidden = await page.goto(`${baseUrl}/providers/dashboard`);
    expect(forbidden?.status()).toBe(403);
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Not available");
    expect(await page.locator(".brand").textContent()).toBe(`Clinic ${clinic.code}`);
    await checkPage(page, "forbidden");

    await page.goto(`${baseUrl}/logout`);
    await checkPage(page, "sign-out");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL((url) => url.pathname === "/logout");
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("You are signed out");
    expect(await page.locator(".brand").textContent()).toBe(`Clinic ${clinic.code}`);
    await checkPage(page, "signed-out");
    expect(person.errors).toEqual([]);
  });
});
