/**
 * Message delivery (DESIGN.md "Messages"): outbox rows written with the change, a first attempt right
 * after the response, retries with backoff from the cron handler, exactly-once marking, failures
 * recorded, the HTTP providers, and the operators' outbox API. Codes never reach the logs.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import {
  backoff,
  deliverDue,
  MAX_ATTEMPTS,
  type OutboxRow,
  queuedIds,
  queueMessage,
} from "../../src/services/outbox";
import { codeFrom, email, messagesTo, mobile, signup, tenant } from "../accounts/support";
import { ADMIN_AUTH, call, callAndSettle, clock, env, json } from "../helpers";

afterEach(() => {
  clock.reset();
  vi.restoreAllMocks();
});

async function queue(recipient = email(), clinicId = 1) {
  const results = await env.DB.batch([
    queueMessage(env.DB, clinicId, "email", recipient, "welcome", { clinicName: "Test Clinic", name: "Ann" }),
  ]);
  const [id] = queuedIds(results);
  return id as number;
}

const row = (id: number) =>
  env.DB.prepare(
    "SELECT status, attempts, next_attempt_at, last_error, sent_at, body_text FROM outbox WHERE id = ?",
  )
    .bind(id)
    .first<{
      status: string;
      attempts: number;
      next_attempt_at: number;
      last_error: string | null;
      sent_at: number | null;
      body_text: string;
    }>();

async function runCron() {
  const ctx = createExecutionContext();
  await worker.scheduled?.(createScheduledController({ cron: "*/5 * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
}

describe("deliverDue", () => {
  it("retries a failed message after its backoff, and marks it sent once", async () => {
    clock.freeze();
    const id = await queue();
    const sent: number[] = [];
    let fail = true;
    const flaky = {
      async send(m: OutboxRow) {
        if (fail) throw new Error("provider answered 503");
        sent.push(m.id);
      },
    };
    vi.spyOn(console, "warn").mockImplementation(() => {});
    expect(await deliverDue(env, { ids: [id], sender: flaky })).toEqual({ sent: 0, failed: 1 });
    expect(await row(id)).toMatchObject({
      status: "pending",
      attempts: 1,
      last_error: "provider answered 503",
    });
    // Not due before its backoff.
    fail = false;
    expect(await deliverDue(env, { ids: [id], sender: flaky })).toEqual({ sent: 0, failed: 0 });
    clock.advance(backoff(1));
    expect(await deliverDue(env, { ids: [id], sender: flaky })).toEqual({ sent: 1, failed: 0 });
    expect(await row(id)).toMatchObject({ status: "sent", attempts: 2, last_error: null });
    // Sent rows are never sent again.
    clock.advance(3600);
    expect(await deliverDue(env, { ids: [id], sender: flaky })).toEqual({ sent: 0, failed: 0 });
    expect(sent).toEqual([id]);
  });

  it("gives up after MAX_ATTEMPTS and records the failure", async () => {
    clock.freeze();
    const id = await queue();
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const down = {
      async send() {
        throw new Error("connection refused");
      },
    };
    for (let i = 1; i <= MAX_ATTEMPTS; i++) {
      expect(await deliverDue(env, { ids: [id], sender: down })).toEqual({ sent: 0, failed: 1 });
      clock.advance(backoff(i));
    }
    expect(await row(id)).toMatchObject({
      status: "failed",
      attempts: MAX_ATTEMPTS,
      last_error: "connection refused",
    });
    expect(await deliverDue(env, { ids: [id], sender: down })).toEqual({ sent: 0, failed: 0 });
  });

  it("a claim that outlived its lease is taken over, and the stale claimant cannot change the outcome", async () => {
    clock.freeze();
    const id = await queue();
    let release: () => void = () => {};
    const stuck = {
      send: () =>
        new Promise<void>((_, reject) => {
          release = () => reject(new Error("timed out"));
        }),
    };
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const first = deliverDue(env, { ids: [id], sender: stuck });
    await vi.waitFor(async () => expect((await row(id))?.status).toBe("sending"));
    clock.advance(121);
    expect(await deliverDue(env, { ids: [id], sender: { async send() {} } })).toEqual({ sent: 1, failed: 0 });
    release();
    await first;
    expect(await row(id)).toMatchObject({ status: "sent", attempts: 2, last_error: null });
  });
});

