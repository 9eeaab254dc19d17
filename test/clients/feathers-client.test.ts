/**
 * The official Feathers v5 client (@feathersjs/feathers + rest-client over fetch + authentication-client),
 * unchanged, against the worker: its fetch is the worker's own entry (`exports.default.fetch`), its
 * storage the authentication client's MemoryStorage (workerd has no window.localStorage; MemoryStorage
 * is what the client itself falls back to outside browsers). Covers authenticate, reAuthenticate, the
 * service calls the accounts family supports, logout, and the error class of every failure a Feathers
 * app meets here (README "Feathers v5 client").
 */

import { exports } from "cloudflare:workers";
import authentication, { MemoryStorage } from "@feathersjs/authentication-client";
import {
  BadRequest,
  Conflict,
  convert,
  FeathersError,
  Forbidden,
  MethodNotAllowed,
  NotAuthenticated,
  NotFound,
  TooManyRequests,
} from "@feathersjs/errors";
import { feathers } from "@feathersjs/feathers";
import rest from "@feathersjs/rest-client";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../../src/lib/errors";
import { renderError } from "../../src/lib/families";
import { email, PASSWORD, type Tenant, tenant } from "../accounts/support";
import { ADMIN_AUTH, call, clock, randomIp } from "../helpers";

vi.setConfig({ testTimeout: 30_000 });
afterEach(() => clock.reset());

/** Where the worker is (any origin: the worker's entry answers it). */
const BASE = "https://clinic-edge.example";

interface AuthResult {
  uid: string;
  accessToken: string;
  refreshToken: string;
  expiresAt: string;
  user: { uid: string; email: string | null; isFirstLogin: boolean };
}

/** A Feathers client app for a clinic, as an integrator configures it. */
function client(t: Tenant) {
  const storage = new MemoryStorage();
  // One client IP per client (what Cloudflare's edge adds), so that rate limits of one test stay there.
  const ip = randomIp();
  const connection = (url: string, init: RequestInit) => exports.default.fetch(new Request(url, init));
  const app = feathers();
  app.configure(
    rest(BASE).fetch(connection, { headers: { "X-AccountCode": t.code, "CF-Connecting-IP": ip } }),
  );
  app.configure(authentication({ storage }));
  return { app, storage };
}

/** The error a promise rejects with (fails the test when it resolves). */
async function failure(promise: Promise<unknown>): Promise<FeathersError> {
  try {
    await promise;
  } catch (err) {
    return err as FeathersError;
  }
  throw new Error("expected the call to fail");
}

async function signedUp(t: Tenant) {
  const { app } = client(t);
  const address = email();
  const created = await app.service("accounts").create({ email: address, password: PASSWORD });
  return { email: address, uid: (created as { uid: string }).uid };
}

