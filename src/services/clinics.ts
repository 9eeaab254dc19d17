/**
 * Clinics (tenants): created and managed by operators through the admin API. A clinic's API key is
 * returned once at creation or rotation; only its SHA-256 is stored.
 */
import { asc, count, eq, sql } from "drizzle-orm";
import { getDb, prepared } from "../db";
import { mapRow, statement } from "../db/rows";
import { type Clinic, type ClinicSettings, clinics, type EligibilityEntry } from "../db/schema";
import { now } from "../lib/clock";
import { base64url, randomBytes, safeEqual, sha256Hex } from "../lib/crypto";
import { ApiError } from "../lib/errors";
import type { Bindings } from "../types";
import { clinicSessionsRevocation } from "./sessions";

export interface ClinicInput {
  code: string;
  name: string;
  domain: string;
  portal_base_url?: string | null;
  sso_enabled?: boolean;
  signup_mode?: "open" | "invite_only";
  eligibility?: EligibilityEntry[] | null;
  default_heartbeat?: number;
  settings?: ClinicSettings;
}

export type ClinicPatch = Partial<Omit<ClinicInput, "code">> & { disabled?: boolean };

/** A new API key: `ce_` + 256 random bits. */
function newApiKey(): string {
  return `ce_${base64url(randomBytes(32))}`;
}

export async function hashApiKey(key: string): Promise<string> {
  return sha256Hex(`clinic-api-key:${key}`);
}

export async function verifyApiKey(clinic: Pick<Clinic, "apiKeyHash">, presented: string): Promise<boolean> {
  return safeEqual(await hashApiKey(presented), clinic.apiKeyHash);
}

// Every API-key request reads its clinic: prepared once, bound per call.
export async function getClinicByCode(env: Bindings, code: string): Promise<Clinic | undefined> {
  const db = getDb(env.DB);
  return prepared(db, "clinicByCode", (d) =>
    d
      .select()
      .from(clinics)
      .where(eq(clinics.code, sql.placeholder("code")))
      .prepare(),
  ).get({ code });
}

export async function getClinicById(env: Bindings, id: number): Promise<Clinic | undefined> {
  const db = getDb(env.DB);
  return prepared(db, "clinicById", (d) =>
    d
      .select()
      .from(clinics)
      .where(eq(clinics.id, sql.placeholder("id")))
      .prepare(),
  ).get({ id });
}

export async function requireClinic(env: Bindings, code: string): Promise<Clinic> {
  const clinic = await getClinicByCode(env, code);
  if (!clinic) throw new ApiError("clinic_not_found");
  return clinic;
}

export async function createClinic(
  env: Bindings,
  input: ClinicInput,
): Promise<{ clinic: Clinic; apiKey: string }> {
  const db = getDb(env.DB);
  const apiKey = newApiKey();
  const t = now();
  const row = await db
    .insert(clinics)
    .values({
      code: input.code,
      name: input.name,
      domain: input.domain,
      portalBaseUrl: input.portal_base_url ?? null,
      ssoEnabled: input.sso_enabled ?? false,
      signupMode: input.signup_mode ?? "open",
      eligibility: input.eligibility ?? null,
      defaultHeartbeat: input.default_heartbeat ?? 300,
      // New clinics: one record per patient, and every registration by the clinic's server (README).
      settings: { careRecordMode: "per_patient", selfRegisterGroups: [], ...input.settings },
      apiKeyHash: await hashApiKey(apiKey),
      apiKeyPrefix: apiKey.slice(0, 8),
      createdAt: t,
      updatedAt: t,
    })
    .onConflictDoNothing()
    .returning()
    .get();
  if (!row) throw new ApiError("clinic_exists");
  return { clinic: row, apiKey };
}

export async function listClinics(env: Bindings, start: number, limit: number) {
  const db = getDb(env.DB);
  const [rows, total] = await db.batch([
    db.select().from(clinics).orderBy(asc(clinics.id)).limit(limit).offset(start),
    db.select({ n: count() }).from(clinics),
  ]);
  return { rows, total: total[0]?.n ?? 0 };
}

export async function updateClinic(env: Bindings, code: string, patch: ClinicPatch): Promise<Clinic> {
  const db = getDb(env.DB);
  const set: Partial<typeof clinics.$inferInsert> = { updatedAt: now() };
  if (patch.name !== undefined) set.name = patch.name;
  if (patch.domain !== undefined) set.domain = patch.domain;
  if (patch.portal_base_url !== undefined) set.portalBaseUrl = patch.portal_base_url;
  if (patch.sso_enabled !== undefined) set.ssoEnabled = patch.sso_enabled;
  if (patch.signup_mode !== undefined) set.signupMode = patch.signup_mode;
  if (patch.eligibility !== undefined) set.eligibility = patch.eligibility;
  if (patch.default_heartbeat !== undefined) set.defaultHeartbeat = patch.default_heartbeat;
  if (patch.settings !== undefined) {
    // The care-record mode, who may self-register and the portal branding are kept unless the new settings
    // name them: an operator changing CORS origins must not switch a shared clinic's /state, close its
    // registration or drop its logo.
    const current = await getClinicByCode(env, code);
    const kept: ClinicSettings = {};
    for (const key of KEPT_SETTINGS) {
      if (current?.settings[key] !== undefined) Object.assign(kept, { [key]: current.settings[key] });
    }
    set.settings = { ...kept, ...patch.settings };
  }
  if (patch.disabled !== undefined) set.disabled = patch.disabled;
  const update = db.update(clinics).set(set).where(eq(clinics.code, code)).returning();
  let row: Clinic | undefined;
  if (patch.disabled === true) {
    // Disabling signs everybody out in the same batch: never a disabled clinic with live sessions.
    const d1 = db.$client;
    const [updated] = await d1.batch([statement(d1, update), clinicSessionsRevocation(d1, code)]);
    const raw = updated?.results[0] as Record<string, unknown> | undefined;
    row = raw ? mapRow(clinics, raw) : undefined;
  } else {
    row = await update.get();
  }
  if (!row) throw new ApiError("clinic_not_found");
  return row;
}

/** Settings a PATCH keeps unless it names them (see updateClinic). */
const KEPT_SETTINGS = [
  "careRecordMode",
  "selfRegisterGroups",
  "careReadFields",
  "logoUrl",
  "accentColor",
] as const;

export async function rotateApiKey(env: Bindings, code: string): Promise<{ clinic: Clinic; apiKey: string }> {
  const db = getDb(env.DB);
  const apiKey = newApiKey();
  const row = await db
    .update(clinics)
    .set({ apiKeyHash: await hashApiKey(apiKey), apiKeyPrefix: apiKey.slice(0, 8), updatedAt: now() })
    .where(eq(clinics.code, code))
    .returning()
    .get();
  if (!row) throw new ApiError("clinic_not_found");
  return { clinic: row, apiKey };
}
