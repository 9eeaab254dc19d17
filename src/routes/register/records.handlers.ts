import type { Context } from "hono";
import { ApiError } from "../../lib/errors";
import type { AppRouteHandler } from "../../lib/route-handler";
import { audit } from "../../middleware/audit";
import { isClinicAdmin } from "../../middleware/auth";
import { checkRateLimit } from "../../middleware/rate-limit";
import {
  addMember as addTeamMember,
  isMemberGroup,
  listRecords as listPage,
  listMembers as listTeam,
  type Member,
  recordName,
  removeMember as removeTeamMember,
} from "../../services/care";
import type { AppEnv } from "../../types";
import { openLive } from "./live";
import {
  afterAccess,
  type OpenRecord,
  openPatientRecord,
  patientIdOf,
  requireKind,
  resetRecord,
  viewed,
  writeRecord,
} from "./record-access";
import type {
  accessLog as accessLogRoute,
  addMember as addMemberRoute,
  deleteRecord as deleteRecordRoute,
  getRecord as getRecordRoute,
  listMembers as listMembersRoute,
  listRecords as listRecordsRoute,
  putRecord as putRecordRoute,
  recordHistory as recordHistoryRoute,
  recordLive as recordLiveRoute,
  removeMember as removeMemberRoute,
} from "./records.routes";
import { accessWire, etag, historyWire, isoSeconds } from "./wire";

const open = <E extends AppEnv>(c: Context<E>, raw: string) => openPatientRecord(c, patientIdOf(raw));

const nameOf = (firstName: string, lastName: string) => ({
  formatted: `${firstName} ${lastName}`.trim(),
  familyName: lastName,
  givenName: firstName,
});

export const listRecords: AppRouteHandler<typeof listRecordsRoute> = async (c) => {
  const caller = c.get("caller");
  const kind =
    caller.group === "patients"
      ? "patient"
      : isMemberGroup(caller.group)
        ? "member"
        : isClinicAdmin(caller)
          ? "admin"
          : null;
  if (!kind) {
    throw new ApiError("record_list_forbidden");
  }
  const { limit = 50, cursor } = c.req.valid("query");
  const page = await listPage(
    c.env,
    caller.clinicId,
    { kind, userId: caller.userId },
    limit,
    cursor ? Number(cursor) : 0,
  );
  return c.json(
    {
      records: page.records.map((rec) => ({
        patient_id: String(rec.patientId),
        name: nameOf(rec.firstName, rec.lastName),
        version: rec.version,
      })),
      next_cursor: page.nextCursor === null ? null : String(page.nextCursor),
    },
    200,
  );
};

export const getRecord: AppRouteHandler<typeof getRecordRoute> = async (c) => {
  const rec = await open(c, c.req.valid("param").patientId);
  const state = viewed(await rec.stub.view({ ...rec.actor, fields: rec.fields }));
  afterAccess(c, rec, "read", rec.fields);
  return c.json(state, 200, { ETag: etag(state.version) });
};

export const putRecord: AppRouteHandler<typeof putRecordRoute> = async (c) => {
  const rec = await open(c, c.req.valid("param").patientId);
  const state = await writeRecord(c, rec, c.req.valid("json"), c.req.valid("header")["if-match"]);
  return c.json(state, 200, { ETag: etag(state.version) });
};

export const deleteRecord: AppRouteHandler<typeof deleteRecordRoute> = async (c) => {
  const rec = await open(c, c.req.valid("param").patientId);
  const state = await resetRecord(c, rec, c.req.valid("header")["if-match"], "record_reset_forbidden");
  return c.json(state, 200, { ETag: etag(state.version) });
};

export const recordHistory: AppRouteHandler<typeof recordHistoryRoute> = async (c) => {
  const rec = await open(c, c.req.valid("param").patientId);
  const { limit = 20, before } = c.req.valid("query");
  const page = await rec.stub.history(limit, before);
  return c.json({ entries: page.entries.map(historyWire), next_before: page.nextBefore }, 200);
};

export const recordLive: AppRouteHandler<typeof recordLiveRoute> = async (c) => {
  const rec = await open(c, c.req.valid("param").patientId);
  requireKind(rec, ["patient", "member"], "record_live_forbidden");
  return openLive(c, rec, recordName(rec.clinicId, rec.patientId));
};

function memberWire(m: Member) {
  return {
    user_id: String(m.userId),
    group: m.group,
    name: nameOf(m.firstName, m.lastName),
    added_by: m.addedBy === null ? null : String(m.addedBy),
    added_at: isoSeconds(m.addedAt),
  };
}

const TEAM_MANAGERS: OpenRecord["access"]["kind"][] = ["patient", "admin", "server"];

export const listMembers: AppRouteHandler<typeof listMembersRoute> = async (c) => {
  const rec = await open(c, c.req.valid("param").patientId);
  const members = await listTeam(c.env, rec.clinicId, rec.patientId as number);
  return c.json({ patient_id: String(rec.patientId), members: members.map(memberWire) }, 200);
};

export const addMember: AppRouteHandler<typeof addMemberRoute> = async (c) => {
  const rec = await open(c, c.req.valid("param").patientId);
  requireKind(rec, TEAM_MANAGERS, "team_managers_only");
  const body = c.req.valid("json");
  // Adding by email tells a patient whether the address is a physician's or insurer's of their clinic:
  // rate-limited per client (the clinic's server, provisioning teams, is not).
  if (body.email !== undefined && rec.access.kind !== "server") {
    await checkRateLimit(c, "CREDENTIALS_LIMITER", "care-team-email");
  }
  const who = body.email !== undefined ? { email: body.email } : { userId: Number(body.userId) };
  const by = rec.caller?.userId ?? null;
  const { member, added } = await addTeamMember(c.env, rec.clinicId, rec.patientId as number, who, by, (id) =>
    audit(
      c,
      {
        event: "care_team_change",
        outcome: "success",
        clinic: rec.clinicId,
        actorUserId: by,
        subjectUserId: rec.patientId,
        details: { action: "add", member: id, via: rec.access.kind },
      },
      // Only when the member was not on the team already.
      { ifChanged: true },
    ),
  );
  return c.json({ member: memberWire(member), added }, 200);
};

export const removeMember: AppRouteHandler<typeof removeMemberRoute> = async (c) => {
  const { patientId, userId } = c.req.valid("param");
  const rec = await open(c, patientId);
  requireKind(rec, TEAM_MANAGERS, "team_managers_only");
  const memberId = Number(userId);
  await removeTeamMember(
    c.env,
    rec.clinicId,
    rec.patientId as number,
    memberId,
    audit(
      c,
      {
        event: "care_team_change",
        outcome: "success",
        clinic: rec.clinicId,
        actorUserId: rec.caller?.userId ?? null,
        subjectUserId: rec.patientId,
        details: { action: "remove", member: memberId, via: rec.access.kind },
      },
      // Only when the member was on the team.
      { ifChanged: true },
    ),
  );
  return c.json({ removed: true as const, user_id: String(memberId) }, 200);
};

export const accessLog: AppRouteHandler<typeof accessLogRoute> = async (c) => {
  const rec = await open(c, c.req.valid("param").patientId);
  requireKind(rec, ["patient", "admin"], "access_log_forbidden");
  const { limit = 20, before } = c.req.valid("query");
  const page = await rec.stub.accessLog(limit, before);
  return c.json({ entries: page.entries.map(accessWire), next_before: page.nextBefore }, 200);
};
