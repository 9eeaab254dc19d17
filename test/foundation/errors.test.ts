/**
 * Every family renders every failure in its own wire shape (DESIGN.md "Wire conventions").
 * Families are added here as their routes land.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { ADMIN_AUTH, call, createClinic, env, json } from "../helpers";

afterEach(() => vi.restoreAllMocks());

const big = "x".repeat(70 * 1024);

describe("/api_v3 (VSee): {code, message, errors?}", () => {
  it("400 validation with field errors", async () => {
    const clinic = await createClinic();
    const res = await call("POST", "/api_v3/users/sso", {
      headers: clinic.server,
      json: { type: 200, extra: 1 },
    });
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body).toMatchObject({ code: 400, message: expect.any(String) });
    expect(body.errors).toEqual(
      expect.arrayContaining([
        { param: "first_name", message: "is required" },
        { param: "last_name", message: "is required" },
        { param: "extra", message: "is not an allowed field" },
      ]),
    );
    expect(Object.keys(body).sort()).toEqual(["code", "errors", "message"]);
  });

  it("401, 404, 405, 413, 415", async () => {
    const clinic = await createClinic();
    const r401 = await call("GET", "/api_v3/me");
    expect(r401.status).toBe(401);
    expect(await json(r401)).toEqual({ code: 401, message: "An access token is required" });

    const r404 = await call("GET", "/api_v3/nothing/here.json");
    expect(r404.status).toBe(404);
    expect(await json(r404)).toEqual({ code: 404, message: "No such endpoint" });

    const r405 = await call("DELETE", "/api_v3/me.json");
    expect(r405.status).toBe(405);
    expect(r405.headers.get("allow")).toBe("GET, HEAD, POST");
    expect(await json(r405)).toEqual({ code: 405, message: "Method not allowed" });

    const r413 = await call("POST", "/api_v3/users/sso", {
      headers: clinic.server,
      json: { first_name: big },
    });
    expect(r413.status).toBe(413);
    expect(await json(r413)).toEqual({ code: 413, message: "Request body too large" });

    const r415 = await call("POST", "/api_v3/users/sso", {
      headers: clinic.server,
      raw: { body: "hi", type: "text/plain" },
    });
    expect(r415.status).toBe(415);
    expect(await json(r415)).toMatchObject({ code: 415 });
  });

  it("500 without internals, with a request id", async () => {
    const clinic = await createClinic();
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    vi.spyOn(env.DB, "prepare").mockImplementation(() => {
      throw new Error("SQLITE_BUSY: secret internals");
    });
    const res = await call("GET", "/api_v3/rooms", { headers: clinic.server });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ code: 500, message: "Internal server error" });
    expect(text).not.toContain("secret internals");
    const requestId = res.headers.get("x-request-id");
    expect(requestId).toBeTruthy();
    // Logged once, with the request id.
    expect(errors).toHaveBeenCalledTimes(1);
    expect(String(errors.mock.calls[0]?.[0])).toContain(requestId as string);
  });
});

describe("logs", () => {
  it("never carry query parameters (user data) of a failed query", async () => {
    const clinic = await createClinic();
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    vi.spyOn(env.DB, "prepare").mockImplementation(() => {
      throw new Error("Failed query: insert into users ... params: jane.doe@example.test,1980-01-01", {
        cause: new Error("D1_ERROR: database is locked"),
      });
    });
    const res = await call("GET", "/api_v3/rooms", { headers: clinic.server });
    expect(res.status).toBe(500);
    const line = String(errors.mock.calls[0]?.[0]);
    expect(line).toContain("D1_ERROR: database is locked");
    expect(line).not.toContain("jane.doe@example.test");
    expect(line).not.toContain("1980-01-01");
  });
});

describe("/admin: {code, error, message, errors?}", () => {
  it("400, 401, 404, 405, 413, 415, 500", async () => {
    const r400 = await call("POST", "/admin/clinics", { headers: ADMIN_AUTH, json: { code: "x" } });
    expect(r400.status).toBe(400);
    expect(await json(r400)).toMatchObject({
      code: 400,
      error: "validation_failed",
      errors: expect.any(Array),
    });

    const r401 = await call("GET", "/admin/clinics");
    expect(await json(r401)).toMatchObject({ code: 401, error: "unauthorized" });

    const r404 = await call("GET", "/admin/nothing", { headers: ADMIN_AUTH });
    expect(await json(r404)).toEqual({ code: 404, error: "route_not_found", message: "No such endpoint" });

    const r405 = await call("PUT", "/admin/clinics", { headers: ADMIN_AUTH });
    expect(r405.status).toBe(405);
    expect(r405.headers.get("allow")).toBe("GET, HEAD, POST");

    const r413 = await call("POST", "/admin/clinics", { headers: ADMIN_AUTH, json: { name: big } });
    expect(await json(r413)).toMatchObject({ code: 413, error: "payload_too_large" });

    const r415 = await call("POST", "/admin/clinics", {
      headers: ADMIN_AUTH,
      raw: { body: "<x/>", type: "application/xml" },
    });
    expect(await json(r415)).toMatchObject({ code: 415, error: "unsupported_media_type" });

    vi.spyOn(console, "error").mockImplementation(() => {});
    vi.spyOn(env.DB, "prepare").mockImplementation(() => {
      throw new Error("boom");
    });
    const r500 = await call("GET", "/admin/clinics", { headers: ADMIN_AUTH });
    expect(r500.status).toBe(500);
    expect(await json(r500)).toEqual({ code: 500, error: "internal", message: "Internal server error" });
  });
});

describe("register family (/register, /state): {error, errors?}", () => {
  it("400 validation with field errors", async () => {
    const clinic = await createClinic();
    const res = await call("POST", "/register", {
      headers: { "X-AccountCode": clinic.code },
      json: { email: "nope", groupName: "patients", firstName: "A", extra: 1 },
    });
    expect(res.status).toBe(400);
    expect(await json(res)).toEqual({
      error: "Invalid request body",
      errors: [
        { param: "email", message: "must be a valid email address" },
        { param: "lastName", message: "is required" },
        { param: "extra", message: "is not an allowed field" },
      ],
    });
  });

  it("401, 404, 405, 413, 415", async () => {
    const clinic = await createClinic();
    const r401 = await call("GET", "/state", { headers: { "X-AccountCode": clinic.code } });
    expect(r401.status).toBe(401);
    expect(await json(r401)).toEqual({ error: "A bearer token is required" });

    const r404 = await call("GET", "/register/nothing");
    expect(r404.status).toBe(404);
    expect(await json(r404)).toEqual({ error: "No such endpoint" });

    const r405 = await call("GET", "/register");
    expect(r405.status).toBe(405);
    expect(r405.headers.get("allow")).toBe("POST");
    expect(await json(r405)).toEqual({ error: "Method not allowed" });
    const r405state = await call("POST", "/state");
    expect(r405state.headers.get("allow")).toBe("DELETE, GET, HEAD, PUT");

    const r413 = await call("POST", "/register", {
      headers: { "X-AccountCode": clinic.code },
      json: { firstName: big },
    });
    expect(r413.status).toBe(413);
    expect(await json(r413)).toEqual({ error: "Request body too large" });

    const r415 = await call("POST", "/register", {
      headers: { "X-AccountCode": clinic.code },
      raw: { body: "email=x", type: "text/plain" },
    });
    expect(r415.status).toBe(415);
    expect(await json(r415)).toEqual({
      error:
        "Unsupported content type: send application/json, application/x-www-form-urlencoded or multipart/form-data",
    });
  });

  it("500 without internals", async () => {
    const clinic = await createClinic();
    vi.spyOn(console, "error").mockImplementation(() => {});
    vi.spyOn(env.DB, "prepare").mockImplementation(() => {
      throw new Error("SQLITE_BUSY: secret internals");
    });
    const res = await call("POST", "/register", {
      headers: { "X-AccountCode": clinic.code },
      json: { email: "a@example.test", groupName: "patients", firstName: "A", lastName: "B" },
    });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: "Internal server error" });
    expect(text).not.toContain("secret internals");
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });
});

describe("request ids", () => {
  it("echo a sane incoming X-Request-Id and generate one otherwise", async () => {
    const mine = await call("GET", "/health", { headers: { "X-Request-Id": "abc-123" } });
    expect(mine.headers.get("x-request-id")).toBe("abc-123");
    const generated = await call("GET", "/nothing");
    expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("accounts (Feathers): {name, message, code, className, errors?}", () => {
  it("400 validation with field errors", async () => {
    const clinic = await createClinic();
    const res = await call("POST", "/accounts", {
      headers: { "X-AccountCode": clinic.code },
      json: { email: "nope", password: "short", extra: 1 },
    });
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body).toEqual({
      name: "BadRequest",
      message: "Invalid request",
      code: 400,
      className: "bad-request",
      errors: {
        email: "must be a valid email address",
        password: "must be at least 8 characters",
        extra: "is not an allowed field",
      },
    });
  });

  it("401, 404, 405, 413, 415", async () => {
    const clinic = await createClinic();
    const headers = { "X-AccountCode": clinic.code };
    const r401 = await call("GET", "/accounts/1", { headers });
    expect(r401.status).toBe(401);
    expect(await json(r401)).toEqual({
      name: "NotAuthenticated",
      message: "An access token is required",
      code: 401,
      className: "not-authenticated",
    });

    const r404 = await call("GET", "/account-waitlist/unknown-code", { headers });
    expect(await json(r404)).toEqual({
      name: "NotFound",
      message: "Invitation not found",
      code: 404,
      className: "not-found",
    });
    const route404 = await call("GET", "/authentication/sessions/all", { headers });
    expect(await json(route404)).toEqual({
      name: "NotFound",
      message: "No such endpoint",
      code: 404,
      className: "not-found",
    });

    const r405 = await call("PUT", "/accounts/1", { headers });
    expect(r405.status).toBe(405);
    expect(r405.headers.get("allow")).toBe("GET, HEAD, PATCH");
    expect(await json(r405)).toEqual({
      name: "MethodNotAllowed",
      message: "Method not allowed",
      code: 405,
      className: "method-not-allowed",
    });

    const r413 = await call("POST", "/authentication", {
      headers,
      json: { strategy: "local", password: big },
    });
    expect(r413.status).toBe(413);
    expect(await json(r413)).toEqual({
      name: "BadRequest",
      message: "Request body too large",
      code: 413,
      className: "bad-request",
    });

    const r415 = await call("POST", "/authentication", { headers, raw: { body: "hi", type: "text/plain" } });
    expect(r415.status).toBe(415);
    expect(await json(r415)).toMatchObject({
      name: "BadRequest",
      code: 415,
      className: "bad-request",
    });
  });

  it("500 without internals, with a request id", async () => {
    const clinic = await createClinic();
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    vi.spyOn(env.DB, "prepare").mockImplementation(() => {
      throw new Error("SQLITE_BUSY: secret internals");
    });
    const res = await call("POST", "/authentication", {
      headers: { "X-AccountCode": clinic.code },
      json: { strategy: "local", email: "a@example.test", password: "supersecretpass" },
    });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({
      name: "GeneralError",
      message: "Internal server error",
      code: 500,
      className: "general-error",
    });
    expect(text).not.toContain("secret internals");
    expect(errors).toHaveBeenCalledTimes(1);
    expect(String(errors.mock.calls[0]?.[0])).toContain(res.headers.get("x-request-id") as string);
    expect(String(errors.mock.calls[0]?.[0])).not.toContain("supersecretpass");

    // Secrets in paths (invitation codes, access tokens) are not logged: the route pattern is.
    errors.mockClear();
    await call("GET", "/account-waitlist/secret-invitation-code", {
      headers: { "X-AccountCode": clinic.code },
    });
    const logged = String(errors.mock.calls[0]?.[0]);
    expect(logged).not.toContain("secret-invitation-code");
    expect(JSON.parse(logged).route).toBe("/account-waitlist/:inviteCode");
  });
});