describe("authentication", () => {
  it("authenticate (local) answers user; the token is stored and sent on service calls", async () => {
    const t = await tenant();
    const a = await signedUp(t);
    const { app, storage } = client(t);
    const result = (await app.authenticate({
      strategy: "local",
      email: a.email,
      password: PASSWORD,
    })) as AuthResult;
    expect(result.user).toMatchObject({ uid: a.uid, email: a.email });
    expect(result.uid).toBe(a.uid);
    expect(await storage.getItem("feathers-jwt")).toBe(result.accessToken);
    const me = await app.service("accounts").get(a.uid);
    expect(me).toEqual(result.user);
  });

  it("reAuthenticate(true) uses the stored token (jwt strategy): user, a fresh token, a usable refresh token", async () => {
    const t = await tenant();
    const a = await signedUp(t);
    const { app, storage } = client(t);
    const first = (await app.authenticate({
      strategy: "local",
      email: a.email,
      password: PASSWORD,
    })) as AuthResult;
    clock.freeze();
    clock.advance(60);
    const again = (await app.reAuthenticate(true)) as AuthResult;
    expect(again.user.uid).toBe(a.uid);
    expect(again.accessToken).not.toBe(first.accessToken);
    expect(await storage.getItem("feathers-jwt")).toBe(again.accessToken);
    const refreshed = (await app.service("authentication").create({
      action: "refreshAccessToken",
      refreshToken: again.refreshToken,
    })) as AuthResult;
    expect(refreshed.user.uid).toBe(a.uid);
    // Not authenticated again: reAuthenticate() (no force) returns the same result without a request.
    expect(await app.reAuthenticate()).toBe(await app.get("authentication"));
  });

  it("logout ends the session: the token is removed and no longer accepted", async () => {
    const t = await tenant();
    const a = await signedUp(t);
    const { app, storage } = client(t);
    const result = (await app.authenticate({
      strategy: "local",
      email: a.email,
      password: PASSWORD,
    })) as AuthResult;
    const out = await app.logout();
    expect(out).toEqual({ uid: a.uid, accessToken: result.accessToken });
    expect(await storage.getItem("feathers-jwt")).toBeUndefined();
    const reuse = client(t);
    await reuse.storage.setItem("feathers-jwt", result.accessToken);
    const refused = await failure(reuse.app.reAuthenticate());
    expect(refused).toBeInstanceOf(NotAuthenticated);
    expect(refused.code).toBe(401);
  });
});

describe("service calls", () => {
  it("accounts: create, get, find (with $select and $limit), patch; personal-details: get, find, patch", async () => {
    const t = await tenant();
    const { app } = client(t);
    const address = email();
    const created = (await app.service("accounts").create({
      email: address,
      password: PASSWORD,
      personalDetails: { name: { firstName: "Ana" } },
    })) as { uid: string };
    await app.authenticate({ strategy: "local", email: address, password: PASSWORD });
    const accounts = app.service("accounts");
    expect(await accounts.get(created.uid)).toMatchObject({ uid: created.uid, email: address });
    expect(await accounts.get(created.uid, { query: { $select: ["email"] } })).toEqual({
      uid: created.uid,
      email: address,
    });
    const page = (await accounts.find({ query: { $limit: 5, $sort: { createdAt: -1 } } })) as {
      total: number;
      limit: number;
      skip: number;
      data: { uid: string }[];
    };
    expect(page).toMatchObject({ total: 1, limit: 5, skip: 0 });
    expect(page.data.map((x) => x.uid)).toEqual([created.uid]);
    expect(await accounts.find({ query: { isDoctor: true } })).toMatchObject({ total: 0, data: [] });
    expect(await accounts.patch(created.uid, { isFirstLogin: false })).toMatchObject({ isFirstLogin: false });

    const details = app.service("personal-details");
    expect(await details.get(created.uid)).toMatchObject({ id: created.uid, name: { firstName: "Ana" } });
    expect(await details.patch(created.uid, { sex: "female" })).toMatchObject({ sex: "female" });
    expect(await details.find({ query: { sex: "female", $select: ["sex"] } })).toEqual({
      total: 1,
      limit: 10,
      skip: 0,
      data: [{ id: created.uid, sex: "female" }],
    });
  });
});

