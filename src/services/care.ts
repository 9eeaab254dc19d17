/**
 * The register family's care records (DESIGN.md "Care records"): the three groups, the user type each
 * one maps to, the fields each may write and read, the records' Durable Objects, and care teams.
 *
 * A clinic's `careRecordMode` decides what /state is: `per_patient` (the default) gives every patient
 * a record of their own, shared with the members of their care team (D1 `care_team_members`);
 * `shared` keeps the seed demo's one clinic-wide record behind /state. The per-patient routes
 * (/records/:patientId) work in both modes; the shared record survives a switch and stays readable by
 * clinic admins.
 *
 * Every record request costs one KV read (the token, middleware/care-auth.ts), one D1 query
 * (`recordContext`: the clinic's settings, the patient and the caller's membership together) and one
 * call of the record's object. The listing version and the clinic's audit rows are written after the
 * response.
 */
import type { ClinicSettings } from "../db/schema";
import type { CareRecord } from "../durable-objects/care-record";
import { CARE_FIELDS, type CareField } from "../durable-objects/care-record";
import { now } from "../lib/clock";
import { ApiError } from "../lib/errors";
import type { Bindings } from "../types";
import { SUBTYPE_DOCTOR, USER_TYPES } from "./users";

export { CARE_FIELDS, type CareField };

export const GROUPS = ["patients", "physicians", "insurers"] as const;
export type Group = (typeof GROUPS)[number];

/** The groups whose users may join a patient's care team. */
export const MEMBER_GROUPS = ["physicians", "insurers"] as const;
export type MemberGroup = (typeof MEMBER_GROUPS)[number];

interface GroupDef {
  type: number;
  subtype: number | null;
  /** SCIM `groups[].display`. */
  display: string;
  /** The care-record fields this group may write. */
  writes: readonly CareField[];
}

export const GROUP_DEFS: Record<Group, GroupDef> = {
  patients: { type: USER_TYPES.member, subtype: null, display: "Patients", writes: ["medical_history"] },
  physicians: {
    type: USER_TYPES.provider,
    subtype: SUBTYPE_DOCTOR,
    display: "Physicians",
    writes: ["office_visit_notes", "prescription"],
  },
  insurers: { type: USER_TYPES.company, subtype: null, display: "Insurers", writes: ["insurer_reply"] },
};

export function isGroup(value: string | null | undefined): value is Group {
  return (GROUPS as readonly (string | null | undefined)[]).includes(value);
}

export function isMemberGroup(value: string | null | undefined): value is MemberGroup {
  return (MEMBER_GROUPS as readonly (string | null | undefined)[]).includes(value);
}

/** The fields of `fields` that `group` may not write. */
export function forbiddenFields(group: Group, fields: CareField[]): CareField[] {
  const allowed = GROUP_DEFS[group].writes;
  return fields.filter((f) => !allowed.includes(f));
}

export type CareRecordMode = "per_patient" | "shared";

/** The clinic's care-record mode (absent = per_patient: a clinic created without it never shares). */
export function careRecordMode(settings: ClinicSettings): CareRecordMode {
  return settings.careRecordMode === "shared" ? "shared" : "per_patient";
}

/**
 * The fields `group` reads in this clinic: all four unless `settings.careReadFields` narrows the group.
 * A group always reads the fields it writes. Clinic admins (group null) read all four.
 */
export function readableFields(settings: ClinicSettings, group: Group | null): CareField[] {
  const narrowed = group ? settings.careReadFields?.[group] : undefined;
  if (!narrowed || !group) return [...CARE_FIELDS];
  return CARE_FIELDS.filter((f) => narrowed.includes(f) || GROUP_DEFS[group].writes.includes(f));
}

// ---------- the records' objects ----------

/** The Durable Object name of a patient's record, or (patientId null) of the clinic's shared record. */
export function recordName(clinicId: number, patientId: number | null): string {
  return patientId === null ? `clinic:${clinicId}:default` : `clinic:${clinicId}:patient:${patientId}`;
}

