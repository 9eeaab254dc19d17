/** Register-family test helpers: register users in a clinic and call the state routes as them. */
import { expect } from "vitest";
import { type CallOptions, call, json, type TestClinic, uniq } from "../helpers";

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
