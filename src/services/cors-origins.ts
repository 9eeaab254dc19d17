/**
 * The clinics' CORS origins (`settings.corsOrigins`, admin API), read for middleware/cors.ts: one clinic's
 * list, and whether any enabled clinic lists an origin (preflights). Lists are cached per isolate for a
 * minute (settings changes reach every location within that), so that browser calls on hot paths add no
 * D1 round trip.
 */
import { nowMs } from "../lib/clock";
import type { Bindings } from "../types";

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

export async function originsOf(env: Bindings, clinicCode: string): Promise<string[]> {
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

export async function listedBySomeClinic(env: Bindings, origin: string): Promise<boolean> {
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
