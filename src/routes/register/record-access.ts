/**
 * What the care-record handlers share (/state and /records/:patientId): who the caller is to the record
 * (one D1 query, services/care.ts `recordContext`), the actor the record's object logs, the checks of
 * field permissions, and the work after the response (the clinic's audit rows of non-patient access, the
 * listing version).
 */
import type { Context } from "hono";
import type { Actor, CareState, ReadResult, WriteResult } from "../../durable-objects/care-record";
import { afterResponse } from "../../lib/background";
import { ApiError, type ErrorCode } from "../../lib/errors";
import { audit } from "../../middleware/audit";
import { isClinicAdmin } from "../../middleware/auth";
import {
  type Access,
  accessOf,
  CARE_FIELDS,
  type CareField,
  forbiddenFields,
  GROUP_DEFS,
  type Group,
  noteVersion,
  type RecordContext,
  readableFields,
  recordContext,
  recordOf,
} from "../../services/care";
import type { AppEnv, Caller } from "../../types";
import { etag, versionCondition } from "./wire";

/** The group recorded for clinic admins (and the clinic's server) in histories and access logs. */
export const ADMIN_GROUP = "clinic_admin";

export interface OpenRecord {
  clinicId: number;
  /** The patient whose record it is; null for the clinic's shared record. */
  patientId: number | null;
  caller: Caller | null;
  ctx: RecordContext;
  access: Access;
  /** Who acts, for the object's history and access log. */
  actor: Actor;
  /** The fields the caller reads. */
  fields: CareField[];
  stub: ReturnType<typeof recordOf>;
}

/** The path's patient id (digits), else 400. */
export function patientIdOf(raw: string): number {
  if (!/^[1-9]\d{0,14}$/.test(raw)) {
    throw new ApiError("invalid_patient_id", {
      fields: [{ param: "patientId", message: "must be a user id" }],
    });
  }
  return Number(raw);
}

/** The caller's access to a patient's record (the clinic's API key counts as the clinic's server). */
export async function openPatientRecord<E extends AppEnv>(
  c: Context<E>,
  patientId: number,
): Promise<OpenRecord> {
  // The routes' careAuth (or the portal's session) set the caller, or the clinic of the API key.
  const caller = c.get("caller") ?? null;
  if (!caller) {
    const clinic = c.get("clinic");
    if (!clinic || !c.get("apiKey")) throw new ApiError("unauthorized");
    const ctx = await recordContext(c.env, clinic.id, patientId, 0);
    return opened(c, clinic.id, patientId, null, ctx, accessOf(ctx, patientId, "server"));
  }
  const ctx = await recordContext(c.env, caller.clinicId, patientId, caller.userId);
  const access = accessOf(ctx, patientId, {
    userId: caller.userId,
    group: caller.group,
    admin: isClinicAdmin(caller),
  });
  return opened(c, caller.clinicId, patientId, caller, ctx, access);
}

export function opened<E extends AppEnv>(
  c: Context<E>,
  clinicId: number,
  patientId: number | null,
  caller: Caller | null,
  ctx: RecordContext,
  access: Access,
): OpenRecord {
  const group = access.group;
  return {
    clinicId,
    patientId,
    caller,
    ctx,
    access,
    actor: {
      userId: caller?.userId ?? 0,
      group: group ?? ADMIN_GROUP,
      // Everyone but the record's own patient is in its access log (the shared record has no patient).
      logged: patientId === null || access.kind !== "patient",
    },
    fields: readableFields(ctx.settings, group),
    stub: recordOf(c.env, clinicId, patientId),
  };
}

/** Requires one of the access kinds, else the 403 `refusal`. */
export function requireKind(rec: OpenRecord, kinds: Access["kind"][], refusal: ErrorCode): void {
  if (!kinds.includes(rec.access.kind)) throw new ApiError(refusal);
}

/** The fields of a write body, after checking that the caller's group may write every one (403). */
export function writableFields(group: Group | null, body: Partial<Record<CareField, string>>): CareField[] {
  const fields = CARE_FIELDS.filter((f) => body[f] !== undefined);
  if (!group) {
    throw new ApiError("record_write_forbidden");
  }
  const denied = forbiddenFields(group, fields);
  if (denied.length > 0) {
    const own = GROUP_DEFS[group];
    throw new ApiError("fields_not_writable", {
      params: { group: own.display, writable: own.writes.join(" and "), denied: denied.join(", ") },
    });
  }
  return fields;
}

export function viewed(result: ReadResult): CareState {
  if (!result.ok) throw new ApiError("not_on_care_team");
  return result.state;
}

export function written(result: WriteResult): CareState {
  if (result.ok) return result.state;
  if (result.reason === "removed") throw new ApiError("not_on_care_team");
  throw new ApiError("version_mismatch", { headers: { ETag: etag(result.state.version) } });
}

/**
 * After the response: the clinic's audit row of a non-patient access (who, group, which fields, read or
 * write; never values), and a per-patient record's new version for lists.
 */
export function afterAccess<E extends AppEnv>(
  c: Context<E>,
  rec: OpenRecord,
  action: "read" | "write" | "reset" | "live",
  fields: readonly CareField[],
  version?: number,
): void {
  const statements: D1PreparedStatement[] = [];
  if (rec.actor.logged) {
    statements.push(
      audit(c, {
        event: "record_access",
        outcome: "success",
        clinic: rec.clinicId,
        actorUserId: rec.caller?.userId ?? null,
        subjectUserId: rec.patientId,
        details: {
          action,
          group: rec.actor.group,
          fields: fields.join(" "),
          record: rec.patientId === null ? "shared" : "patient",
        },
      }),
    );
  }
  if (version !== undefined && rec.patientId !== null) {
    statements.push(noteVersion(c.env, rec.clinicId, rec.patientId, version));
  }
  if (statements.length > 0) afterResponse(c, () => c.env.DB.batch(statements));
}

/**
 * Resets the record (every field back to empty) for a clinic admin or the team's physician, else the 403
 * `refusal`; If-Match as for writes. Returns the new state.
 */
export async function resetRecord<E extends AppEnv>(
  c: Context<E>,
  rec: OpenRecord,
  ifMatch: string | undefined,
  refusal: ErrorCode,
): Promise<CareState> {
  if (rec.access.kind !== "admin" && rec.access.group !== "physicians") throw new ApiError(refusal);
  const state = written(await rec.stub.reset(rec.actor, versionCondition(ifMatch)));
  afterAccess(c, rec, "reset", CARE_FIELDS, state.version);
  return state;
}

/** Writes the fields of `body` the caller's group may write (403 otherwise), If-Match as given. */
export async function writeRecord<E extends AppEnv>(
  c: Context<E>,
  rec: OpenRecord,
  body: Partial<Record<CareField, string>>,
  ifMatch: string | undefined,
): Promise<CareState> {
  const fields = writableFields(rec.access.group, body);
  const state = written(await rec.stub.write(body, rec.actor, versionCondition(ifMatch)));
  afterAccess(c, rec, "write", fields, state.version);
  return state;
}
