/**
 * Storage fault injection for tests inside workerd: wraps the real local D1, KV and Durable Object bindings
 * of `env` (nothing of `cloudflare:workers` is mocked) so that the Nth storage call, or every call matching a
 * statement or key, throws the error the real platform throws. Requests then go through the worker's own
 * entry with the wrapped env (`worker.fetch(req, faulty.env, ctx)`).
 *
 * Every storage call is one `Op`: a D1 statement run on its own (`first`/`all`/`run`/`raw`) or a whole
 * `batch` (one round trip, atomic), a KV `get`/`put`/`delete`/`list`, or a Durable Object stub call (`fetch`
 * or an RPC method).
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../src/index";
import type { Bindings } from "../../src/types";
import { env } from "../helpers";

export type Store = "d1" | "kv" | "do";

export interface Op {
  store: Store;
  method: string;
  /** The SQL (of every statement, for a batch), the KV key, or the Durable Object method. */
  detail: string;
}

export type ErrorKind = "d1_network" | "d1_reset" | "kv_429" | "kv_500" | "do_reset" | "do_overloaded";

/** The errors the platform throws, as workerd and the Cloudflare docs word them. */
export function platformError(kind: ErrorKind): Error {
  switch (kind) {
    case "d1_network":
      return new Error("D1_ERROR: Network connection lost.");
    case "d1_reset":
      return new Error("D1_ERROR: D1 DB storage operation exceeded timeout which caused object to be reset.");
    case "kv_429":
      return new Error("KV PUT failed: 429 Too Many Requests");
    case "kv_500":
      return new Error("KV GET failed: 500 Internal Server Error");
    case "do_reset":
      return Object.assign(new Error("Durable Object reset because its code was updated."), {
        retryable: true,
      });
    case "do_overloaded":
      return Object.assign(new Error("Durable Object is overloaded. Too many requests queued."), {
        overloaded: true,
      });
  }
}

const DEFAULT_ERROR: Record<Store, ErrorKind> = { d1: "d1_network", kv: "kv_500", do: "do_reset" };

export interface Fault {
  /** Only calls of this store count (all stores when absent). */
  store?: Store;
  /** Only calls whose detail matches count. */
  match?: RegExp;
  /** Fail the Nth counted call (0-based); every counted call when absent. */
  nth?: number;
  /** The error thrown (the store's usual one by default). */
  error?: ErrorKind;
}

export interface Faulty {
  env: Bindings;
  /** Every storage call made, in order (failed ones too). */
  calls: Op[];
  /** The calls that were made to fail. */
  injected: Op[];
}

/** `env` with its storage bindings wrapped; with no fault it only records the calls. */
export function faulty(fault?: Fault, base: Bindings = env as Bindings): Faulty {
  const calls: Op[] = [];
  const injected: Op[] = [];
  let counted = 0;
  const check = (op: Op) => {
    calls.push(op);
    if (!fault) return;
    if (fault.store && fault.store !== op.store) return;
    if (fault.match && !fault.match.test(op.detail)) return;
    const index = counted++;
    if (fault.nth !== undefined && fault.nth !== index) return;
    injected.push(op);
    throw platformError(fault.error ?? DEFAULT_ERROR[op.store]);
  };
  // defineProperties, not assignment: `env` may be a Proxy whose set trap would write through to the real env.
  const wrapped = Object.create(base, {
    DB: { value: wrapD1(base.DB, check), enumerable: true },
    KV: { value: wrapKv(base.KV, check), enumerable: true },
    CARE_RECORD: { value: wrapDo(base.CARE_RECORD, check), enumerable: true },
  }) as Bindings;
  return { env: wrapped, calls, injected };
}

type Check = (op: Op) => void;

function wrapD1(db: D1Database, check: Check): D1Database {
  const real = new WeakMap<object, D1PreparedStatement>();
  const sqlOf = new WeakMap<object, string>();
  const wrapStatement = (stmt: D1PreparedStatement, sql: string): D1PreparedStatement => {
    const proxy = new Proxy(stmt, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (prop === "bind") {
          return (...args: unknown[]) => wrapStatement(target.bind(...args), sql);
        }
        if (prop === "first" || prop === "all" || prop === "run" || prop === "raw") {
          return async (...args: unknown[]) => {
            check({ store: "d1", method: prop, detail: sql });
            return Reflect.apply(value as (...a: unknown[]) => unknown, target, args);
          };
        }
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    real.set(proxy, stmt);
    sqlOf.set(proxy, sql);
    return proxy;
  };
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") return (sql: string) => wrapStatement(target.prepare(sql), sql);
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          check({
            store: "d1",
            method: "batch",
            detail: statements.map((s) => sqlOf.get(s) ?? "?").join(";\n"),
          });
          return target.batch(statements.map((s) => real.get(s) ?? s));
        };
      }
      if (prop === "exec") {
        return async (sql: string) => {
          check({ store: "d1", method: "exec", detail: sql });
          return target.exec(sql);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function wrapKv(kv: KVNamespace, check: Check): KVNamespace {
  return new Proxy(kv, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (
        prop === "get" ||
        prop === "put" ||
        prop === "delete" ||
        prop === "list" ||
        prop === "getWithMetadata"
      ) {
        return async (...args: unknown[]) => {
          const key = typeof args[0] === "string" ? args[0] : JSON.stringify(args[0] ?? "");
          check({ store: "kv", method: prop, detail: key });
          return Reflect.apply(value as (...a: unknown[]) => unknown, target, args);
        };
      }
      return value.bind(target);
    },
  });
}

function wrapDo<T extends Rpc.DurableObjectBranded | undefined>(
  ns: DurableObjectNamespace<T>,
  check: Check,
): DurableObjectNamespace<T> {
  const wrapStub = (stub: DurableObjectStub<T>) =>
    new Proxy(stub, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (typeof prop !== "string" || prop === "id" || prop === "name" || prop === "then") return value;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          check({ store: "do", method: prop, detail: prop });
          return Reflect.apply(value as (...a: unknown[]) => unknown, target, args);
        };
      },
    });
  return new Proxy(ns, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop === "get" || prop === "getByName") {
        return (...args: unknown[]) =>
          wrapStub(Reflect.apply(value as (...a: unknown[]) => DurableObjectStub<T>, target, args));
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** A request through the worker's entry with the wrapped env, waiting for its after-response work. */
export async function fetchWith(f: Faulty, req: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(req as Request<unknown, IncomingRequestCfProperties>, f.env, ctx);
  // Read the body before the after-response work settles (it may fail too: that must not change the answer).
  const body = await res.arrayBuffer();
  await waitOnExecutionContext(ctx).catch(() => undefined);
  return new Response(body, res);
}
