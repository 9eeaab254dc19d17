/**
 * CORS, per clinic. By default no origin is allowed: a browser page may read a response only when its
 * Origin is listed in the clinic's `settings.corsOrigins` (admin API). The clinic is the one the request
 * ended up serving (its token's, its API key's, else X-AccountCode or the default clinic).
 *
 * Preflights (OPTIONS with Access-Control-Request-Method) carry no header values, so the clinic is not
 * known yet: a preflight is answered for an origin that some enabled clinic lists, and the actual
 * response is then allowed only for that clinic's own origins. Requests carry their credentials in
 * headers (never cookies: no Allow-Credentials), so a preflight lets nothing through that a script could
 * not send from a server anyway. `X-ApiKey` is not an allowed header: the clinic's API key belongs on
 * its servers, never in a browser.
 *
 * Lists are cached per isolate for a minute (settings changes reach every location within that), so
 * browser calls on hot paths add no D1 round trip; requests without Origin (servers) skip all of this.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { nowMs } from "../lib/clock";
import type { AppEnv, Bindings } from "../types";
import { clinicCodeOf } from "./tenant";

const ALLOWED_HEADERS = [
  "authorization",
  "content-type",
  "if-match",
  "x-accountcode",
  "x-apitoken",
  // Names the patient of GET/PUT /state for a physician or insurer (register family).
  "x-patient-id",
  "x-request-id",
];
const ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE";
const EXPOSED_HEADERS = "ETag, Retry-After, X-Request-Id, Allow";
const MAX_AGE = "600";
const CACHE_MS = 60_000;

/** The origin of a configured entry ("https://portal.example.com/" → "https://portal.example.com"). */
function originOf(entry: string): string | null {
  try {
    const url = new URL(entry);
    return url.protocol === "https:" || url.protocol === "http:" ? url.origin : null;
  } catch {
    return null;
  }
}

export function allowsOrigin(corsOrigins: readonly string[] | undefined, origin: string): boolean {
  return (corsOrigins ?? []).some((entry) => originOf(entry) === origin);
}

const CACHE_SIZE = 1000;
const byClinic = new Map<string, { origins: string[]; until: number }>();
let everyListed: { origins: Set<string>; until: number } | undefined;

/** Forgets cached lists (after an operator changed a clinic in this isolate). */
export function forgetCorsCache(): void {
  byClinic.clear();
  everyListed = undefined;
}

async function originsOf(env: Bindings, clinicCode: string): Promise<string[]> {
  const hit = byClinic.get(clinicCode);
  if (hit && hit.until > nowMs()) return hit.origins;
  const row = await env.DB.prepare(
    "SELECT json_extract(settings, '$.corsOrigins') AS origins FROM clinics WHERE code = ? AND disabled = 0",
  )
    .bind(clinicCode)
    .first<{ origins: string | null }>();
  const origins = parseList(row?.origins);
  // Codes come from request headers: the cache must not grow without bound.
  if (byClinic.size >= CACHE_SIZE) byClinic.clear();
  byClinic.set(clinicCode, { origins, until: nowMs() + CACHE_MS });
  return origins;
}

async function listedBySomeClinic(env: Bindings, origin: string): Promise<boolean> {
  if (!everyListed || everyListed.until <= nowMs()) {
    const { results } = await env.DB.prepare(
      `SELECT DISTINCT j.value AS entry FROM clinics, json_each(clinics.settings, '$.corsOrigins') AS j
       WHERE clinics.disabled = 0`,
    ).all<{ entry: string }>();
    const origins = new Set(results.map((r) => originOf(String(r.entry))).filter((o) => o !== null));
    everyListed = { origins, until: nowMs() + CACHE_MS };
  }
  return everyListed.origins.has(origin);
}

function parseList(json: string | null | undefined): string[] {
  if (!json) return [];
  try {
    const list = JSON.parse(json) as unknown;
    return Array.isArray(list) ? list.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}

/** The clinic whose origins decide: the one the request was served for. */
function servedClinic(c: Context<AppEnv>): { code: string; corsOrigins?: string[] } {
  const clinic = c.get("clinic");
  if (clinic) return { code: clinic.code, corsOrigins: clinic.settings.corsOrigins ?? [] };
  const code = c.get("caller")?.clinicCode ?? c.get("account")?.clinicCode ?? clinicCodeOf(c.req, c.env);
  return { code };
}

function preflight(c: Context<AppEnv>, origin: string, allowed: boolean): Response {
  const headers = new Headers({ Vary: "Origin" });
  if (allowed) {
    const requested = (c.req.header("access-control-request-headers") ?? "")
      .split(",")
      .map((h) => h.trim().toLowerCase())
      .filter((h) => ALLOWED_HEADERS.includes(h));
    headers.set("Access-Control-Allow-Origin", origin);
    headers.set("Access-Control-Allow-Methods", ALLOWED_METHODS);
    if (requested.length > 0) headers.set("Access-Control-Allow-Headers", requested.join(", "));
    headers.set("Access-Control-Max-Age", MAX_AGE);
  }
  return new Response(null, { status: 204, headers });
}

export const cors = createMiddleware<AppEnv>(async (c, next) => {
  const origin = c.req.header("origin");
  if (!origin || origin === "null") return next();
  if (c.req.method === "OPTIONS" && c.req.header("access-control-request-method")) {
    return preflight(c, origin, await listedBySomeClinic(c.env, origin));
  }
  await next();
  if (c.res.status === 101) return;
  c.res.headers.append("Vary", "Origin");
  const clinic = servedClinic(c);
  const origins = clinic.corsOrigins ?? (await originsOf(c.env, clinic.code));
  if (allowsOrigin(origins, origin)) {
    c.res.headers.set("Access-Control-Allow-Origin", origin);
    c.res.headers.set("Access-Control-Expose-Headers", EXPOSED_HEADERS);
  }
});
