/**
 * A typed client from the OpenAPI document, as an integrator would write it: `npm run check:client`
 * writes the document (scripts/openapi-dump.mjs), generates its types with openapi-typescript into
 * .openapi/schema.d.ts (gitignored), and type-checks this file against them. Nothing here runs: the check
 * is that the calls below compile and that the wrong ones (@ts-expect-error) do not.
 */
import type { operations } from "../.openapi/schema";

type JsonBody<Op> = Op extends { requestBody: { content: { "application/json": infer B } } } ? B : never;
type Answer<Op, S extends number> = Op extends {
  responses: { [K in S]: { content: { "application/json": infer R } } };
}
  ? R
  : never;

/** POST a JSON body to an operation's path and read its 2xx answer as the document describes it. */
async function post<Id extends keyof operations, S extends number>(
  base: string,
  path: string,
  _operation: Id,
  _status: S,
  body: JsonBody<operations[Id]>,
  headers: Record<string, string> = {},
): Promise<Answer<operations[Id], S>> {
  const res = await fetch(new URL(path, base), {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return (await res.json()) as Answer<operations[Id], S>;
}

export async function signInPatient(base: string, clinic: string, apiKey: string): Promise<string> {
  const sso = await post(
    base,
    "/api_v3/users/sso",
    "vseeSso",
    200,
    { first_name: "John", last_name: "Smith", code: "patient-42", type: 200 },
    { "X-AccountCode": clinic, "X-ApiKey": apiKey },
  );
  const token: string = sso.data.token.token;
  const refresh: number = sso.data.token.refresh_token.expiry;
  void refresh;
  return token;
}

export async function registerPatient(base: string): Promise<string> {
  const registration = await post(base, "/register", "register", 200, {
    email: "user@example.com",
    groupName: "patients",
    firstName: "John",
    lastName: "Doe",
  });
  const uidauth: string = registration.assertion["X-Ionic-Reg-Uidauth"];
  void uidauth;
  return registration.token;
}

export async function signInAccount(base: string) {
  const result = await post(base, "/authentication", "authenticate", 201, {
    strategy: "local",
    email: "email@domain.com",
    password: "supersecretpass",
  });
  return result;
}

export async function wrongCalls(base: string) {
  // @ts-expect-error first_name is required by POST /api_v3/users/sso
  await post(base, "/api_v3/users/sso", "vseeSso", 200, { last_name: "Smith", type: 200 });
  const admins = { email: "a@b.c", groupName: "admins", firstName: "A", lastName: "B" } as const;
  // @ts-expect-error groupName is one of patients, physicians, insurers
  await post(base, "/register", "register", 200, admins);
  const sso = await post(base, "/api_v3/users/sso", "vseeSso", 200, {
    first_name: "A",
    last_name: "B",
    type: 600,
  });
  // @ts-expect-error the SSO answer has no top-level token (it is data.token)
  void sso.token;
}