function recordByName(env: Bindings, name: string): DurableObjectStub<CareRecord> {
  return env.CARE_RECORD.get(env.CARE_RECORD.idFromName(name));
}

/** The clinic's shared record (the seed demo's /state), which also keeps the enrollment ledger. */
export function careRecord(env: Bindings, clinicId: number) {
  return recordByName(env, recordName(clinicId, null));
}

/** A record by clinic and patient (null: the shared record). */
export function recordOf(env: Bindings, clinicId: number, patientId: number | null) {
  return recordByName(env, recordName(clinicId, patientId));
}

/** Closes live sockets on the records named (see sessions.ts `revokeSessions`). */
export function recordsByName(env: Bindings, names: string[]) {
  return names.map((name) => recordByName(env, name));
}

// ---------- who may use a record ----------

export interface PatientSummary {
  id: number;
  firstName: string;
  lastName: string;
}

/** What one D1 query tells about a record request. */
export interface RecordContext {
  settings: ClinicSettings;
  disabled: boolean;
  /** The patient (a user of the clinic in group patients), or null when there is none with this id. */
  patient: PatientSummary | null;
  /** The caller's care-team row for this patient (its group), or null. */
  memberGroup: string | null;
}

interface ContextRow {
  settings: string;
  disabled: number;
  patient_id: number | null;
  first_name: string | null;
  last_name: string | null;
  member_group: string | null;
}

/**
 * The clinic's settings, the patient `patientId` (null: none asked) and the caller's membership on the
 * patient's team, in one query.
 */
export async function recordContext(
  env: Bindings,
  clinicId: number,
  patientId: number | null,
  callerId: number,
): Promise<RecordContext> {
  const row = await env.DB.prepare(
    `SELECT c.settings, c.disabled, p.id AS patient_id, p.first_name, p.last_name,
       (SELECT m.member_group FROM care_team_members m
        WHERE m.clinic_id = c.id AND m.patient_id = ?2 AND m.member_user_id = ?3) AS member_group
     FROM clinics c
     LEFT JOIN users p ON p.id = ?2 AND p.clinic_id = c.id AND p.group_name = 'patients'
     WHERE c.id = ?1`,
  )
    .bind(clinicId, patientId ?? 0, callerId)
    .first<ContextRow>();
  if (!row) throw new ApiError("clinic_not_found");
  return {
    settings: JSON.parse(row.settings) as ClinicSettings,
    disabled: row.disabled === 1,
    patient:
      row.patient_id === null
        ? null
        : { id: row.patient_id, firstName: row.first_name ?? "", lastName: row.last_name ?? "" },
    memberGroup: row.member_group,
  };
}

/** How the caller uses a record: its patient, a member of its team, a clinic admin, or the clinic's server. */
export type Access =
  | { kind: "patient"; group: "patients" }
  | { kind: "member"; group: MemberGroup }
  | { kind: "admin"; group: null }
  | { kind: "server"; group: null };

/**
 * The caller's access to the patient's record, or 403 `not_on_care_team`. A caller without access gets
 * the same 403 whether or not the patient exists (no one learns which ids are patients); clinic admins
 * and the clinic's server get 404 for an id that is no patient.
 */
export function accessOf(
  ctx: RecordContext,
  patientId: number,
  caller: { userId: number; group?: string; admin: boolean } | "server",
): Access {
  if (ctx.disabled) throw new ApiError("account_disabled");
  if (caller === "server") {
    if (!ctx.patient) throw new ApiError("record_not_found");
    return { kind: "server", group: null };
  }
  if (ctx.patient && caller.userId === patientId && caller.group === "patients") {
    return { kind: "patient", group: "patients" };
  }
  if (ctx.patient && ctx.memberGroup && isMemberGroup(caller.group) && caller.group === ctx.memberGroup) {
    return { kind: "member", group: caller.group };
  }
  if (caller.admin) {
    if (!ctx.patient) throw new ApiError("record_not_found");
    return { kind: "admin", group: null };
  }
  throw new ApiError("not_on_care_team");
}

