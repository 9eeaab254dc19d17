/**
 * The one body reader. JSON, urlencoded and multipart bodies all become the same plain object, so that
 * a route's zod schema (which coerces numbers and booleans) sees identical input whatever the client sent.
 *
 * - Bodies over the cap are refused with 413 before parsing (Content-Length first, then while streaming:
 *   Hono's `bodyLimit`, with MAX_BODY_BYTES and the family's own 413).
 * - Content types other than the three are refused with 415; malformed JSON with 400.
 * - Form keys use bracket notation: `a[]=1&a[]=2` → `{a: ["1","2"]}`, `a[b]=1` → `{a: {b: "1"}}`,
 *   a repeated key becomes an array. Keys that could pollute prototypes are kept as plain own data
 *   properties (objects are created without a prototype) and rejected by the strict schemas.
 *
 * After reading, the request is handed to the route's validators as JSON (see `bodyReader`).
 */
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ApiError } from "./errors";

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** Thrown by the body caps: each family renders `payload_too_large` in its own shape (413). */
function tooLarge(): never {
  throw new ApiError("payload_too_large");
}

/**
 * Route middleware: refuses a body over `maxBytes` (or, without a number, MAX_BODY_BYTES) with 413 before
 * it is parsed, by Content-Length when declared, else while streaming (Hono's `bodyLimit`).
 */
export function capBody(maxBytes?: number): MiddlewareHandler<{ Bindings: { MAX_BODY_BYTES?: string } }> {
  return (c, next) =>
    bodyLimit({
      maxSize: maxBytes ?? (Number(c.env.MAX_BODY_BYTES) || DEFAULT_MAX_BODY_BYTES),
      onError: tooLarge,
    })(c, next);
}

/** The bytes of a request whose size `capBody` has already bounded (checked again, as they are read). */
export async function cappedBytes(req: Request, maxBytes: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(await req.arrayBuffer());
  if (bytes.byteLength > maxBytes) tooLarge();
  return bytes;
}

/** Splits `a[b][]` into ["a", "b", ""]; a key without brackets is one segment. Depth is capped. */
function keyPath(key: string): string[] {
  const open = key.indexOf("[");
  if (open <= 0 || !key.endsWith("]")) return [key];
  const rest = key.slice(open + 1, -1).split("][");
  if (rest.length > 4) return [key];
  return [key.slice(0, open), ...rest];
}

type Node = Record<string, Json>;

function own(node: Node, key: string): Json | undefined {
  return Object.hasOwn(node, key) ? node[key] : undefined;
}

/** Defines an own data property, so that even `__proto__` stays plain data (and fails strict schemas). */
function setOwn(node: Node, key: string, value: Json): void {
  Object.defineProperty(node, key, { value, enumerable: true, writable: true, configurable: true });
}

function assign(node: Node, [seg = "", ...rest]: string[], value: string): void {
  const existing = own(node, seg);
  if (rest.length === 0) {
    if (existing === undefined) setOwn(node, seg, value);
    else if (Array.isArray(existing)) existing.push(value);
    else setOwn(node, seg, [existing, value]);
    return;
  }
  if (rest.length === 1 && rest[0] === "") {
    if (Array.isArray(existing)) existing.push(value);
    else setOwn(node, seg, existing === undefined ? [value] : [existing, value]);
    return;
  }
  let child = existing;
  if (child === null || typeof child !== "object" || Array.isArray(child)) {
    child = Object.create(null) as Node;
    setOwn(node, seg, child);
  }
  assign(child as Node, rest, value);
}

/** Builds the nested object that bracket-notation form fields describe. */
export function fromEntries(entries: Iterable<[string, string]>): Node {
  const root: Node = Object.create(null);
  for (const [key, value] of entries) assign(root, keyPath(key), value);
  return root;
}

/** `application/json` and its `+json` suffixes (what Hono's `json` validator reads). */
const JSON_TYPE = /^application\/([\w.-]+\+)?json$/;

function mediaType(contentType: string | null): string {
  return (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

/** Reads and parses a request body (already bounded by `capBody`) into a plain object; empty is `{}`. */
export async function readBody(req: Request, maxBytes: number): Promise<Record<string, unknown>> {
  const type = mediaType(req.headers.get("content-type"));
  const bytes = await cappedBytes(req, maxBytes);
  if (bytes.byteLength === 0) {
    if (type === "" || type === "application/json" || isForm(type)) return {};
    throw new ApiError("unsupported_media_type");
  }
  if (JSON_TYPE.test(type)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
    } catch {
      throw new ApiError("malformed_json");
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new ApiError("body_not_object");
    }
    return parsed as Record<string, unknown>;
  }
  if (type === "application/x-www-form-urlencoded") {
    const text = new TextDecoder().decode(bytes);
    return fromEntries(new URLSearchParams(text));
  }
  if (type === "multipart/form-data") {
    const form = await parseMultipart(req, bytes);
    const entries: [string, string][] = [];
    for (const [key, value] of form) {
      if (typeof value !== "string")
        throw new ApiError("file_not_accepted", {
          fields: [{ param: key, message: "File uploads are not accepted here" }],
        });
      entries.push([key, value]);
    }
    return fromEntries(entries);
  }
  throw new ApiError("unsupported_media_type");
}

/** Parses a multipart/form-data body already read from `req` (a malformed one is a 400). */
export async function parseMultipart(req: Request, bytes: Uint8Array): Promise<FormData> {
  try {
    return await new Response(bytes, {
      headers: { "content-type": req.headers.get("content-type") ?? "" },
    }).formData();
  } catch {
    throw new ApiError("malformed_multipart");
  }
}

function isForm(type: string): boolean {
  return type === "application/x-www-form-urlencoded" || type === "multipart/form-data";
}

/**
 * Route middleware: caps the body (`capBody`), reads it once with `readBody` and hands the parsed object
 * on to the route's validators, so that one schema validates JSON, urlencoded and multipart clients alike.
 * The object goes into Hono's request body cache (`c.req.bodyCache.json`, where `c.req.json()` and so the
 * `json` validator find it, as Hono's own form validator caches what it parsed); the body is neither
 * serialised nor parsed again. A request that did not say JSON is replaced through Hono's public
 * `c.req.raw` (as its own `bodyLimit` does) by one that does and carries no body, since the validator
 * only reads bodies declared as JSON.
 */
export const bodyReader: MiddlewareHandler<{ Bindings: { MAX_BODY_BYTES?: string } }> = (c, next) => {
  const max = Number(c.env.MAX_BODY_BYTES) || DEFAULT_MAX_BODY_BYTES;
  return capBody(max)(c, async () => {
    const body = await readBody(c.req.raw, max);
    if (!JSON_TYPE.test(mediaType(c.req.raw.headers.get("content-type")))) {
      const headers = new Headers(c.req.raw.headers);
      headers.set("content-type", "application/json");
      headers.delete("content-length");
      headers.delete("transfer-encoding");
      c.req.raw = new Request(c.req.raw.url, { method: c.req.raw.method, headers });
    }
    c.req.bodyCache = { json: Promise.resolve(body) };
    await next();
  });
};