describe("error classes (@feathersjs/errors, through the client's convert())", () => {
  it("BadRequest (validation, with errors), NotAuthenticated (wrong password), NotFound, MethodNotAllowed", async () => {
    const t = await tenant();
    const a = await signedUp(t);
    const { app, storage } = client(t);
    const invalid = await failure(
      app.service("accounts").create({ email: "not-an-email", password: PASSWORD }),
    );
    expect(invalid).toBeInstanceOf(BadRequest);
    expect(invalid).toMatchObject({
      code: 400,
      className: "bad-request",
      errors: { email: expect.any(String) },
    });

    const wrong = await failure(
      app.authenticate({ strategy: "local", email: a.email, password: "wrong-password" }),
    );
    expect(wrong).toBeInstanceOf(NotAuthenticated);
    expect(wrong).toMatchObject({ code: 401, className: "not-authenticated" });

    await app.authenticate({ strategy: "local", email: a.email, password: PASSWORD });
    const other = await failure(app.service("accounts").get("999999999"));
    expect(other).toBeInstanceOf(NotFound);
    expect(other.code).toBe(404);

    const update = await failure(app.service("accounts").update(a.uid, { isFirstLogin: false }));
    expect(update).toBeInstanceOf(MethodNotAllowed);
    expect(update.code).toBe(405);
    const remove = await failure(app.service("accounts").remove(a.uid));
    expect(remove).toBeInstanceOf(MethodNotAllowed);
    const badQuery = await failure(app.service("accounts").find({ query: { password: "x" } }));
    expect(badQuery).toBeInstanceOf(BadRequest);
    // A 404/405 keeps the client signed in (it clears the token on 401-407 only from authenticate).
    expect(await storage.getItem("feathers-jwt")).toBeTruthy();
  });

  it("Conflict (409) for a duplicate signup", async () => {
    const t = await tenant();
    const a = await signedUp(t);
    const { app } = client(t);
    const dup = await failure(
      app.service("accounts").create({ email: a.email.toUpperCase(), password: PASSWORD }),
    );
    expect(dup).toBeInstanceOf(Conflict);
    expect(dup).toMatchObject({
      name: "Conflict",
      code: 409,
      className: "conflict",
      errors: { email: "is already in use" },
    });
  });

  it("Forbidden (a disabled clinic) and TooManyRequests (lockout)", async () => {
    const t = await tenant();
    const a = await signedUp(t);
    const { app } = client(t);
    let last: FeathersError | undefined;
    for (let i = 0; i < 6; i++) {
      last = await failure(
        app.authenticate({ strategy: "local", email: a.email, password: "wrong-password" }),
      );
      if (last instanceof TooManyRequests) break;
    }
    expect(last).toBeInstanceOf(TooManyRequests);
    expect(last?.code).toBe(429);

    const patched = await call("PATCH", `/admin/clinics/${t.code}`, {
      headers: ADMIN_AUTH,
      json: { disabled: true },
    });
    expect(patched.status).toBe(200);
    const closed = await failure(
      client(t).app.service("accounts").create({ email: email(), password: PASSWORD }),
    );
    expect(closed).toBeInstanceOf(Forbidden);
    expect(closed.code).toBe(403);
  });

  it("413 and 415 arrive as BadRequest instances that keep the HTTP status as code", async () => {
    const t = await tenant();
    const { app } = client(t);
    const big = await failure(
      app
        .service("accounts")
        .create({ email: email(), password: PASSWORD, padding: "x".repeat(2 * 1024 * 1024) }),
    );
    expect(big).toBeInstanceOf(BadRequest);
    expect(big).toMatchObject({
      name: "BadRequest",
      code: 413,
      className: "bad-request",
      message: "Request body too large",
    });

    const text = await failure(
      app
        .service("accounts")
        .create({ email: email(), password: PASSWORD }, { headers: { "Content-Type": "text/plain" } }),
    );
    expect(text).toBeInstanceOf(BadRequest);
    expect(text).toMatchObject({ name: "BadRequest", code: 415, className: "bad-request" });
  });

  it("every status the accounts family renders converts to a Feathers class (412 is a Conflict)", () => {
    for (const code of [
      "version_mismatch",
      "payload_too_large",
      "unsupported_media_type",
      "rate_limited",
      "internal",
    ] as const) {
      const body = renderError("accounts", new ApiError(code));
      const converted = convert(body);
      expect(converted, code).toBeInstanceOf(FeathersError);
      expect(converted.code).toBe(new ApiError(code).status);
    }
    expect(convert(renderError("accounts", new ApiError("version_mismatch")))).toBeInstanceOf(Conflict);
  });
});