/** The one care team of a physician or insurer (for /state without a named patient), or 400/404. */
export async function onlyTeam(env: Bindings, clinicId: number, memberId: number): Promise<number> {
  const { results } = await env.DB.prepare(
    "SELECT patient_id FROM care_team_members WHERE clinic_id = ? AND member_user_id = ? ORDER BY patient_id LIMIT 2",
  )
    .bind(clinicId, memberId)
    .all<{ patient_id: number }>();
  if (results.length === 0) throw new ApiError("no_care_team");
  if (results.length > 1) throw new ApiError("patient_required");
  return (results[0] as { patient_id: number }).patient_id;
}

// ---------- care teams ----------

export interface Member {
  userId: number;
  group: MemberGroup;
  firstName: string;
  lastName: string;
  addedBy: number | null;
  addedAt: number;
}

interface MemberRow {
  member_user_id: number;
  member_group: MemberGroup;
  first_name: string;
  last_name: string;
  added_by: number | null;
  added_at: number;
}

const memberOf = (r: MemberRow): Member => ({
  userId: r.member_user_id,
  group: r.member_group,
  firstName: r.first_name,
  lastName: r.last_name,
  addedBy: r.added_by,
  addedAt: r.added_at,
});

/** The members of a patient's care team (besides the patient), in the order they were added. */
export async function listMembers(env: Bindings, clinicId: number, patientId: number): Promise<Member[]> {
  const { results } = await env.DB.prepare(
    `SELECT m.member_user_id, m.member_group, u.first_name, u.last_name, m.added_by, m.added_at
     FROM care_team_members m JOIN users u ON u.id = m.member_user_id
     WHERE m.clinic_id = ? AND m.patient_id = ? ORDER BY m.added_at, m.member_user_id LIMIT 500`,
  )
    .bind(clinicId, patientId)
    .all<MemberRow>();
  return results.map(memberOf);
}

/**
 * Adds a physician or insurer of the clinic (by id or email) to the patient's team; adding a member again
 * changes nothing. An unknown user, a disabled one, or one of another group all answer the same 400, so
 * that a patient learns no more than "this is a physician or insurer of my clinic".
 */
