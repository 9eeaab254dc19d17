/**
 * The one body reader. JSON, urlencoded and multipart bodies all become the same plain object, so that
 * a route's zod schema (which coerces numbers and booleans) sees identical input whatever the client sent.
 *
 * - Bodies over the cap are refused with 413 before parsing (Content-Length first, then while streaming).
 * - Content types other than the three are refused with 415; malformed JSON with 400.
 * - Form keys use bracket notation: `a[]=1&a[]=2` → `{a: ["1","2"]}`, `a[b]=1` → `{a: {b: "1"}}`,
 *   a repeated key becomes an array. Keys that could pollute prototypes are kept as plain own data
 *   properties (objects are created without a prototype) and rejected by the strict schemas.
 *
 * After reading, the request is presented to the route's validators as JSON (see `bodyReader`).
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "./errors";

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export async function readCapped(req: Request, max: number): Promise<Uint8Array> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > max) throw new ApiError("payload_too_large");
  if (!req.body) return new Uint8Array();
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw new ApiError("payload_too_large");
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
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

function mediaType(contentType: string | null): string {
  return (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

/** Reads and parses a request body into a plain object. An empty body is `{}`. */
export async function readBody(req: Request, maxBytes: number): Promise<Record<string, unknown>> {
  const type = mediaType(req.headers.get("content-type"));
  const bytes = await readCapped(req, maxBytes);
  if (bytes.byteLength === 0) {
    if (type === "" || type === "application/json" || isForm(type)) return {};
    throw new ApiError("unsupported_media_type");
  }
  if (type === "application/json" || /^application\/[\w.-]+\+json$/.test(type)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
    } catch {
      throw new ApiError("malformed_json");
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new ApiError("bad_request", { message: "The request body must be a JSON object" });
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
    throw new ApiError("bad_request", { message: "Malformed multipart body" });
  }
}

function isForm(type: string): boolean {
  return type === "application/x-www-form-urlencoded" || type === "multipart/form-data";
}

/**
 * Route middleware: reads the body with `readBody` and presents it to the route's validators as a JSON
 * request, so that one schema validates JSON, urlencoded and multipart clients alike.
 */
export const bodyReader: MiddlewareHandler<{ Bindings: { MAX_BODY_BYTES?: string } }> = async (c, next) => {
  const max = Number(c.env.MAX_BODY_BYTES) || DEFAULT_MAX_BODY_BYTES;
  const body = await readBody(c.req.raw, max);
  const headers = new Headers(c.req.raw.headers);
  headers.set("content-type", "application/json");
  headers.delete("content-length");
  c.req.raw = new Request(c.req.raw.url, { method: c.req.raw.method, headers });
  // Hono caches body readers as promises; the validator reads `text` from here.
  c.req.bodyCache = { text: Promise.resolve(JSON.stringify(body)) as unknown as string };
  await next();
};
