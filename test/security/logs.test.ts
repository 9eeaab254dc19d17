/**
 * Logs: one JSON object per line through the one logger, always with the request id (or the cron run's
 * id), secrets and personal data redacted.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { redact, write } from "../../src/lib/log";
import { call, createClinic, env } from "../helpers";

afterEach(() => vi.restoreAllMocks());

describe("the logger", () => {
  it("redacts sensitive fields at any depth and masks tokens, JWTs and emails in strings", () => {
    const lines: string[] = [];
    vi.spyOn(console, "warn").mockImplementation((line: string) => lines.push(line));
    write("warn", "req-1", "example", {
      password: "hunter2hunter2",
      nested: { accessToken: "abc", first_name: "Jane", medical_history: "asthma", count: 3 },
      list: [{ email: "jane@example.test" }],
      message:
        "user jane.doe@example.test sent eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl and 0123456789abcdef0123456789abcdef",
      header: "Bearer s3cr3t-value",
    });
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0] as string);
    expect(line).toMatchObject({
      level: "warn",
      event: "example",
      requestId: "req-1",
      password: "[redacted]",
      nested: {
        accessToken: "[redacted]",
        first_name: "[redacted]",
        medical_history: "[redacted]",
        count: 3,
      },
      list: [{ email: "[redacted]" }],
      header: "Bearer [redacted]",
    });
    expect(line.message).toBe("user [email] sent [jwt] and [token]");
    for (const secret of ["hunter2", "Jane", "asthma", "jane@example.test", "s3cr3t", "eyJ"]) {
      expect(lines[0]).not.toContain(secret);
    }
  });

  it("caps depth and size", () => {
    const deep = { a: { b: { c: { d: { e: { f: 1 } } } } } };
    expect(JSON.stringify(redact(deep))).toContain("[…]");
    expect(String(redact("x".repeat(5000))).length).toBeLessThan(2100);
  });
});

describe("log lines of the app", () => {
  it("an unexpected error is one JSON line with the request id, the route pattern, and no request data", async () => {
    const clinic = await createClinic();
    const lines: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: string) => lines.push(line));
    vi.spyOn(env.DB, "prepare").mockImplementation(() => {
      throw new Error("D1_ERROR: no such table: users (user jane@example.test)");
    });
    const res = await call("GET", "/api_v3/rooms", {
      headers: { ...clinic.server, "x-request-id": "trace-42" },
    });
    expect(res.status).toBe(500);
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0] as string);
    expect(line).toMatchObject({
      level: "error",
      event: "unexpected_error",
      requestId: "trace-42",
      route: "/api_v3/rooms",
    });
    expect(lines[0]).not.toContain("jane@example.test");
    expect(lines[0]).not.toContain(clinic.apiKey);
  });

  it("a failed message delivery logs the request id of the request that queued it, never the body", async () => {
    const { deliverDue, queueMessage } = await import("../../src/services/outbox");
    const clinic = await createClinic();
    const row = await env.DB.prepare("SELECT id FROM clinics WHERE code = ?")
      .bind(clinic.code)
      .first<{ id: number }>();
    const queued = await queueMessage(env.DB, row?.id as number, "email", "pat@example.test", "welcome", {
      clinicName: "C",
    }).first<{ id: number }>();
    const lines: string[] = [];
    vi.spyOn(console, "warn").mockImplementation((line: string) => lines.push(line));
    await deliverDue(env, {
      ids: [queued?.id as number],
      requestId: "req-queued",
      sender: {
        send: async () => {
          throw new Error("provider down");
        },
      },
    });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      event: "message_failed",
      requestId: "req-queued",
    });
    expect(lines[0]).not.toContain("pat@example.test");
  });
});
