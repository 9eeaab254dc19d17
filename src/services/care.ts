/**
 * The register family's care team (DESIGN.md "Shared care state"): the three groups, the user type each
 * one maps to, the fields each may write, and the clinic's care-record Durable Object.
 */
import type { Bindings } from "../types";
import { SUBTYPE_DOCTOR, USER_TYPES } from "./users";

export const CARE_FIELDS = [
  "medical_history",
  "office_visit_notes",
  "prescription",
  "insurer_reply",
] as const;
export type CareField = (typeof CARE_FIELDS)[number];

export const GROUPS = ["patients", "physicians", "insurers"] as const;
export type Group = (typeof GROUPS)[number];

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

/** The fields of `fields` that `group` may not write. */
export function forbiddenFields(group: Group, fields: CareField[]): CareField[] {
  const allowed = GROUP_DEFS[group].writes;
  return fields.filter((f) => !allowed.includes(f));
}

/** The clinic's care record (the default record backs /state). */
export function careRecord(env: Bindings, clinicId: number) {
  return env.CARE_RECORD.get(env.CARE_RECORD.idFromName(`clinic:${clinicId}:default`));
}
