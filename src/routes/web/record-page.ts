/**
 * The care record on the portal's pages: the same access rules as the register family's /records routes
 * (routes/register/record-access.ts: membership checked on every request, each group its own fields, every
 * access by someone other than the patient in the record's access log), with the portal's session.
 */
import type { Context } from "hono";
import { ApiError } from "../../lib/errors";
import { GROUP_DEFS, listMembers } from "../../services/care";
import type { AppEnv } from "../../types";
import { afterAccess, type OpenRecord, openPatientRecord, viewed } from "../register/record-access";
import type { RecordProps } from "./views";

/** Opens a record for the signed-in caller: its patient or a member of its care team (else 403). */
export async function openPortalRecord<E extends AppEnv>(
  c: Context<E>,
  patientId: number,
): Promise<OpenRecord> {
  const rec = await openPatientRecord(c, patientId);
  // Clinic admins use the API; on the portal a record is its patient's and its care team's.
  if (rec.access.kind !== "patient" && rec.access.kind !== "member") throw new ApiError("not_on_care_team");
  return rec;
}

/** What a record page renders: the state the caller reads (an access, logged as a read). */
export async function openRecordPage<E extends AppEnv>(c: Context<E>, patientId: number) {
  const rec = await openPortalRecord(c, patientId);
  const state = viewed(await rec.stub.view({ ...rec.actor, fields: rec.fields }));
  afterAccess(c, rec, "read", rec.fields);
  const patient = rec.ctx.patient;
  const props: RecordProps = {
    patientId,
    state,
    readable: rec.fields,
    writable: rec.access.group ? [...GROUP_DEFS[rec.access.group].writes] : [],
    accessLog: rec.access.kind === "patient",
    whose: rec.access.kind === "patient" ? "own" : "team",
  };
  return { rec, props, patientName: patient ? `${patient.firstName} ${patient.lastName}`.trim() : "Patient" };
}

const GROUP_NAMES: Record<string, string> = {
  patients: "patient",
  physicians: "physician",
  insurers: "insurer",
  clinic_admin: "clinic staff",
};

/** Names for the users of a record's history and access log: the patient and the care team. */
export async function peopleOf<E extends AppEnv>(c: Context<E>, rec: OpenRecord) {
  const members = await listMembers(c.env, rec.clinicId, rec.patientId as number);
  const names = new Map<number, string>(
    members.map((m) => [m.userId, `${m.firstName} ${m.lastName}`.trim()]),
  );
  const patient = rec.ctx.patient;
  if (patient) names.set(patient.id, `${patient.firstName} ${patient.lastName}`.trim());
  return (userId: number, group: string) => ({
    name:
      names.get(userId) ??
      (group === "clinic_admin" ? "Clinic staff" : `A former care team member (user ${userId})`),
    role: GROUP_NAMES[group] ?? group,
  });
}
