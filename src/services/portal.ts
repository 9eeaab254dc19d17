/**
 * What the portal's pages need to know about a clinic: its name and its branding (settings `logoUrl`,
 * `accentColor`), found by id (a signed-in page), by code (a link's `?clinic=`, a form's hidden field) or
 * by the host the browser asked for (a clinic's own `domain`). One D1 query each, and only enabled clinics.
 */
import type { ClinicSettings } from "../db/schema";
import type { Bindings } from "../types";

export interface PortalClinic {
  id: number;
  code: string;
  name: string;
  /** An https URL of the clinic's logo (settings.logoUrl), when set. */
  logoUrl?: string;
  /** `#rrggbb` (settings.accentColor), when set. */
  accentColor?: string;
}

interface Row {
  id: number;
  code: string;
  name: string;
  settings: string;
}

const COLUMNS = "SELECT id, code, name, settings FROM clinics";

/** `#rrggbb` (a flagless pattern: the OpenAPI document carries it). */
export const ACCENT_COLOR = /^#[0-9A-Fa-f]{6}$/;

/** An absolute https URL (no credentials), the only kind of logo URL a clinic may set. */
export function isLogoUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "https:" && url.username === "" && url.password === "" && url.hostname !== "";
  } catch {
    return false;
  }
}

function toPortalClinic(row: Row): PortalClinic {
  let settings: ClinicSettings = {};
  try {
    settings = JSON.parse(row.settings) as ClinicSettings;
  } catch {
    // A clinic whose settings do not parse keeps its name, without branding.
  }
  const clinic: PortalClinic = { id: row.id, code: row.code, name: row.name };
  // Checked again when read: only values the admin API would accept reach a page.
  if (typeof settings.logoUrl === "string" && isLogoUrl(settings.logoUrl)) clinic.logoUrl = settings.logoUrl;
  if (typeof settings.accentColor === "string" && ACCENT_COLOR.test(settings.accentColor)) {
    clinic.accentColor = settings.accentColor.toLowerCase();
  }
  return clinic;
}

export async function portalClinicById(env: Bindings, id: number): Promise<PortalClinic | undefined> {
  const row = await env.DB.prepare(`${COLUMNS} WHERE id = ? AND disabled = 0`).bind(id).first<Row>();
  return row ? toPortalClinic(row) : undefined;
}

export async function portalClinicByCode(env: Bindings, code: string): Promise<PortalClinic | undefined> {
  if (!code || code.length > 64) return undefined;
  const row = await env.DB.prepare(`${COLUMNS} WHERE code = ? AND disabled = 0`).bind(code).first<Row>();
  return row ? toPortalClinic(row) : undefined;
}

/** The one enabled clinic whose `domain` is this host; none when no clinic or several claim it. */
export async function portalClinicByHost(env: Bindings, host: string): Promise<PortalClinic | undefined> {
  const hostname = host.toLowerCase();
  if (!hostname || hostname.length > 253) return undefined;
  const { results } = await env.DB.prepare(`${COLUMNS} WHERE lower(domain) = ? AND disabled = 0 LIMIT 2`)
    .bind(hostname)
    .all<Row>();
  return results.length === 1 ? toPortalClinic(results[0] as Row) : undefined;
}