export async function addMember(
  env: Bindings,
  clinicId: number,
  patientId: number,
  who: { userId: number } | { email: string },
  addedBy: number | null,
  /** The audit row of the change, for the member's id (the batch's next statement after the INSERT). */
  audit: (memberId: number) => D1PreparedStatement,
): Promise<{ member: Member; added: boolean }> {
  const target = await env.DB.prepare(
    `SELECT id, group_name, first_name, last_name FROM users
     WHERE clinic_id = ? AND ${"userId" in who ? "id = ?" : "lower(email) = lower(?)"}
       AND disabled = 0 AND group_name IN ('physicians', 'insurers')`,
  )
    .bind(clinicId, "userId" in who ? who.userId : who.email)
    .first<{ id: number; group_name: MemberGroup; first_name: string; last_name: string }>();
  if (!target) throw new ApiError("member_not_eligible");
  const t = now();
  const [inserted] = await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO care_team_members (clinic_id, patient_id, member_user_id, member_group, added_by, added_at)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING added_at`,
    ).bind(clinicId, patientId, target.id, target.group_name, addedBy, t),
    audit(target.id),
  ]);
  // A refusal left in the record's object by an earlier removal is lifted (the D1 row is the truth for
  // new requests; the object's refusal only closes the race of requests checked before a removal).
  await recordOf(env, clinicId, patientId).admitMember(target.id);
  const added = (inserted?.results.length ?? 0) > 0;
  const row = await env.DB.prepare(
    "SELECT added_by, added_at FROM care_team_members WHERE clinic_id = ? AND patient_id = ? AND member_user_id = ?",
  )
    .bind(clinicId, patientId, target.id)
    .first<{ added_by: number | null; added_at: number }>();
  return {
    member: {
      userId: target.id,
      group: target.group_name,
      firstName: target.first_name,
      lastName: target.last_name,
      addedBy: row?.added_by ?? addedBy,
      addedAt: row?.added_at ?? t,
    },
    added,
  };
}

/**
 * Removes a member: the record's object first refuses them and closes their sockets (so nothing they
 * started can land after this), then the D1 row goes. 404 when they were no member.
 */
export async function removeMember(
  env: Bindings,
  clinicId: number,
  patientId: number,
  memberId: number,
  audit: D1PreparedStatement,
): Promise<void> {
  if (memberId === patientId) throw new ApiError("member_not_found");
  await recordOf(env, clinicId, patientId).removeMember(memberId);
  const [deleted] = await env.DB.batch([
    env.DB.prepare(
      "DELETE FROM care_team_members WHERE clinic_id = ? AND patient_id = ? AND member_user_id = ? RETURNING member_user_id",
    ).bind(clinicId, patientId, memberId),
    audit,
  ]);
  if ((deleted?.results.length ?? 0) === 0) throw new ApiError("member_not_found");
}

// ---------- lists ----------

export interface RecordSummary {
  patientId: number;
  firstName: string;
  lastName: string;
  version: number;
}

interface SummaryRow {
  patient_id: number;
  first_name: string;
  last_name: string;
  version: number;
}

/**
 * A page of the records a caller may see, in patient id order after `cursor` (a patient id): a patient
 * their own, a physician or insurer their teams' (the member index), a clinic admin every patient's.
 * Versions are those last noted by `noteVersion` (the record's own GET is authoritative).
 */
export async function listRecords(
  env: Bindings,
  clinicId: number,
  who: { kind: "patient" | "member" | "admin"; userId: number },
  limit: number,
  cursor: number,
): Promise<{ records: RecordSummary[]; nextCursor: number | null }> {
  const version = `coalesce((SELECT r.version FROM care_records r
                             WHERE r.clinic_id = u.clinic_id AND r.patient_id = u.id), 0) AS version`;
  let stmt: D1PreparedStatement;
  if (who.kind === "member") {
    // The member index: one range of (clinic, member, patient), in patient order.
    stmt = env.DB.prepare(
      `SELECT m.patient_id, u.first_name, u.last_name, ${version}
       FROM care_team_members m JOIN users u ON u.id = m.patient_id
       WHERE m.clinic_id = ? AND m.member_user_id = ? AND m.patient_id > ?
       ORDER BY m.patient_id LIMIT ?`,
    ).bind(clinicId, who.userId, cursor, limit + 1);
  } else {
    // Patients of the clinic (users_clinic_group_idx keeps them in id order); a patient only themselves.
    const own = who.kind === "patient" ? "AND u.id = ?" : "";
    const params = who.kind === "patient" ? [who.userId] : [];
    stmt = env.DB.prepare(
      `SELECT u.id AS patient_id, u.first_name, u.last_name, ${version}
       FROM users u
       WHERE u.clinic_id = ? AND u.group_name = 'patients' AND u.id > ? ${own}
       ORDER BY u.id LIMIT ?`,
    ).bind(clinicId, cursor, ...params, limit + 1);
  }
  const { results } = await stmt.all<SummaryRow>();
  const page = results.slice(0, limit);
  return {
    records: page.map((r) => ({
      patientId: r.patient_id,
      firstName: r.first_name,
      lastName: r.last_name,
      version: r.version,
    })),
    nextCursor: results.length > limit ? (page[page.length - 1]?.patient_id ?? null) : null,
  };
}

/** Notes a record's new version for lists (never lowers it: writes may finish out of order). */
export function noteVersion(
  env: Bindings,
  clinicId: number,
  patientId: number,
  version: number,
): D1PreparedStatement {
  return env.DB.prepare(
    `INSERT INTO care_records (clinic_id, patient_id, version, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (clinic_id, patient_id) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at
     WHERE excluded.version > care_records.version`,
  ).bind(clinicId, patientId, version, now());
}
