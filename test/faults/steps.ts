/**
 * The fault-injection driver of test/faults/*.test.ts: runs a flow once per storage call with that call
 * failing (see eachStep), with the family's error shape and the no-secrets-in-logs check on the error path.
 */
import { expect, vi } from "vitest";
import { buildRequest, type CallOptions, env, type TestClinic } from "../helpers";
import { type Fault, faulty, fetchWith, type Op } from "./inject";

export interface Flow<W> {
  /** A fresh world for one attempt (its own clinic and users). */
  setup(): Promise<W>;
  request(w: W): { method: string; path: string; opts: CallOptions };
  /** What the flow changes, read from the stores directly (compared before, after a failure, after the retry). */
  snapshot(w: W): Promise<unknown>;
  /** Checks the successful retry's answer (and the state once). */
  done?(w: W, res: Response, body: unknown): Promise<void> | void;
  /** The family's error shape for a 5xx. */
  shape: "vsee" | "accounts" | "register" | "admin";
}

function expectShape(shape: Flow<unknown>["shape"], status: number, body: Record<string, unknown>) {
  if (shape === "vsee") expect(body).toMatchObject({ code: status, message: expect.any(String) });
  if (shape === "accounts") expect(body).toMatchObject({ code: status, name: expect.any(String) });
  if (shape === "register") expect(body).toMatchObject({ error: expect.any(String) });
  if (shape === "admin") expect(body).toMatchObject({ code: status, error: expect.any(String) });
  expect(JSON.stringify(body)).not.toMatch(/D1_ERROR|KV (GET|PUT)|Durable Object|stack|at /);
}

/** Secrets and personal data that must never reach a log line on the error path. */
const SECRET = /[0-9a-f]{32}|eyJ[\w-]+\.|ce_[0-9a-f]{20,}|@example\.test|\$argon2/;

/**
 * Runs `flow` once without faults to learn its storage calls and the state it leaves, then once per call
 * with that call failing: the state after the failure is the state before or the whole change, never a
 * part; the same request again, with storage healthy, succeeds and leaves the whole change once.
 */
export async function eachStep<W>(flow: Flow<W>, fault: Omit<Fault, "nth"> = {}) {
  const w0 = await flow.setup();
  const f0 = faulty();
  const r0 = flow.request(w0);
  const res0 = await fetchWith(f0, buildRequest(r0.method, r0.path, r0.opts));
  expect(res0.status, await res0.clone().text()).toBeLessThan(300);
  const whole = JSON.stringify(await flow.snapshot(w0));
  const steps = f0.calls.filter((op) => matches(op, fault));
  expect(steps.length).toBeGreaterThan(0);
  const outcomes: { op: Op; status: number }[] = [];
  for (let nth = 0; nth < steps.length; nth++) {
    const op = steps[nth] as Op;
    const where = `${op.store} ${op.method} ${op.detail.slice(0, 80)}`;
    const w = await flow.setup();
    const before = JSON.stringify(await flow.snapshot(w));
    const lines: string[] = [];
    const capture = (...args: unknown[]) => lines.push(args.map(String).join(" "));
    const spies = [
      vi.spyOn(console, "log").mockImplementation(capture),
      vi.spyOn(console, "warn").mockImplementation(capture),
      vi.spyOn(console, "error").mockImplementation(capture),
    ];
    const { method, path, opts } = flow.request(w);
    const res = await fetchWith(faulty({ ...fault, nth }), buildRequest(method, path, opts));
    for (const spy of spies) spy.mockRestore();
    const text = await res.text();
    outcomes.push({ op, status: res.status });
    for (const line of lines) expect(line, where).not.toMatch(SECRET);
    const after = JSON.stringify(await flow.snapshot(w));
    if (res.status < 300) {
      // A call whose failure the flow tolerates (after-response work): the change is whole.
      expect(after, where).toBe(whole);
      continue;
    }
    expect([500, 503], `${where}: ${text}`).toContain(res.status);
    if (res.status === 503) expect(res.headers.get("retry-after"), where).toBe("1");
    expectShape(flow.shape, res.status, JSON.parse(text));
    expect([before, whole], `${where}: half-written`).toContain(after);
    const retried = await fetchWith(faulty(), buildRequest(method, path, opts));
    const body = await retried.text();
    expect(retried.status, `retry after ${where}: ${body}`).toBeLessThan(300);
    expect(JSON.stringify(await flow.snapshot(w)), `retry after ${where}`).toBe(whole);
    await flow.done?.(w, retried, JSON.parse(body));
  }
  return outcomes;
}

function matches(op: Op, fault: Omit<Fault, "nth">) {
  return (!fault.store || fault.store === op.store) && (!fault.match || fault.match.test(op.detail));
}

export const count = async (sql: string, ...params: unknown[]) =>
  (
    await env.DB.prepare(sql)
      .bind(...params)
      .first<{ n: number }>()
  )?.n ?? 0;

export const clinicId = async (clinic: TestClinic) =>
  (await env.DB.prepare("SELECT id FROM clinics WHERE code = ?").bind(clinic.code).first<{ id: number }>())
    ?.id as number;
