/**
 * Helpers of the accounts-family tests: a clinic per test, signups and sign-ins through the real entry,
 * codes read back from the outbox (as a developer reads them at GET /admin/outbox), TOTP codes computed
 * from the secret the API returned.
 */
import { expect } from "vitest";
import { now } from "../../src/lib/clock";
import { hotp, totpStep } from "../../src/lib/totp";
import { ADMIN_AUTH, type CallOptions, call, callAndSettle, createClinic, env, json, uniq } from "../helpers";

export const PASSWORD = "supersecretpass";

export interface Tenant {
  code: string;
  /** Headers naming the clinic (X-AccountCode). */
  headers: Record<string, string>;
}

export async function tenant(settings: Record<string, unknown> = {}): Promise<Tenant> {
  const clinic = await createClinic(settings);
  return { code: clinic.code, headers: { "X-AccountCode": clinic.code } };
}

export const email = () => `${uniq("u")}@example.test`;

/** A Philippine mobile number nobody has used yet. */
export function mobile(): string {
  const digits = String(Math.floor(Math.random() * 1e9)).padStart(9, "0");
  return `09${digits}`;
}

export interface Account {
  uid: string;
  email: string | null;
  mobileNo: string | null;
  isEmailVerified: boolean;
  isMobileNoVerified: boolean;
  isDoctor: boolean;
  isDisabled: boolean;
  isFirstLogin: boolean;
  mfaEnabled: boolean;
  createdAt: string;
}

export interface Tokens {
  uid: string;
  accessToken: string;
  refreshToken: string;
  expiresAt: string;
  user: Account;
}

/** POST /accounts (waits for the first delivery attempt); fails the test unless it answers 201. */
export async function signup(t: Tenant, body: Record<string, unknown> = {}): Promise<Account> {
  const res = await callAndSettle("POST", "/accounts", {
    headers: t.headers,
    json: { email: email(), password: PASSWORD, ...body },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return json<Account>(res);
}

export async function login(t: Tenant, body: Record<string, unknown>): Promise<Tokens> {
  const res = await call("POST", "/authentication", {
    headers: t.headers,
    json: { strategy: "local", password: PASSWORD, ...body },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return json<Tokens>(res);
}

/** A signed-up and signed-in account. */
export async function account(t: Tenant, body: Record<string, unknown> = {}) {
  const created = await signup(t, body);
  const tokens = await login(t, created.email ? { email: created.email } : { mobileNo: created.mobileNo });
  return { ...created, tokens, auth: bearer(tokens.accessToken) };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** POST /authentication with an action (and the tenant's headers plus `headers`). */
export function act(
  t: Tenant,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
  settle = false,
) {
  const opts: CallOptions = { headers: { ...t.headers, ...headers }, json: body };
  return settle ? callAndSettle("POST", "/authentication", opts) : call("POST", "/authentication", opts);
}

export interface OutboxMessage {
  id: number;
  channel: string;
  recipient: string;
  template: string;
  subject: string;
  body_text: string;
  body_html: string | null;
  status: string;
  attempts: number;
  last_error: string | null;
}

/** The messages of a clinic to one recipient (oldest first), read with the operators' API. */
export async function messagesTo(t: Tenant, recipient: string): Promise<OutboxMessage[]> {
  const res = await call("GET", `/admin/outbox?clinic=${t.code}&limit=100`, { headers: ADMIN_AUTH });
  expect(res.status).toBe(200);
  const { data } = await json<{ data: OutboxMessage[] }>(res);
  return data.filter((m) => m.recipient === recipient).reverse();
}

/** The code in the latest message of `template` to `recipient`. */
export async function codeFrom(t: Tenant, recipient: string, template: string): Promise<string> {
  const found = (await messagesTo(t, recipient)).filter((m) => m.template === template).at(-1);
  const code = found && /(?:code is|Use code) ([0-9a-z]+)/.exec(found.body_text);
  if (!code?.[1]) throw new Error(`no ${template} code for ${recipient}`);
  return code[1];
}

/** The current TOTP code of a base32 secret (by the app's clock). */
export function totp(secret: string, offsetSteps = 0): string {
  return hotp(secret, totpStep(now()) + offsetSteps);
}

/** Feathers error shape: {name, message, code, className, errors?} and nothing else. */
export async function expectFeathersError(res: Response, status: number, message?: string | RegExp) {
  expect(res.status).toBe(status);
  const body = await json<Record<string, unknown>>(res);
  expect(body).toMatchObject({ code: status, name: expect.any(String), className: expect.any(String) });
  expect(Object.keys(body).every((k) => ["name", "message", "code", "className", "errors"].includes(k))).toBe(
    true,
  );
  if (message !== undefined) expect(body.message).toMatch(message);
  return body as {
    name: string;
    message: string;
    code: number;
    className: string;
    errors?: Record<string, string>;
  };
}

export { env };
