/**
 * The MYCURE web SDK's flows as it sends them (test/clients/mycure-wire.ts replays mycurelabs/mycure
 * src/boot/mycure.js, commit e32043a, request for request; the SDK is not on npm and needs Vue and
 * Quasar). Like the SDK, it sends no X-AccountCode: the deployment's default clinic answers.
 */
import { exports } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { now } from "../../src/lib/clock";
import { email, PASSWORD, totp } from "../accounts/support";
import { ADMIN_AUTH, call, clock, env, randomIp } from "../helpers";
import { MycureSdkReplica, SdkHttpError, StringStorage } from "./mycure-wire";

vi.setConfig({ testTimeout: 30_000 });
afterEach(() => clock.reset());

const API = "https://api.clinic-edge.example";

beforeAll(async () => {
  const seeded = await call("GET", `/admin/clinics/${env.DEFAULT_ACCOUNT_CODE}`, { headers: ADMIN_AUTH });
  if (seeded.status === 404) {
    await call("POST", "/admin/clinics", {
      headers: ADMIN_AUTH,
      json: { code: env.DEFAULT_ACCOUNT_CODE, name: "Default", domain: "default.example.test" },
    });
  }
});

/** An SDK instance over the worker's entry; `storage` is the browser's localStorage (shared by page loads). */
function sdk(storage = new StringStorage()) {
  // The client IP is what Cloudflare's edge adds; one per browser keeps rate limits per test.
  const ip = randomIp();
  return new MycureSdkReplica(
    API,
    (url, init) =>
      exports.default.fetch(
        new Request(url, { ...init, headers: { ...init.headers, "CF-Connecting-IP": ip } }),
      ),
    storage,
    now,
  );
}

async function signedUp(personalDetails?: Record<string, unknown>) {
  const address = email();
  const created = (await sdk().create(
    "accounts",
    { email: address, password: PASSWORD, ...(personalDetails ? { personalDetails } : {}) },
    { skipAuth: true },
  )) as { uid: string };
  return { email: address, uid: created.uid };
}

describe("MYCURE SDK", () => {
  it("signinWithEmail: loadUser accepts the answer and stores uid, access and refresh tokens", async () => {
    const a = await signedUp();
    const storage = new StringStorage();
    const user = (await sdk(storage).signinWithEmail(a.email, PASSWORD)) as { uid: string; email: string };
    expect(user).toMatchObject({ uid: a.uid, email: a.email });
    expect(storage.getItem("usr:uid")).toBe(a.uid);
    expect(storage.getItem("usr:acc")).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(storage.getItem("usr:ref")).toMatch(/^[0-9a-f]{32}$/);
  });

  it("currentUser() on the next page load (jwt strategy) stores a usable refresh token; after expiry the SDK refreshes", async () => {
    const a = await signedUp({ name: { firstName: "Ana" } });
    const storage = new StringStorage();
    await sdk(storage).signinWithEmail(a.email, PASSWORD);
    const signedInRefresh = storage.getItem("usr:ref");

    const page = sdk(storage);
    const user = (await page.currentUser()) as { uid: string };
    expect(user.uid).toBe(a.uid);
    const rotated = storage.getItem("usr:ref");
    expect(rotated).toMatch(/^[0-9a-f]{32}$/);
    expect(rotated).not.toBe(signedInRefresh);

    // 16 minutes later the JWT has expired: the SDK's token() spends the stored refresh token first.
    clock.freeze();
    clock.advance(16 * 60);
    const before = storage.getItem("usr:acc");
    const list = await page.list("personal-details", { $limit: 5, $skip: 0, $sort: { createdAt: -1 } });
    expect(storage.getItem("usr:acc")).not.toBe(before);
    expect(storage.getItem("usr:ref")).not.toBe(rotated);
    expect(list).toMatchObject({ total: 1, limit: 5, skip: 0 });
    expect(list.data).toEqual([expect.objectContaining({ id: a.uid, name: { firstName: "Ana" } })]);
  });

  it("list(), get() and update() with the SDK's # encoding", async () => {
    const a = await signedUp();
    const app = sdk();
    await app.signinWithEmail(a.email, PASSWORD);
    const accounts = await app.list("accounts", {
      isDoctor: false,
      uid: { $in: [Number(a.uid)] },
      $limit: 10,
    });
    expect(accounts).toMatchObject({ total: 1, limit: 10, skip: 0, data: [{ uid: a.uid, email: a.email }] });
    expect(await app.list("accounts", { isDoctor: true })).toMatchObject({ total: 0, data: [] });
    // The SDK's $page (backwards compatibility) becomes $skip.
    expect(await app.list("accounts", { $page: 2, $limit: 1 })).toMatchObject({
      total: 1,
      skip: 1,
      data: [],
    });
    expect(await app.get("accounts", a.uid)).toMatchObject({ uid: a.uid });
    // get() with a query is a find whose first item it returns.
    expect(await app.get("accounts", { uid: a.uid, $select: ["email"] })).toEqual({
      uid: a.uid,
      email: a.email,
    });
    expect(await app.update("personal-details", a.uid, { sex: "female" })).toMatchObject({
      id: a.uid,
      sex: "female",
    });
  });

  it("MFA: signinWithEmail cannot complete a 206; the app sends totpToken itself and loads the user", async () => {
    const a = await signedUp();
    const app = sdk();
    await app.signinWithEmail(a.email, PASSWORD);
    const setup = (await app.create("authentication", { action: "setupMFA", enable: true })) as {
      secret: string;
    };
    await app.create("authentication", { action: "verifyMFASecret", totpToken: await totp(setup.secret) });
    await app.signout();

    await expect(app.signinWithEmail(a.email, PASSWORD)).rejects.toThrow(
      "Invalid authenticated response. missing uid",
    );
    clock.freeze();
    clock.advance(30);
    const creds = await app.create(
      "authentication",
      { strategy: "local", email: a.email, password: PASSWORD, totpToken: await totp(setup.secret) },
      { skipAuth: true },
    );
    expect(await app.loadUser(creds as never)).toMatchObject({ uid: a.uid, mfaEnabled: true });
  });

  it("failures reach the SDK as HttpError with the Feathers code and message", async () => {
    const a = await signedUp();
    const err = await sdk()
      .signinWithEmail(a.email, "wrong-password")
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SdkHttpError);
    expect(err).toMatchObject({ name: "HttpError", statusCode: 401, code: 401, message: "Invalid login" });
    const bad = await sdk()
      .create("accounts", { email: a.email, password: PASSWORD }, { skipAuth: true })
      .catch((e: unknown) => e);
    expect(bad).toMatchObject({ statusCode: 409, code: 409, errors: { email: "is already in use" } });
  });
});
