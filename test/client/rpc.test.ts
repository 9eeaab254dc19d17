/**
 * Hono's RPC client (`hc<AppType>`) as a TypeScript portal uses it: the README's example, typed from the
 * app's own routes (so `npm run typecheck` compiles it) and run here against the real worker entry.
 */
import { exports } from "cloudflare:workers";
import { hc } from "hono/client";
import { describe, expect, it } from "vitest";
import type { AppType } from "../../src/app";
import { createClinic, randomIp, uniq } from "../helpers";
import { setPassword, sso } from "../vsee/support";

/** The README's example, as a clinic's TypeScript server writes it. */
async function portalExample(
  fetch: typeof globalThis.fetch,
  clinic: { accountCode: string; apiKey: string },
  provider: { username: string; password: string },
) {
  const api = hc<AppType>("https://clinic-edge.test", { fetch });
  const server = { "X-AccountCode": clinic.accountCode, "X-ApiKey": clinic.apiKey };

  // SSO a patient by their code in the clinic's own system (VSee family).
  const sso = await api.api_v3.users.sso.$post(
    {
      query: {},
      json: { code: "patient-42", first_name: "John", last_name: "Smith", type: 200 },
    },
    { headers: server },
  );
  const patient = sso.ok ? (await sso.json()).data : undefined;

  // A provider signs in with a password.
  const login = await api.api_v3.users.login.$post(
    {
      json: provider,
    },
    { headers: { "X-AccountCode": clinic.accountCode } },
  );
  const session = login.ok ? (await login.json()).data : undefined;

  // The care-team family: register a patient with the clinic's key, then read their record.
  const reg = await api.register.$post(
    {
      json: { email: "jane@example.test", groupName: "patients", firstName: "Jane", lastName: "Doe" },
    },
    { headers: server },
  );
  const token = reg.ok ? (await reg.json()).token : "";
  const state = await api.state.$get(
    {},
    { headers: { authorization: `Bearer ${token}`, "X-AccountCode": clinic.accountCode } },
  );
  return { patient, session, state };
}

describe("Hono RPC client (hc<AppType>)", () => {
  it("calls SSO, login, /register and /state with typed requests and responses", async () => {
    const clinic = await createClinic();
    const username = uniq("doc-");
    const provider = await sso(clinic, { type: "400", username, first_name: "Dana", last_name: "Doc" });
    const password = await setPassword(provider);
    const ip = randomIp();
    const fetch: typeof globalThis.fetch = (input, init) => {
      const req = new Request(input, init);
      req.headers.set("cf-connecting-ip", ip);
      return exports.default.fetch(req);
    };

    const { patient, session, state } = await portalExample(
      fetch,
      { accountCode: clinic.code, apiKey: clinic.apiKey },
      { username, password },
    );
    expect(patient).toMatchObject({ code: "patient-42", first_name: "John", last_name: "Smith" });
    expect(typeof patient?.token.token).toBe("string");
    expect(session?.user_id).toBe(provider.id);
    expect(state.status).toBe(200);
    expect(await state.json()).toMatchObject({ version: 0 });
  });
});
