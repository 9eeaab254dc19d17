/**
 * The seed's /state routes. Which record /state is (services/care.ts): in a `shared` clinic, the clinic's
 * one record (the seed demo); in a `per_patient` clinic, a patient's own record, or for a physician or
 * insurer the patient named by `?patient=` / `X-Patient-Id` (else their only care team's); clinic admins
 * without a named patient get the shared record (kept readable after a switch). A named patient is that
 * patient's record in both modes.
 */

import type { Context } from "hono";
import { ApiError, type ErrorCode } from "../../lib/errors";
import type { AppRouteHandler } from "../../lib/route-handler";
import { isClinicAdmin } from "../../middleware/auth";
import { careRecordMode, isGroup, onlyTeam, recordContext, recordName } from "../../services/care";
import type { AppEnv, AppEnvWith, Caller, Principal } from "../../types";
import { openLive } from "./live";
import {
  afterAccess,
  type OpenRecord,
  opened,
  openPatientRecord,
  patientIdOf,
  resetRecord,
  viewed,
  writeRecord,
} from "./record-access";
import type {
  deleteState as deleteStateRoute,
  getState as getStateRoute,
  history as historyRoute,
  live as liveRoute,
  putState as putStateRoute,
} from "./state.routes";
import { etag, historyWire } from "./wire";

/** The patient named by `?patient=` or `X-Patient-Id`, if any. */
function namedPatient<E extends AppEnv>(c: Context<E>): number | null {
  const raw = c.req.query("patient") ?? c.req.header("x-patient-id");
  if (raw === undefined || raw.trim() === "") return null;
  try {
    return patientIdOf(raw.trim());
  } catch {
    throw new ApiError("invalid_patient_param", {
      fields: [{ param: "patient", message: "must be a patient's user id" }],
    });
  }
}

/** The record /state means for this caller (see the module comment). */
async function stateRecord<E extends AppEnvWith<{ caller: Caller; principal: Principal }>>(
  c: Context<E>,
  refusal: ErrorCode = "care_record_groups_only",
): Promise<OpenRecord> {
  const caller: Caller = c.get("caller");
  const admin = isClinicAdmin(caller);
  if (!isGroup(caller.group) && !admin) throw new ApiError(refusal);
  const named = namedPatient(c);
  if (named !== null) return openPatientRecord(c, named);
  const own = caller.group === "patients" ? caller.userId : null;
  const ctx = await recordContext(c.env, caller.clinicId, own, caller.userId);
  if (ctx.disabled) throw new ApiError("account_disabled");
  const shared = careRecordMode(ctx.settings) === "shared";
  if (shared || (admin && !isGroup(caller.group))) {
    const group = isGroup(caller.group) ? caller.group : null;
    const access = group
      ? group === "patients"
        ? ({ kind: "patient", group } as const)
        : ({ kind: "member", group } as const)
      : ({ kind: "admin", group: null } as const);
    return opened(c, caller.clinicId, null, caller, ctx, access);
  }
  if (own !== null) return openPatientRecord(c, own);
  // A physician or insurer who named no patient: the record of their only care team.
  return openPatientRecord(c, await onlyTeam(c.env, caller.clinicId, caller.userId));
}

export const getState: AppRouteHandler<typeof getStateRoute> = async (c) => {
  const rec = await stateRecord(c);
  const state = viewed(await rec.stub.view({ ...rec.actor, fields: rec.fields }));
  afterAccess(c, rec, "read", rec.fields);
  return c.json(state, 200, { ETag: etag(state.version) });
};

export const putState: AppRouteHandler<typeof putStateRoute> = async (c) => {
  const rec = await stateRecord(c);
  const state = await writeRecord(c, rec, c.req.valid("json"), c.req.valid("header")["if-match"]);
  return c.json(state, 200, { ETag: etag(state.version) });
};

export const deleteState: AppRouteHandler<typeof deleteStateRoute> = async (c) => {
  const rec = await stateRecord(c, "state_reset_forbidden");
  const state = await resetRecord(c, rec, c.req.valid("header")["if-match"], "state_reset_forbidden");
  return c.json(state, 200, { ETag: etag(state.version) });
};

export const history: AppRouteHandler<typeof historyRoute> = async (c) => {
  const rec = await stateRecord(c, "history_forbidden");
  const { limit = 20, before } = c.req.valid("query");
  const page = await rec.stub.history(limit, before);
  return c.json({ entries: page.entries.map(historyWire), next_before: page.nextBefore }, 200);
};

export const live: AppRouteHandler<typeof liveRoute> = async (c) => {
  const rec = await stateRecord(c);
  if (rec.access.kind === "admin") {
    throw new ApiError("live_forbidden");
  }
  return openLive(c, rec, recordName(rec.clinicId, rec.patientId));
};
