/**
 * Test helpers: every request goes through the real worker entry (`exports.default.fetch`), and every
 * test seeds the clinic and users it needs (unique codes, so tests never see each other's data).
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import worker from "../src/index";
import { setClock } from "../src/lib/clock";

export { env };

export const ADMIN_AUTH = { authorization: `Bearer ${env.ADMIN_API_KEY}` };

let counter = 0;
/** A unique lowercase id for clinic codes, usernames and emails. */
export function uniq(prefix = "t"): string {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${counter}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

export interface CallOptions {
  headers?: Record<string, string>;
  /** JSON body. */
  json?: unknown;
  /** urlencoded body (string values; arrays become repeated `key[]`). */
  form?: Record<string, string | string[]>;
  /** multipart body. */
  multipart?: Record<string, string | string[]>;
  /** Raw body with an explicit content type. */
  raw?: { body: BodyInit; type?: string };
}

/** A random client IP, so that per-client rate limits of one test never spill into another. */
export function randomIp(): string {
  const b = crypto.getRandomValues(new Uint8Array(4));
  return `10.${b[1]}.${b[2]}.${b[3]}`;
}

export async function call(method: string, path: string, opts: CallOptions = {}): Promise<Response> {
  return exports.default.fetch(buildRequest(method, path, opts));
}

/**
 * Like `call`, through the worker's default export with a test ExecutionContext, and waits for the
 * work the request left running after its response (`waitUntil`: message delivery, …).
 */
export async function callAndSettle(method: string, path: string, opts: CallOptions = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    buildRequest(method, path, opts) as Request<unknown, IncomingRequestCfProperties>,
    env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

export function buildRequest(method: string, path: string, opts: CallOptions = {}): Request {
  const headers = new Headers(opts.headers);
  if (!headers.has("cf-connecting-ip")) headers.set("cf-connecting-ip", randomIp());
  let body: BodyInit | undefined;
  if (opts.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(opts.json);
  } else if (opts.form) {
    headers.set("content-type", "application/x-www-form-urlencoded");
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.form)) {
      if (Array.isArray(v)) for (const x of v) params.append(`${k}[]`, x);
      else params.append(k, v);
    }
    body = params.toString();
  } else if (opts.multipart) {
    const fd = new FormData();
    for (const [k, v] of Object.entries(opts.multipart)) {
      if (Array.isArray(v)) for (const x of v) fd.append(`${k}[]`, x);
      else fd.append(k, v);
    }
    body = fd;
  } else if (opts.raw) {
    if (opts.raw.type) headers.set("content-type", opts.raw.type);
    body = opts.raw.body;
  }
  return new Request(`https://clinic-edge.test${path}`, { method, headers, body, redirect: "manual" });
}

export async function json<T = Record<string, unknown>>(res: Response): Promise<T> {
  const text = await res.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`not JSON (${res.status}): ${text.slice(0, 200)}`);
  }
}

export interface TestClinic {
  code: string;
  apiKey: string;
  /** Headers of a server-to-server call for this clinic. */
  server: Record<string, string>;
}

export async function createClinic(settings: Record<string, unknown> = {}): Promise<TestClinic> {
  const code = uniq("c");
  const res = await call("POST", "/admin/clinics", {
    headers: ADMIN_AUTH,
    json: { code, name: `Clinic ${code}`, domain: `${code}.example.test`, sso_enabled: true, ...settings },
  });
  if (res.status !== 201) throw new Error(`createClinic: ${res.status} ${await res.text()}`);
  const body = await json<{ api_key: string }>(res);
  return { code, apiKey: body.api_key, server: { "X-AccountCode": code, "X-ApiKey": body.api_key } };
}

/** A controllable clock for the app: `clock.set(t)` / `clock.advance(seconds)`; restore with `clock.reset()`. */
export const clock = {
  t: Date.now(),
  set(ms: number) {
    this.t = ms;
    setClock(() => this.t);
  },
  advance(seconds: number) {
    this.set(this.t + seconds * 1000);
  },
  freeze() {
    this.set(Date.now());
  },
  reset() {
    setClock();
  },
};
