/**
 * An unknown identity costs exactly one password hash, like a known one with a wrong password (DESIGN.md
 * "Passwords": unknown users are hashed against a dummy), at every password door. Observed without timing:
 * the test counts argon2id derivations (below). A sign-in that returns early for an unknown user, or a
 * verifier that skips the dummy hash, does none.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { call, createClinic, type TestClinic, uniq } from "../helpers";
import { loginForm, ORIGIN } from "../portal/support";
import { setPassword, sso } from "../vsee/support";

// Every argon2id derivation reads its WebAssembly instance's exports once (argon2id/lib/argon2id.js), and
// argon2id is the only WebAssembly this worker runs: counting those reads counts the hashes.
const argon2 = { derivations: 0 };
const exportsGetter = Object.getOwnPropertyDescriptor(WebAssembly.Instance.prototype, "exports")?.get;
if (!exportsGetter) throw new Error("WebAssembly.Instance.prototype.exports is not a getter here");
beforeAll(() => {
  vi.spyOn(WebAssembly.Instance.prototype, "exports", "get").mockImplementation(function (
    this: WebAssembly.Instance,
  ) {
    argon2.derivations += 1;
    return exportsGetter.call(this);
  });
});
afterAll(() => vi.restoreAllMocks());

const PASSWORD = "correct horse battery";

/** How many argon2id derivations `request` made. */
async function hashesOf(request: () => Promise<Response>): Promise<{ hashes: number; status: number }> {
  const before = argon2.derivations;
  const res = await request();
  await res.arrayBuffer();
  return { hashes: argon2.derivations - before, status: res.status };
}

let clinic: TestClinic;
let username: string;
let email: string;

beforeAll(async () => {
  clinic = await createClinic();
  email = `${uniq("pw")}@example.test`;
  const user = await sso(clinic, { email });
  username = user.username;
  await setPassword(user, PASSWORD);
  // The first verification of an isolate also makes the dummy hash: spend it here.
  await call("POST", "/api_v3/users/login", {
    headers: { "X-AccountCode": clinic.code },
    json: { username: uniq("warm"), password: "whatever-password" },
  });
});

function vseeLogin(code: string, who: string, password: string) {
  return () =>
    call("POST", "/api_v3/users/login", {
      headers: { "X-AccountCode": code },
      json: { username: who, password },
    });
}

function accountsLogin(code: string, who: Record<string, string>, password: string) {
  return () =>
    call("POST", "/authentication", {
      headers: { "X-AccountCode": code },
      json: { strategy: "local", ...who, password },
    });
}

function portalLogin(code: string, who: string, password: string) {
  return async () => {
    const form = await loginForm();
    return call("POST", "/login", {
      headers: { cookie: `__Host-ce_login=${form.nonce}`, origin: ORIGIN },
      form: { csrf: form.csrf, clinic: code, username: who, password },
    });
  };
}

describe("one password hash per attempt, known or not", () => {
  it("the harness sees the hashes: a right password costs one", async () => {
    expect(await hashesOf(vseeLogin(clinic.code, username, PASSWORD))).toEqual({ hashes: 1, status: 200 });
  });

  it("POST /api_v3/users/login: wrong password, unknown user, unknown clinic", async () => {
    expect(await hashesOf(vseeLogin(clinic.code, username, "not-the-password"))).toEqual({
      hashes: 1,
      status: 401,
    });
    expect(await hashesOf(vseeLogin(clinic.code, uniq("nobody"), "not-the-password"))).toEqual({
      hashes: 1,
      status: 401,
    });
    expect(await hashesOf(vseeLogin(clinic.code, `${uniq("nobody")}@example.test`, PASSWORD))).toEqual({
      hashes: 1,
      status: 401,
    });
    expect(await hashesOf(vseeLogin(uniq("noclinic"), username, PASSWORD))).toEqual({
      hashes: 1,
      status: 401,
    });
  });

  it("POST /authentication (local): wrong password, unknown email, unknown mobile number", async () => {
    expect(await hashesOf(accountsLogin(clinic.code, { email }, "not-the-password"))).toEqual({
      hashes: 1,
      status: 401,
    });
    expect(
      await hashesOf(accountsLogin(clinic.code, { email: `${uniq("nobody")}@example.test` }, PASSWORD)),
    ).toEqual({ hashes: 1, status: 401 });
    expect(await hashesOf(accountsLogin(clinic.code, { mobileNo: "09170000000" }, PASSWORD))).toEqual({
      hashes: 1,
      status: 401,
    });
  });

  it("the portal's POST /login: wrong password, unknown user, unknown clinic", async () => {
    expect(await hashesOf(portalLogin(clinic.code, username, "not-the-password"))).toEqual({
      hashes: 1,
      status: 401,
    });
    expect(await hashesOf(portalLogin(clinic.code, uniq("nobody"), PASSWORD))).toEqual({
      hashes: 1,
      status: 401,
    });
    expect(await hashesOf(portalLogin(uniq("noclinic"), username, PASSWORD))).toEqual({
      hashes: 1,
      status: 401,
    });
  });
});
