/**
 * Browser-test helpers: a headless Chromium per person (Debian's /usr/bin/chromium, a fresh profile each),
 * the API calls that seed a clinic, rooms and users (as a clinic's server would), and the test clock.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Secret, TOTP } from "otpauth";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { inject } from "vitest";

export const baseUrl = inject("baseUrl");
const adminKey = inject("adminKey");

export const CHROMIUM = "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface Person {
  context: BrowserContext;
  page: Page;
  /** Script errors, CSP violations and failed subresource requests of the page. */
  errors: string[];
  close(): Promise<void>;
}

/** A browser of its own (fresh --user-data-dir), phone-sized, with one page. */
export async function openBrowser(): Promise<Person> {
  const profile = mkdtempSync(join(tmpdir(), "clinic-edge-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 390, height: 844 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  // Script errors, CSP violations (console errors), and failed subresources and fetches. Pages answered
  // with an error status (a 401 form, a 403 page) are expected by the tests that load them.
  page.on("pageerror", (err) => errors.push(err.message));
  page.on("console", (msg) => {
    if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource")) errors.push(msg.text());
  });
  page.on("response", (res) => {
    if (res.status() >= 400 && res.request().resourceType() !== "document")
      errors.push(`${res.status()} ${res.url()}`);
  });
  page.on("requestfailed", (req) => errors.push(`failed ${req.url()}`));
  return {
    context,
    page,
    errors,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

async function api<T>(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<T> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

let counter = 0;
export function uniq(prefix: string): string {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${counter}`;
}

export interface Clinic {
  code: string;
  server: Record<string, string>;
}

/** A clinic created through the operators' admin API, with SSO enabled. */
export async function createClinic(): Promise<Clinic> {
  const code = uniq("bt");
  const body = await api<{ api_key: string }>(
    "POST",
    "/admin/clinics",
    { authorization: `Bearer ${adminKey}` },
    { code, name: `Clinic ${code}`, domain: "localhost", sso_enabled: true },
  );
  return { code, server: { "X-AccountCode": code, "X-ApiKey": body.api_key } };
}

export async function createRoom(clinic: Clinic, name: string): Promise<{ code: string }> {
  const { data } = await api<{ data: { code: string } }>("POST", "/api_v3/rooms", clinic.server, {
    slug: uniq("room"),
    name,
  });
  return data;
}

export interface User {
  id: string;
  username: string;
  /** The SSO token (data.token.token), for GET /auth. */
  token: string;
}

/** POST /api_v3/users/sso (seed 000): a member (200) or provider (400), signed in. */
export async function sso(clinic: Clinic, type: 200 | 400, first: string, last: string): Promise<User> {
  const { data } = await api<{ data: { id: string; username: string; token: { token: string } } }>(
    "POST",
    "/api_v3/users/sso",
    clinic.server,
    { type, first_name: first, last_name: last, code: uniq("ext") },
  );
  return { id: data.id, username: data.username, token: data.token.token };
}

export async function assign(clinic: Clinic, user: User, room: { code: string }): Promise<void> {
  await api("POST", `/api_v3/users/${user.id}/rooms`, clinic.server, { room_code: room.code });
}

/** Sets the user's first password (POST /api_v3/me with its own token). */
export async function setPassword(user: User, password: string): Promise<void> {
  await api("POST", "/api_v3/me", { "X-ApiToken": user.token }, { password });
}

/** The SSO link of seed 001 use case 1: {portal}/auth?sso_token=…&next=… */
export function ssoLink(user: User, next: string): string {
  return `${baseUrl}/auth?sso_token=${user.token}&next=${encodeURIComponent(next)}`;
}

/** Moves the server's clock forward (POST /__test/clock, served only with ALLOW_TEST_CLOCK=1). */
export async function advanceServerClock(seconds: number): Promise<{ now: number }> {
  return api<{ now: number }>("POST", "/__test/clock", {}, { advance: seconds });
}

/** Status of an API call made with a token (e.g. a session cookie's value used as X-ApiToken). */
export async function statusWithToken(path: string, token: string): Promise<number> {
  return (await fetch(`${baseUrl}${path}`, { headers: { "X-ApiToken": token } })).status;
}

/** A clinic whose settings are given (branding, …), SSO enabled. */
export async function createBrandedClinic(settings: Record<string, unknown>): Promise<Clinic> {
  const code = uniq("bt");
  const body = await api<{ api_key: string }>(
    "POST",
    "/admin/clinics",
    { authorization: `Bearer ${adminKey}` },
    { code, name: `Clinic ${code}`, domain: "localhost", sso_enabled: true, settings },
  );
  return { code, server: { "X-AccountCode": code, "X-ApiKey": body.api_key } };
}

/** POST /register with the clinic's key: a user of the care-team family, and a token that /auth accepts. */
export async function register(
  clinic: Clinic,
  groupName: "patients" | "physicians",
  firstName: string,
  lastName: string,
): Promise<User> {
  const email = `${uniq(groupName.slice(0, 3))}@example.test`;
  const body = await api<{ token: string; user: { id: string } }>("POST", "/register", clinic.server, {
    email,
    groupName,
    firstName,
    lastName,
  });
  return { id: body.user.id, username: email, token: body.token };
}

export async function addToCareTeam(clinic: Clinic, patient: User, member: User): Promise<void> {
  await api("POST", `/records/${patient.id}/members`, clinic.server, { userId: member.id });
}

/** A write to a record with a user's bearer token (as another device of that user would). */
export async function writeRecord(
  clinic: Clinic,
  user: User,
  patientId: string,
  fields: Record<string, string>,
): Promise<{ version: number }> {
  return api(
    "PUT",
    `/records/${patientId}`,
    { authorization: `Bearer ${user.token}`, "X-AccountCode": clinic.code },
    fields,
  );
}

/** An accounts-family user (POST /accounts) with two-factor on; returns its email and TOTP secret. */
export async function twoFactorUser(
  clinic: Clinic,
  password: string,
): Promise<{ email: string; secret: string }> {
  const email = `${uniq("mfa")}@example.test`;
  const headers = { "X-AccountCode": clinic.code };
  await api("POST", "/accounts", headers, { email, password });
  const tokens = await api<{ accessToken: string }>("POST", "/authentication", headers, {
    strategy: "local",
    email,
    password,
  });
  const auth = { ...headers, authorization: `Bearer ${tokens.accessToken}` };
  const { secret } = await api<{ secret: string }>("POST", "/authentication", auth, {
    action: "setupMFA",
    enable: true,
  });
  await api("POST", "/authentication", auth, { action: "verifyMFASecret", totpToken: await totpNow(secret) });
  return { email, secret };
}

/** The code an authenticator shows now by the server's clock (other tests move it forward). */
export async function totpNow(secret: string): Promise<string> {
  const { now } = await advanceServerClock(0);
  return new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 }).generate({
    timestamp: now * 1000,
  });
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/**
 * Runs axe-core on the page (WCAG 2.0-2.2 A/AA and best practices) and returns the serious and critical
 * violations. The script is evaluated through the DevTools protocol, which the page's CSP does not govern:
 * the page itself still runs only its own scripts.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: { run(ctx: Document, o: unknown): Promise<{ violations: AxeViolation[] }> };
      }
    ).axe;
    const result = await axe.run(document, {
      runOnly: {
        type: "tag",
        values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
      },
    });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target })),
    }));
  });
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** Screenshots of the page at desktop and phone widths: test-results/portal-<name>-{desktop,phone}.png. */
export async function screenshots(page: Page, name: string): Promise<void> {
  mkdirSync("test-results", { recursive: true });
  const before = page.viewportSize() ?? PHONE;
  for (const [label, size] of [
    ["desktop", DESKTOP],
    ["phone", PHONE],
  ] as const) {
    await page.setViewportSize(size);
    await page.screenshot({ path: `test-results/portal-${name}-${label}.png`, fullPage: true });
  }
  await page.setViewportSize(before);
}

/** The focused element: its tag, accessible-ish name, and whether it shows a focus outline. */
export async function focused(page: Page) {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el || el === document.body) return { tag: "body", name: "", id: "", outline: false };
    const style = getComputedStyle(el);
    const label = el.id ? document.querySelector(`label[for="${el.id}"]`)?.textContent : undefined;
    const name = (
      el.getAttribute("aria-label") ??
      label ??
      el.closest("label")?.firstChild?.textContent ??
      el.textContent ??
      ""
    ).trim();
    const outline = style.outlineStyle !== "none" && Number.parseFloat(style.outlineWidth) >= 2;
    return { tag: el.tagName.toLowerCase(), name, id: el.id, outline };
  });
}