describe("delivery through the worker", () => {
  it("signup queues its messages in the batch; a provider failure is retried by the cron handler", async () => {
    clock.freeze();
    const t = await tenant();
    const address = email();
    const saved = { ...env };
    Object.assign(env, {
      MESSAGE_SENDER: "http",
      EMAIL_HTTP_URL: "https://mail.example.test/send",
      EMAIL_HTTP_TOKEN: "mail-token",
      SMS_HTTP_URL: "https://sms.example.test/send",
    });
    const logs = [vi.spyOn(console, "warn"), vi.spyOn(console, "error"), vi.spyOn(console, "log")].map((s) =>
      s.mockImplementation(() => {}),
    );
    const requests: { url: string; body: Record<string, string>; auth: string | null }[] = [];
    let up = false;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const request = new Request(input, init);
      requests.push({
        url: request.url,
        body: await request.json(),
        auth: request.headers.get("authorization"),
      });
      return new Response(up ? "{}" : "unavailable", { status: up ? 200 : 503 });
    });
    try {
      const account = await signup(t, { email: address });
      const code = await codeFrom(t, address, "email_verification");
      // The first attempt ran right after the response, and failed.
      expect(requests.map((r) => r.url)).toEqual([
        "https://mail.example.test/send",
        "https://mail.example.test/send",
      ]);
      expect(requests[0]?.auth).toBe("Bearer mail-token");
      expect(requests[1]?.body).toMatchObject({
        to: address,
        subject: expect.stringContaining("verify your email"),
      });
      let messages = await messagesTo(t, address);
      expect(messages.map((m) => [m.status, m.attempts, m.last_error])).toEqual([
        ["pending", 1, "provider answered 503"],
        ["pending", 1, "provider answered 503"],
      ]);
      // The provider is back; the cron handler delivers once the backoff has passed.
      up = true;
      clock.advance(backoff(1));
      await runCron();
      messages = await messagesTo(t, address);
      expect(messages.map((m) => [m.status, m.attempts])).toEqual([
        ["sent", 2],
        ["sent", 2],
      ]);
      // Delivered by a real provider: the body (and its code) is erased from the outbox.
      expect(messages.every((m) => m.body_text === "" && m.body_html === null)).toBe(true);
      expect(requests.filter((r) => r.body.to === address)).toHaveLength(4);
      expect(account.uid).toMatch(/^\d+$/);
      // Nothing logged carries the code or the address.
      const logged = JSON.stringify(logs.flatMap((s) => s.mock.calls));
      expect(logged).not.toContain(code);
      expect(logged).not.toContain(address);
    } finally {
      Object.assign(env, {
        MESSAGE_SENDER: saved.MESSAGE_SENDER,
        EMAIL_HTTP_URL: undefined,
        EMAIL_HTTP_TOKEN: undefined,
        SMS_HTTP_URL: undefined,
      });
    }
  });

  it("the SMS provider gets {to, text}", async () => {
    const t = await tenant();
    Object.assign(env, {
      MESSAGE_SENDER: "http",
      SMS_HTTP_URL: "https://sms.example.test/send",
      EMAIL_HTTP_URL: "https://mail.example.test/send",
    });
    const bodies: Record<string, string>[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const request = new Request(input, init);
      if (request.url.startsWith("https://sms.")) bodies.push(await request.json());
      return new Response("{}", { status: 200 });
    });
    try {
      const number = mobile();
      await signup(t, { email: undefined, mobileNo: number });
      expect(bodies).toEqual([
        { to: number, text: expect.stringMatching(/your verification code is \d{6}/) },
      ]);
    } finally {
      Object.assign(env, { MESSAGE_SENDER: "outbox", SMS_HTTP_URL: undefined, EMAIL_HTTP_URL: undefined });
    }
  });
});

describe("GET /admin/outbox", () => {
  it("lists a clinic's messages newest first, with paging and a status filter", async () => {
    const t = await tenant();
    const other = await tenant();
    const a = email();
    await callAndSettle("POST", "/accounts", {
      headers: t.headers,
      json: { email: a, password: "supersecretpass" },
    });
    await callAndSettle("POST", "/accounts", {
      headers: other.headers,
      json: { email: email(), password: "supersecretpass" },
    });
    const res = await call("GET", `/admin/outbox?clinic=${t.code}&limit=1`, { headers: ADMIN_AUTH });
    expect(res.status).toBe(200);
    const page = await json<{ data: Record<string, unknown>[]; total: number; start: number; limit: number }>(
      res,
    );
    expect(page).toMatchObject({ total: 2, start: 0, limit: 1 });
    expect(page.data[0]).toMatchObject({
      recipient: a,
      template: "email_verification",
      status: "sent",
      channel: "email",
    });
    const second = await json<{ data: Record<string, unknown>[] }>(
      await call("GET", `/admin/outbox?clinic=${t.code}&limit=1&start=1`, { headers: ADMIN_AUTH }),
    );
    expect(second.data[0]).toMatchObject({ template: "welcome" });
    const pending = await json<{ total: number }>(
      await call("GET", `/admin/outbox?clinic=${t.code}&status=pending`, { headers: ADMIN_AUTH }),
    );
    expect(pending.total).toBe(0);
  });

  it("is for operators only, and validates its filters", async () => {
    expect((await call("GET", "/admin/outbox")).status).toBe(401);
    expect((await call("GET", "/admin/outbox?clinic=nosuchclinic", { headers: ADMIN_AUTH })).status).toBe(
      404,
    );
    const bad = await call("GET", "/admin/outbox?status=lost&limit=1000", { headers: ADMIN_AUTH });
    expect(bad.status).toBe(400);
    expect(await json(bad)).toMatchObject({ code: 400, error: "validation_failed" });
  });
});
