/** Register-family test helpers: register users in a clinic and call the state routes as them. */
import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { now } from "../../src/lib/clock";
import { startSession } from "../../src/services/sessions";
import {
  ADMIN_AUTH,
  buildRequest,
  type CallOptions,
  call,
  createClinic,
  env,
  json,
  type TestClinic,
  uniq,
} from "../helpers";

export type Group = "patients" | "physicians" | "insurers";

export interface Registered {
  status: number;
  body: {
    token: string;
    user: { id: string; groups: { value: string; display: string }[] } & Record<string, unknown>;
    assertion: Record<string, string>;
  };
  email: string;
  /** Headers of a state call as this user, in this user's clinic. */
  auth: Record<string, string>;
}

export function person(group: Group, overrides: Record<string, string> = {}) {
  return {
    email: `${uniq("u")}@example.test`,
    groupName: group,
    firstName: "Test",
    lastName: group === "patients" ? "Patient" : group === "physicians" ? "Physician" : "Insurer",
    ...overrides,
  };
}

/** Registers a user of `group` in `clinic` (with the clinic's API key, which every group accepts). */
export async function registerAs(
  clinic: TestClinic,
  group: Group,
  overrides: Record<string, string> = {},
): Promise<Registered> {
  const input = person(group, overrides);
  const res = await call("POST", "/register", { headers: clinic.server, json: input });
  const body = await json<Registered["body"]>(res);
  expect(res.status, JSON.stringify(body)).toBe(200);
  return {
    status: res.status,
    body,
    email: input.email,
    auth: { "X-AccountCode": clinic.code, authorization: `Bearer ${body.token}` },
  };
}

export function state(method: string, who: Registered | Record<string, string>, opts: CallOptions = {}) {
  const auth = "auth" in who ? (who as Registered).auth : (who as Record<string, string>);
  return call(method, "/state", { ...opts, headers: { ...auth, ...opts.headers } });
}

/**
 * The seed demo's settings (those of `npm start`'s demo clinic, and of clinics older than migration 0009):
 * the one shared care record behind /state, and patients registering themselves. New clinics default to
 * per-patient records and no self-registration.
 */
export const DEMO_SETTINGS = { careRecordMode: "shared", selfRegisterGroups: ["patients"] } as const;

/** A clinic in the seed demo's shared mode (`settings` are added to DEMO_SETTINGS). */
export function sharedClinic(options: Record<string, unknown> & { settings?: Record<string, unknown> } = {}) {
  return createClinic({ ...options, settings: { ...DEMO_SETTINGS, ...options.settings } });
}

/** Creates the deployment's default clinic (DEFAULT_ACCOUNT_CODE, in shared mode) unless an earlier test did. */
export async function ensureDefaultClinic(): Promise<void> {
  const code = env.DEFAULT_ACCOUNT_CODE;
  const res = await call("POST", "/admin/clinics", {
    headers: ADMIN_AUTH,
    json: { code, name: "Default clinic", domain: `${code}.example.test`, settings: DEMO_SETTINGS },
  });
  expect([201, 409]).toContain(res.status);
}

/**
 * A user of the clinic outside the register groups (no API creates admins: seeded in D1), signed in with
 * an ordinary access token. `type` 100/150 are clinic admins; `roles` may add clinic_admin.
 */
export async function otherUser(clinic: TestClinic, type: number, roles = "") {
  const t = now();
  const row = await env.DB.prepare(
    `INSERT INTO users (clinic_id, code, type, username, first_name, last_name, roles, created_at, updated_at)
     SELECT id, ?, ?, ?, 'Other', 'User', ?, ?, ? FROM clinics WHERE code = ? RETURNING id, clinic_id`,
  )
    .bind(uniq("code"), type, uniq("user"), roles, t, t, clinic.code)
    .first<{ id: number; clinic_id: number }>();
  if (!row) throw new Error(`no clinic ${clinic.code}`);
  const tokens = await startSession(
    env,
    { id: row.id, clinicId: row.clinic_id, type, roles },
    { code: clinic.code, defaultHeartbeat: 300 },
    "vsee",
  );
  return {
    id: String(row.id),
    auth: { "X-AccountCode": clinic.code, authorization: `Bearer ${tokens.access.token}` },
  };
}

export interface Message {
  type: string;
  state: Record<string, unknown> & { version: number };
}

/** Opens a live route (/state/live, /records/:id/live) and collects what the socket receives. */
export async function connect(path: string, headers: Record<string, string> = {}) {
  const res = await exports.default.fetch(
    buildRequest("GET", path, { headers: { Upgrade: "websocket", ...headers } }),
  );
  const ws = res.webSocket;
  if (!ws) throw new Error(`no WebSocket (${res.status}): ${await res.text()}`);
  const received: Message[] = [];
  const waiters: (() => void)[] = [];
  let closed: { code: number; reason: string } | undefined;
  ws.addEventListener("message", (e) => {
    received.push(JSON.parse(e.data as string) as Message);
    for (const w of waiters.splice(0)) w();
  });
  ws.addEventListener("close", (e) => {
    closed = { code: e.code, reason: e.reason };
    for (const w of waiters.splice(0)) w();
  });
  ws.accept();
  /** Resolves once `n` messages arrived (or the socket closed). */
  const until = async (n: number) => {
    while (received.length < n && !closed) await new Promise<void>((resolve) => waiters.push(resolve));
    return received;
  };
  return { res, ws, received, until, closed: () => closed };
}

/** A user's id as a number. */
export const idOf = (who: Registered) => Number(who.body.user.id);

/** A call as `who` (a registered user, or headers). */
export function as(
  method: string,
  path: string,
  who: Registered | Record<string, string>,
  opts: CallOptions = {},
) {
  const auth = "auth" in who ? (who as Registered).auth : (who as Record<string, string>);
  return call(method, path, { ...opts, headers: { ...auth, ...opts.headers } });
}

/** Adds `member` to `patient`'s care team with the clinic's API key. */
export async function addToTeam(clinic: TestClinic, patient: Registered, member: Registered): Promise<void> {
  const res = await call("POST", `/records/${patient.body.user.id}/members`, {
    headers: clinic.server,
    json: { userId: member.body.user.id },
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

/** A per-patient clinic (the default for new clinics) with a patient, a physician and an insurer on its team. */
export async function careTeam(settings: Record<string, unknown> = {}) {
  const clinic = await createClinic(Object.keys(settings).length ? { settings } : {});
  const [patient, physician, insurer] = [
    await registerAs(clinic, "patients"),
    await registerAs(clinic, "physicians"),
    await registerAs(clinic, "insurers"),
  ];
  await addToTeam(clinic, patient, physician);
  await addToTeam(clinic, patient, insurer);
  return { clinic, patient, physician, insurer };
}

export async function clinicIdOf(code: string): Promise<number> {
  const row = await env.DB.prepare("SELECT id FROM clinics WHERE code = ?")
    .bind(code)
    .first<{ id: number }>();
  if (!row) throw new Error(`no clinic ${code}`);
  return row.id;
}
